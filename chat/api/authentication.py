"""Bot token authentication: `Authorization: Bearer <token>`."""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from chat.models import BotClient
from chat.selectors.channels import bot_client_get_by_token
from chat.services.bot_clients import bot_client_touch

KEYWORD = "Bearer"


def bearer_token(request: Request, *, invalid: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None without one (another
    scheme, or none). A malformed header, or a token that is not ASCII (`invalid` says
    which kind of token), is a 401."""
    parts = get_authorization_header(request).split()
    if not parts or parts[0].lower() != KEYWORD.lower().encode():
        return None
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed(
            "Malformed Authorization header: send `Authorization: Bearer <token>`."
        )
    try:
        return parts[1].decode("ascii")
    except UnicodeDecodeError:
        raise exceptions.AuthenticationFailed(invalid) from None


class BotTokenAuthentication(BaseAuthentication):
    """Authenticates a bot client by the SHA-256 of its bearer token.

    `request.user` becomes the BotClient, active or not: IsActiveBotClient refuses an
    inactive one with 403, so its caller learns the token is right but switched off."""

    def authenticate(self, request: Request) -> tuple[BotClient, str] | None:
        token = bearer_token(request, invalid="Invalid bot token.")
        if token is None:
            return None
        client = bot_client_get_by_token(token=token)
        if client is None:
            raise exceptions.AuthenticationFailed("Invalid bot token.")
        bot_client_touch(client=client)
        return client, token

    def authenticate_header(self, request: Request) -> str:
        return f'{KEYWORD} realm="api"'
