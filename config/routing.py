"""All WebSocket routes, gathered from each app's routing module, and the refusal of
every other path."""

from django.urls import re_path

from chat.routing import websocket_urlpatterns as chat_routes
from cobrowse.routing import websocket_urlpatterns as cobrowse_routes
from config.sockets import HandshakeRefused
from routing.routing import websocket_urlpatterns as routing_routes
from supervision.routing import websocket_urlpatterns as supervision_routes

websocket_urlpatterns = [
    *routing_routes,
    *chat_routes,
    *supervision_routes,
    *cobrowse_routes,
    # Last: any other path (or an id that is not a number) is refused at the handshake.
    re_path(r"", HandshakeRefused.as_asgi()),
]
