"""Reliability tests run by hand against a real stack (not collected by pytest)."""
