"""Reads of channels, settings, customers, interactions and messages."""

import functools
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Count, Max, Min
from django.utils import timezone

from chat import events, schemas, sentiment
from chat.models import (
    WAITING_INTERACTION_STATUSES,
    AppStudioSettings,
    BotClient,
    Channel,
    CustomerToken,
    Interaction,
    InteractionStatus,
    Message,
    SenderKind,
)
from chat.schemas import ChatRole
from chat.tokens import digests_match, token_digest
from config.rawsql import partial_instance, placeholders, quote, raw_all, raw_first, related_value
from portal.roles import is_csr_manager

APP_STUDIO_CACHE_KEY = "app-studio-settings:v1"

# The accepted chats the wait estimate averages over.
WAIT_ESTIMATE_WINDOW = timedelta(hours=1)
# The order waiting interactions are served in: re-queued ones first (transfers, lost
# CSRs), then higher priority, then the longest waiting.
QUEUE_ORDER = ("-at_front", "-priority", "queued_at", "id")


def app_studio_settings_get() -> AppStudioSettings:
    """The App Studio settings, from the cache when possible (saving the record clears it)."""
    cached = cache.get(APP_STUDIO_CACHE_KEY)
    if isinstance(cached, AppStudioSettings):
        return cached
    record, _ = AppStudioSettings.objects.get_or_create(pk=AppStudioSettings.SINGLETON_ID)
    cache.set(APP_STUDIO_CACHE_KEY, record, settings.PORTAL["APP_STUDIO_CACHE_SECONDS"])
    return record


def app_studio_cache_invalidate() -> None:
    cache.delete(APP_STUDIO_CACHE_KEY)


class ChannelNotAllowed(PermissionDenied):
    """The bot client may not escalate on this channel (403)."""

    code = "channel_not_allowed"


def bot_client_get_by_token(*, token: str) -> BotClient | None:
    """The bot client whose token this is, active or not; None for an unknown token."""
    if not token:
        return None
    return raw_first(BotClient, _bot_client_by_token_sql(), [token_digest(token)])


@functools.cache
def _bot_client_by_token_sql() -> str:
    clients = quote(BotClient._meta.db_table)
    return f"SELECT {clients}.* FROM {clients} WHERE {clients}.token_hash = %s"  # noqa: S608 - our names


def channel_get_for_escalation(*, client: BotClient, slug: str) -> Channel:
    """The channel an escalation names, if it exists, this client may use it, and it is
    active. Unknown or inactive: a ValidationError on `channel`; not allowed:
    ChannelNotAllowed."""
    channel = raw_first(Channel, _channel_for_escalation_sql(), [client.pk, slug])
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


@functools.cache
def _channel_for_escalation_sql() -> str:
    """The channel by slug, with `allowed`: whether the bot client may escalate on it
    (one plain statement: the ORM's Exists annotation cost more CPU to build than the
    database spent on it, on every escalation)."""
    through = BotClient.allowed_channels.through._meta
    channels, allowed = quote(Channel._meta.db_table), quote(through.db_table)
    client_column = quote(through.get_field("botclient").column)  # type: ignore[union-attr]
    channel_column = quote(through.get_field("channel").column)  # type: ignore[union-attr]
    return (
        f"SELECT {channels}.*, EXISTS(SELECT 1 FROM {allowed} "  # noqa: S608 - our names
        f"WHERE {allowed}.{client_column} = %s AND {allowed}.{channel_column} = {channels}.id) "
        f"AS allowed FROM {channels} WHERE {channels}.slug = %s"
    )


def interaction_get_by_idempotency_key(*, client: BotClient, key: str) -> Interaction | None:
    if not key:
        return None
    return (
        Interaction.objects.select_related("queue", "assigned_csr")
        .filter(bot_client=client, idempotency_key=key)
        .first()
    )


def interaction_get_for_client(*, client: BotClient, interaction_id: int) -> Interaction | None:
    """An interaction this bot client escalated; None for any other (even if it exists)."""
    return (
        Interaction.objects.select_related("queue", "assigned_csr")
        .filter(bot_client=client, pk=interaction_id)
        .first()
    )


def interaction_queue_position(*, interaction: Interaction) -> int | None:
    """1-based place of a waiting interaction in its queue, in the order the routing
    engine takes them: re-queued ones first, then higher priority, then older, then
    lower id. None when the interaction is not waiting."""
    if interaction.status not in WAITING_INTERACTION_STATUSES:
        return None
    # Read with every escalation and status poll: plain SQL, as the ORM spent more time
    # building this four-way OR than the database spent counting.
    with connection.cursor() as cursor:
        cursor.execute(
            _POSITION_SQL,
            {
                "queue_id": interaction.queue_id,
                "queued": InteractionStatus.QUEUED,
                "offered": InteractionStatus.OFFERED,
                "at_front": interaction.at_front,
                "priority": interaction.priority,
                # As the ORM would store it (SQLite keeps datetimes as text).
                "queued_at": connection.ops.adapt_datetimefield_value(interaction.queued_at),
                "id": interaction.pk,
            },
        )
        (waiting_ahead,) = cursor.fetchone()
    return waiting_ahead + 1


# The waiting (WAITING_INTERACTION_STATUSES) interactions of a queue ahead of one, in
# routing order (at_front, then priority, descending; queued_at, then id, ascending).
_POSITION_SQL = f"""
    SELECT COUNT(*) FROM {Interaction._meta.db_table}
    WHERE queue_id = %(queue_id)s AND status IN (%(queued)s, %(offered)s) AND (
        at_front > %(at_front)s
        OR (at_front = %(at_front)s AND (
            priority > %(priority)s
            OR (priority = %(priority)s AND (
                queued_at < %(queued_at)s
                OR (queued_at = %(queued_at)s AND id < %(id)s)
            ))
        ))
    )
"""  # noqa: S608 - the table name is ours; every value is a parameter

# How long one reading of a queue's pace serves (it is an average over an hour).
QUEUE_PACE_CACHE_SECONDS = 10


def queue_seconds_per_acceptance(*, queue_id: int) -> float | None:
    """How many seconds pass between two chats taken from this queue, over the last
    WAIT_ESTIMATE_WINDOW; None when fewer than two were taken, which is too few to tell.
    Cached for QUEUE_PACE_CACHE_SECONDS: it is read with every escalation."""
    key = f"queue-pace:{queue_id}"
    cached = cache.get(key)
    if cached is not None:
        return cached or None  # 0.0 stands for "too few to tell"
    # One aggregate row, however many chats the queue took.
    window = Interaction.objects.filter(
        queue_id=queue_id, accepted_at__gte=timezone.now() - WAIT_ESTIMATE_WINDOW
    ).aggregate(taken=Count("id"), first=Min("accepted_at"), last=Max("accepted_at"))
    pace = None
    if window["taken"] >= 2:
        pace = max(1.0, (window["last"] - window["first"]).total_seconds() / (window["taken"] - 1))
    cache.set(key, pace or 0.0, timeout=QUEUE_PACE_CACHE_SECONDS)
    return pace


def estimated_wait_seconds(
    *, position: int | None, seconds_per_acceptance: float | None
) -> int | None:
    """Position × the queue's recent pace: the nth in line waits for n more chats to be
    taken. None when either is unknown."""
    if position is None or seconds_per_acceptance is None:
        return None
    return round(position * seconds_per_acceptance)


def interaction_estimated_wait_seconds(
    *, interaction: Interaction, position: int | None = None
) -> int | None:
    """A rough wait for a waiting interaction (None when it is not waiting or the queue
    took too few chats lately to tell). Pass `position` when it is already known."""
    if position is None:
        position = interaction_queue_position(interaction=interaction)
    return estimated_wait_seconds(
        position=position,
        seconds_per_acceptance=queue_seconds_per_acceptance(queue_id=interaction.queue_id),
    )


# --- Live chat ------------------------------------------------------------------------

# The most messages one query reads when a socket replays or fills a gap.
REPLAY_PAGE_SIZE = 500


def chat_interaction_get(*, interaction_id: int) -> Interaction | None:
    """An interaction with what a chat socket shows about it: its CSR's names, its
    channel's and queue's names (other fields of those are read if ever asked for).

    One plain statement (config/rawsql.py): every socket opens with it, and building the
    equivalent select_related query was a fifth of a daphne's CPU while sockets opened."""
    interaction = raw_first(Interaction, _chat_interaction_sql(), [interaction_id])
    if interaction is None:
        return None
    extra = vars(interaction)
    queue_model, user_model = _related_model("queue"), _related_model("assigned_csr")
    interaction.channel = partial_instance(
        Channel, id=interaction.channel_id, name=extra["channel_name"]
    )
    interaction.queue = partial_instance(
        queue_model, id=interaction.queue_id, name=extra["queue_name"]
    )
    interaction.assigned_csr = (  # type: ignore[assignment]  # auth.User, typed AbstractBaseUser
        None
        if interaction.assigned_csr_id is None
        else partial_instance(
            user_model,
            id=interaction.assigned_csr_id,
            username=extra["csr_username"],
            first_name=extra["csr_first_name"],
            last_name=extra["csr_last_name"],
        )
    )
    return interaction


def _related_model(field: str) -> Any:
    """The model an Interaction foreign key points to (routing's Queue, the user model),
    without importing the apps built on chat."""
    return Interaction._meta.get_field(field).related_model


@functools.cache
def _chat_interaction_sql() -> str:
    table = quote(Interaction._meta.db_table)
    users = quote(_related_model("assigned_csr")._meta.db_table)
    csr = quote(Interaction._meta.get_field("assigned_csr").column)  # type: ignore[union-attr]
    return (
        f"SELECT {table}.*, {related_value(Interaction, 'channel')} AS channel_name, "  # noqa: S608 - our names
        f"{related_value(Interaction, 'queue')} AS queue_name, "
        f"{users}.username AS csr_username, {users}.first_name AS csr_first_name, "
        f"{users}.last_name AS csr_last_name "
        f"FROM {table} LEFT JOIN {users} ON {users}.id = {table}.{csr} WHERE {table}.id = %s"
    )


def customer_token_valid(*, interaction_id: int, token: str) -> bool:
    """Whether `token` is one of this interaction's customer tokens. Every stored digest
    is compared in constant time; a token minted for another interaction is refused."""
    if not token:
        return False
    digest = token_digest(token)
    valid = False
    for stored in CustomerToken.objects.filter(interaction_id=interaction_id).values_list(
        "token_hash", flat=True
    ):
        valid |= digests_match(stored, digest)
    return valid


def customer_grace_over(*, interaction: Interaction, now: datetime | None = None) -> bool:
    """Whether the chat closed (ended or abandoned) more than
    PORTAL["CUSTOMER_TOKEN_GRACE_SECONDS"] ago, so its customer token opens it no more."""
    closed_at = chat_closed_at(interaction=interaction)
    if closed_at is None:
        return False
    return (now or timezone.now()) > customer_grace_ends_at(closed_at=closed_at)


def chat_closed_at(*, interaction: Interaction) -> datetime | None:
    """When the chat ended or was abandoned; None while it is open."""
    if interaction.is_open:
        return None
    return interaction.ended_at or interaction.created_at


def customer_grace_ends_at(*, closed_at: datetime) -> datetime:
    """When the customer's token stops opening a chat that closed at `closed_at`."""
    return closed_at + timedelta(seconds=settings.PORTAL["CUSTOMER_TOKEN_GRACE_SECONDS"])


def chat_role_for_user(
    *, interaction: Interaction, user: AbstractBaseUser | AnonymousUser
) -> ChatRole | None:
    """What a portal user may do in this chat: its assigned CSR reads and writes (the
    services decide when), a CSR manager watches read-only, anyone else nothing."""
    if not user.is_authenticated:
        return None
    if interaction.assigned_csr_id is not None and interaction.assigned_csr_id == user.pk:
        return ChatRole.CSR
    if is_csr_manager(user):
        return ChatRole.OBSERVER
    return None


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


def interaction_last_seq(*, interaction_id: int) -> int | None:
    """The sequence number of the interaction's newest message; None if it does not exist."""
    return Interaction.objects.filter(pk=interaction_id).values_list("last_seq", flat=True).first()


# --- Sentiment ------------------------------------------------------------------------


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
    customer's last sentiment.TREND_LENGTH messages, oldest first (absent: none).

    A prebuilt statement: the ORM wraps a filter on a window function in a subquery of
    its own, and building that took three quarters of the read's CPU, a tenth of a
    Celery worker's under the routing benchmark."""
    if not interaction_ids:
        return {}
    rows = raw_all(
        Message,
        _customer_messages_newest_sql(len(interaction_ids)),
        [SenderKind.CUSTOMER, *interaction_ids, sentiment.TREND_LENGTH],
    )
    recent: dict[int, list[Message]] = {}
    for message in rows:
        recent.setdefault(message.interaction_id, []).append(message)
    return recent


@functools.lru_cache(maxsize=64)
def _customer_messages_newest_sql(count: int) -> str:
    messages = quote(Message._meta.db_table)
    columns = "id, interaction_id, seq, text, sentiment_score"
    return (
        f"SELECT {columns} FROM (SELECT {columns}, ROW_NUMBER() OVER "  # noqa: S608 - our names
        f"(PARTITION BY interaction_id ORDER BY seq DESC) AS newest_rank FROM {messages} "
        f"WHERE sender_kind = %s AND interaction_id IN ({placeholders(count)})) AS ranked "
        "WHERE newest_rank <= %s ORDER BY interaction_id, seq"
    )


def interaction_sentiment_state(
    *, interaction_id: int, label: str, score: float | None, seq: int
) -> schemas.SentimentPayload | None:
    """The stored sentiment as the chat panel shows it, in one query. None when the
    interaction was never scored."""
    if not label or score is None or not seq:
        return None
    recent = customer_messages_newest(interaction_id, until_seq=seq)
    return events.sentiment_state_payload(
        interaction_id=interaction_id, label=label, score=score, seq=seq, recent=recent
    )
