"""ASGI application of the ORM chat baseline (run under daphne)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", f"{__package__}.settings")

import django

django.setup()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from .consumers import ChatConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "websocket": URLRouter([re_path(r"^ws/chat/(?P<room_name>\w+)/$", ChatConsumer.as_asgi())]),
    }
)
