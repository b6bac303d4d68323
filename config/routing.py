"""All WebSocket routes, gathered from each app's routing module."""

from chat.routing import websocket_urlpatterns as chat_routes
from routing.routing import websocket_urlpatterns as routing_routes

websocket_urlpatterns = [*routing_routes, *chat_routes]
