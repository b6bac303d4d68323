"""Reads of the chat app, one module per noun: App Studio settings, bot clients and
channels, interactions, messages."""
