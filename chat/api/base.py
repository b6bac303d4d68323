"""The base of every bot/connector API view: bot-token auth, active clients only, the
per-client rate limit; each request runs on the thread pool."""

from typing import Any

from rest_framework.views import APIView

from chat.api.authentication import BotTokenAuthentication
from chat.api.permissions import IsActiveBotClient
from chat.api.throttling import BotClientRateThrottle
from config.pooled_views import pooled_view


class BotApiView(APIView):
    authentication_classes = [BotTokenAuthentication]
    permission_classes = [IsActiveBotClient]
    throttle_classes = [BotClientRateThrottle]

    @classmethod
    def as_view(cls, **initkwargs: Any):
        """Bots' requests overlap their database waits instead of queueing on the
        process's one sync thread (config/pooled_views.py)."""
        return pooled_view(super().as_view(**initkwargs))
