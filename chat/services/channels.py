"""Channel secrets: setting and rotating the identity and webhook secrets, which are
written, never read back (the admin shows only whether one is set)."""

import logging
import secrets
from enum import StrEnum

from chat.models import Channel

logger = logging.getLogger(__name__)

# 32 random bytes, URL-safe base64: 43 characters, well within the field's 200.
SECRET_BYTES = 32


class ChannelSecret(StrEnum):
    """The channel's secrets, by field name."""

    IDENTITY = "identity_secret"
    WEBHOOK = "webhook_secret"

    @property
    def label(self) -> str:
        return "identity secret" if self is ChannelSecret.IDENTITY else "webhook secret"


def channel_secret_new() -> str:
    """A new random secret."""
    return secrets.token_urlsafe(SECRET_BYTES)


def channel_secret_rotate(*, channel_id: int, secret: ChannelSecret) -> str:
    """Give the channel a new random `secret` and return it, in clear, once: it is never
    shown again. The old one stops working at once (identity tokens and webhook
    signatures made with it no longer check out)."""
    value = channel_secret_new()
    updated = Channel.objects.filter(pk=channel_id).update(**{secret.value: value})
    if not updated:
        raise Channel.DoesNotExist(f"No channel {channel_id}.")
    # The event, never the value.
    logger.info("Channel %s: %s rotated", channel_id, secret.label)
    return value
