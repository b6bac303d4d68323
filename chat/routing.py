"""WebSocket routes of the chat app (the live chat sockets)."""

from django.urls import path

from chat.consumers import CsrChatConsumer, CustomerChatConsumer

websocket_urlpatterns = [
    path("ws/customer/<int:interaction_id>/", CustomerChatConsumer.as_asgi()),
    path("ws/chat/<int:interaction_id>/", CsrChatConsumer.as_asgi()),
]
