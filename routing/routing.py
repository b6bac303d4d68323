"""WebSocket routes of the routing app (the CSR's /ws/agent/ socket)."""

websocket_urlpatterns: list = []
