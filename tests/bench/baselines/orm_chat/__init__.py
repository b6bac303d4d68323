"""Baseline 3: the Channels tutorial's group chat that stores every message with the ORM
before relaying it, as most chat products do."""
