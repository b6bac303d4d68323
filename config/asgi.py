"""ASGI entry point: Django for HTTP, Channels for the WebSockets under /ws/."""

import os
import sys

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# The event loop's thread and the consumers' database threads share the GIL, and a
# thread whose database or Redis reply has arrived waits until the busy loop thread lets
# go of it, which Python forces only every switch interval (5 ms by default). A chat
# send makes several such round trips in a row, each paying that wait again
# (docs/benchmarks.md, "Chat latency"): a shorter interval hands the GIL over sooner.
GIL_SWITCH_INTERVAL_SECONDS = 0.0005
sys.setswitchinterval(GIL_SWITCH_INTERVAL_SECONDS)

# Django must be set up before the consumers (and so the models) are imported.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import get_resolver  # noqa: E402

from config.gcfreeze import freeze_startup_objects  # noqa: E402
from config.origins import CsrfOriginValidator  # noqa: E402
from config.processes import SocketCounter, heartbeat_start  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402

# A handshake from an origin Django's CSRF check would refuse is refused (HTTP 403)
# before anything else; so is one for a path no consumer serves (config.routing).
application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SocketCounter(
            CsrfOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)

# The URLconf (and with it every view, the admin and the API schema) loads on the first
# request; load it now so that it is part of the start-up heap frozen below.
get_resolver().url_patterns  # noqa: B018 - the property imports them
freeze_startup_objects()
# Each serving process reports its sockets to the manager tools' system health.
heartbeat_start()
