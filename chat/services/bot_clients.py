"""Bot API clients: creating them, rotating their tokens, and noting their use."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from chat.models import BotClient, Channel
from chat.tokens import BOT_TOKEN_PREFIX, token_digest, token_new

# last_used_at is a hint for administrators: write it at most this often per client.
BOT_CLIENT_TOUCH_INTERVAL = timedelta(minutes=1)


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


def bot_client_touch(*, client: BotClient) -> bool:
    """Record that the client just used the API, at most once per
    BOT_CLIENT_TOUCH_INTERVAL (no query at all in between). True when it wrote."""
    now = timezone.now()
    if client.last_used_at is not None and now - client.last_used_at < BOT_CLIENT_TOUCH_INTERVAL:
        return False
    # Conditional, so concurrent requests of one client write once between them.
    written = (
        BotClient.objects.filter(pk=client.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - BOT_CLIENT_TOUCH_INTERVAL))
        .update(last_used_at=now)
    )
    client.last_used_at = now
    return bool(written)
