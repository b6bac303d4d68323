"""WebSocket routes of the routing app (the CSR's /ws/agent/ socket)."""

from django.urls import path

from routing.consumers import AgentConsumer

websocket_urlpatterns = [
    path("ws/agent/", AgentConsumer.as_asgi()),
]
