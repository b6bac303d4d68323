"""Who may call the bot API."""

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from chat.models import BotClient


class IsActiveBotClient(BasePermission):
    """An authenticated, active bot client. No or unknown token: 401; inactive: 403."""

    message = "This bot client is inactive."
    code = "client_inactive"

    def has_permission(self, request: Request, view: APIView) -> bool:
        client = request.user
        return isinstance(client, BotClient) and client.active
