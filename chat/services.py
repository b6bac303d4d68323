"""State changes of the chat app: bot clients, escalations, messages."""

from django.db import transaction

from chat.models import BotClient, Channel
from chat.tokens import BOT_TOKEN_PREFIX, token_digest, token_new


@transaction.atomic
def bot_client_create(
    *, name: str, channels: list[Channel] | None = None, active: bool = True
) -> tuple[BotClient, str]:
    """Create a bot API client; the clear-text token is returned once and never stored."""
    token = token_new(BOT_TOKEN_PREFIX)
    client = BotClient.objects.create(
        name=name, token_hash=token_digest(token), token_prefix=token[:10], active=active
    )
    if channels:
        client.allowed_channels.set(channels)
    return client, token


@transaction.atomic
def bot_client_rotate_token(*, client: BotClient) -> str:
    """Give a client a new token; the old one stops working at once."""
    token = token_new(BOT_TOKEN_PREFIX)
    client.token_hash = token_digest(token)
    client.token_prefix = token[:10]
    client.save(update_fields=["token_hash", "token_prefix"])
    return token
