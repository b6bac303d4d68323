"""Baseline servers the chat latency benchmark compares the portal with."""
