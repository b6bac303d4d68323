"""Baseline 2: the Channels tutorial's group chat, with no persistence."""
