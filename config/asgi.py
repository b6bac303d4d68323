"""ASGI entry point: Django for HTTP, Channels for the WebSockets under /ws/."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

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
