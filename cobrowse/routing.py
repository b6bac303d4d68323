"""WebSocket routes of co-browse (docs/websocket-protocol.md, "Co-browse sockets")."""

from django.urls import path

from cobrowse.consumers import CustomerCobrowseConsumer, ViewerCobrowseConsumer

websocket_urlpatterns = [
    path("ws/cobrowse/<int:session_id>/customer/", CustomerCobrowseConsumer.as_asgi()),
    path("ws/cobrowse/<int:session_id>/viewer/", ViewerCobrowseConsumer.as_asgi()),
]
