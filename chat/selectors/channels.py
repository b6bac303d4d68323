"""Reads of bot API clients and the channels they escalate on."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef

from chat.models import BotClient, Channel
from chat.tokens import token_digest


class ChannelNotAllowed(PermissionDenied):
    """The bot client may not escalate on this channel (403)."""

    code = "channel_not_allowed"


def bot_client_get_by_token(*, token: str) -> BotClient | None:
    """The bot client whose token this is, active or not; None for an unknown token."""
    if not token:
        return None
    return BotClient.objects.filter(token_hash=token_digest(token)).first()


def channel_get_for_escalation(*, client: BotClient, slug: str) -> Channel:
    """The channel an escalation names, if it exists, this client may use it, and it is
    active. Unknown or inactive: a ValidationError on `channel`; not allowed:
    ChannelNotAllowed."""
    allowed = BotClient.allowed_channels.through.objects.filter(
        botclient_id=client.pk, channel_id=OuterRef("pk")
    )
    channel = Channel.objects.annotate(allowed=Exists(allowed)).filter(slug=slug).first()
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
