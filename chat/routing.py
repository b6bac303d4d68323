"""WebSocket routes of the chat app (the live chat sockets)."""

websocket_urlpatterns: list = []
