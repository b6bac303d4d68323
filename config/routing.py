"""All WebSocket routes, gathered from each app's routing module, and the refusal of
every other path."""

from django.urls import re_path

from chat.routing import websocket_urlpatterns as chat_routes
from config.sockets import HandshakeRefused
from routing.routing import websocket_urlpatterns as routing_routes

websocket_urlpatterns = [
    *routing_routes,
    *chat_routes,
    # Last: any other path (or an id that is not a number) is refused at the handshake.
    re_path(r"", HandshakeRefused.as_asgi()),
]
