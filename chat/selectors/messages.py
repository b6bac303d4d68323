"""Reads of messages: replays for the sockets and the connector API, and the customer's
latest messages for sentiment."""

from django.db.models import F, Window
from django.db.models.functions import RowNumber

from chat import sentiment
from chat.models import Message, SenderKind

# The most messages one query reads when a socket replays or fills a gap.
REPLAY_PAGE_SIZE = 500


def messages_after(
    *,
    interaction_id: int,
    after_seq: int,
    limit: int = REPLAY_PAGE_SIZE,
    until_seq: int | None = None,
) -> list[Message]:
    """At most `limit` (≤ REPLAY_PAGE_SIZE) messages with seq > after_seq (and ≤ until_seq
    when given), oldest first."""
    messages = Message.objects.filter(interaction_id=interaction_id, seq__gt=after_seq)
    if until_seq is not None:
        messages = messages.filter(seq__lte=until_seq)
    return list(messages.order_by("seq")[: min(limit, REPLAY_PAGE_SIZE)])


def customer_messages_newest(interaction_id: int, *, until_seq: int | None = None) -> list[Message]:
    """The customer's last sentiment.TREND_LENGTH messages (up to `until_seq`), oldest
    first: the newest sentiment.WINDOW are the scoring window, the scored ones the trend."""
    messages = Message.objects.filter(
        interaction_id=interaction_id, sender_kind=SenderKind.CUSTOMER
    )
    if until_seq is not None:
        messages = messages.filter(seq__lte=until_seq)
    newest = messages.only("seq", "text", "sentiment_score").order_by("-seq")
    return list(reversed(newest[: sentiment.TREND_LENGTH]))


def customer_messages_newest_many(interaction_ids: list[int]) -> dict[int, list[Message]]:
    """customer_messages_newest for several chats in one query: interaction id → the
    customer's last sentiment.TREND_LENGTH messages, oldest first (absent: none)."""
    if not interaction_ids:
        return {}
    rows = (
        Message.objects.filter(interaction_id__in=interaction_ids, sender_kind=SenderKind.CUSTOMER)
        .annotate(
            newest_rank=Window(
                RowNumber(), partition_by=F("interaction_id"), order_by=F("seq").desc()
            )
        )
        .filter(newest_rank__lte=sentiment.TREND_LENGTH)
        .only("interaction_id", "seq", "text", "sentiment_score")
        .order_by("interaction_id", "seq")
    )
    recent: dict[int, list[Message]] = {}
    for message in rows:
        recent.setdefault(message.interaction_id, []).append(message)
    return recent
