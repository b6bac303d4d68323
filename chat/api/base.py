"""The base of every bot/connector API view: bot-token auth, active clients only, the
per-client rate limit."""

from rest_framework.views import APIView

from chat.api.authentication import BotTokenAuthentication
from chat.api.permissions import IsActiveBotClient
from chat.api.throttling import BotClientRateThrottle


class BotApiView(APIView):
    authentication_classes = [BotTokenAuthentication]
    permission_classes = [IsActiveBotClient]
    throttle_classes = [BotClientRateThrottle]
