"""Reads of bot API clients and the channels they escalate on."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef

from chat.models import BotClient, Channel
from chat.tokens import token_digest
from config.memo import memo_for

# How long each process keeps the channels it read (config/memo.py).
CONFIG_SECONDS = 1.0


class ChannelNotAllowed(PermissionDenied):
    """The bot client may not escalate on this channel (403)."""

    code = "channel_not_allowed"


def bot_client_get_by_token(*, token: str) -> BotClient | None:
    """The bot client whose token this is, active or not; None for an unknown token.
    Read afresh every time: a rotated token or a deactivated client is refused at once."""
    if not token:
        return None
    try:
        return BotClient.objects.get(token_hash=token_digest(token))
    except BotClient.DoesNotExist:
        return None


def channel_get_for_escalation(*, client: BotClient, slug: str) -> Channel:
    """The channel an escalation names, if it exists, this client may use it, and it is
    active. Unknown or inactive: a ValidationError on `channel`; not allowed:
    ChannelNotAllowed. A change to a channel reaches every process within
    CONFIG_SECONDS."""
    channel = _channel_for_client(client.pk, slug)
    if channel is None:
        raise ValidationError(
            {
                "channel": ValidationError(
                    f"There is no channel '{slug}': use the slug of a channel set up in the admin.",
                    code="unknown_channel",
                )
            }
        )
    if not channel.allowed:  # type: ignore[attr-defined]
        raise ChannelNotAllowed(
            f"This bot client may not escalate on channel '{slug}'; an administrator can "
            "add it to the client's allowed channels."
        )
    if not channel.active:
        raise ValidationError(
            {
                "channel": ValidationError(
                    f"Channel '{slug}' is inactive and takes no escalations.",
                    code="inactive_channel",
                )
            }
        )
    return channel


@memo_for(CONFIG_SECONDS)
def _channel_for_client(client_id: int, slug: str) -> Channel | None:
    """The channel, with `allowed`: whether the client may escalate on it."""
    allowed = BotClient.allowed_channels.through.objects.filter(
        botclient_id=client_id, channel_id=OuterRef("pk")
    )
    return Channel.objects.annotate(allowed=Exists(allowed)).filter(slug=slug).first()
