"""The routing app's HTTP API: the bot's escalation and the CSR's routing endpoints."""
