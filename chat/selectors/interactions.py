"""Reads of interactions: finding them, their place in their queue, and who may open
their chat."""

import contextlib
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db.models import Count, Max, Min, QuerySet
from django.utils import timezone

from chat.models import (
    WAITING_INTERACTION_STATUSES,
    BotClient,
    CustomerToken,
    Interaction,
)
from chat.schemas import ChatRole
from chat.signals import manager_may_access
from chat.tokens import digests_match, token_digest
from config.redis import REDIS_ERRORS
from config.users import is_csr_manager

# The order waiting interactions are served in: re-queued ones first (transfers, lost
# CSRs), then higher priority, then the longest waiting. Routing takes them in this
# order and customers are told their place in it.
QUEUE_ORDER = ("-at_front", "-priority", "queued_at", "id")

# The accepted chats the wait estimate averages over.
WAIT_ESTIMATE_WINDOW = timedelta(hours=1)
# How long one reading of a queue's pace serves (it is an average over an hour).
QUEUE_PACE_CACHE_SECONDS = 10


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


def waiting_in_queue(*, queue_id: int) -> QuerySet[Interaction]:
    """The interactions waiting in a queue (queued, or being offered), first first."""
    return Interaction.objects.filter(
        queue_id=queue_id, status__in=WAITING_INTERACTION_STATUSES
    ).order_by(*QUEUE_ORDER)


def interaction_queue_position(*, interaction: Interaction) -> int | None:
    """1-based place of a waiting interaction in its queue, in QUEUE_ORDER; None when
    the interaction is not waiting. Read as the waiting line's ids, which costs less to
    ask for than a count of the chats served before it, for lines of any usual length."""
    if interaction.status not in WAITING_INTERACTION_STATUSES:
        return None
    line = waiting_in_queue(queue_id=interaction.queue_id).values_list("pk", flat=True)
    for position, interaction_id in enumerate(line, start=1):
        if interaction_id == interaction.pk:
            return position
    return None  # it stopped waiting since it was read


def queue_seconds_per_acceptance(*, queue_id: int) -> float | None:
    """How many seconds pass between two chats taken from this queue, over the last
    WAIT_ESTIMATE_WINDOW; None when fewer than two were taken, which is too few to tell.
    Cached for QUEUE_PACE_CACHE_SECONDS: it is read with every escalation."""
    key = f"queue-pace:{queue_id}"
    try:
        cached = cache.get(key)
    except REDIS_ERRORS:
        cached = None
    if cached is not None:
        return cached or None  # 0.0 stands for "too few to tell"
    window = Interaction.objects.filter(
        queue_id=queue_id, accepted_at__gte=timezone.now() - WAIT_ESTIMATE_WINDOW
    ).aggregate(taken=Count("id"), first=Min("accepted_at"), last=Max("accepted_at"))
    pace = None
    if window["taken"] >= 2:
        pace = max(1.0, (window["last"] - window["first"]).total_seconds() / (window["taken"] - 1))
    with contextlib.suppress(*REDIS_ERRORS):
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


def chat_interaction_get(*, interaction_id: int) -> Interaction | None:
    """An interaction with what a chat socket shows about it: its channel, queue and
    CSR, read in the same query."""
    return (
        Interaction.objects.select_related("channel", "queue", "assigned_csr")
        .filter(pk=interaction_id)
        .first()
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
    services decide when), a CSR manager watches read-only (unless an app above refuses
    them the chat: chat.signals.manager_access_check), anyone else nothing."""
    if not user.is_authenticated:
        return None
    if interaction.assigned_csr_id is not None and interaction.assigned_csr_id == user.pk:
        return ChatRole.CSR
    if is_csr_manager(user) and manager_may_access(interaction=interaction, user=user):
        return ChatRole.OBSERVER
    return None


def interaction_last_seq(*, interaction_id: int) -> int | None:
    """The sequence number of the interaction's newest message; None if it does not exist."""
    return Interaction.objects.filter(pk=interaction_id).values_list("last_seq", flat=True).first()
