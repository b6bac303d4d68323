"""The bases of the REST API's views: `PortalApiView` (what every API view does at the
edge) and `BotApiView` (bot-token auth, active clients only, the per-client rate limit)."""

from typing import Any

from django.utils.cache import add_never_cache_headers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.api.authentication import BotTokenAuthentication
from chat.api.permissions import IsActiveBotClient
from chat.api.throttling import BotClientRateThrottle


class PortalApiView(APIView):
    """Every body is parsed, and so checked (chat.api.parsers), before the handler runs,
    even by endpoints that read none: a malformed body is a 400 wherever it is sent.
    Every answer has `Cache-Control: no-store`: each is one client's data (customer
    tokens, chats, a CSR's state) that no browser or proxy may keep."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication, permissions, throttles
        if request.method in ("POST", "PUT", "PATCH"):
            request.data  # noqa: B018 -- parsing raises the body's problems here

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        add_never_cache_headers(response)
        return response


class BotApiView(PortalApiView):
    authentication_classes = [BotTokenAuthentication]
    permission_classes = [IsActiveBotClient]
    throttle_classes = [BotClientRateThrottle]
