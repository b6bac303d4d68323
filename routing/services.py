"""State changes of the routing engine: presence, queue membership, offers, transfers.

Every function here is one short transaction. Locks are always taken in the same order,
interaction → offer → CSR profile, so concurrent calls cannot deadlock. Exactly one CSR
wins an interaction: an offer changes state only from `pending`, under its row lock, and
the database allows one pending offer per interaction and per CSR.
Live events and follow-up routing are sent only after the transaction commits.
"""

import functools
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from chat import events as chat_events
from chat.models import Channel, Customer, Interaction, InteractionStatus, SenderKind, SystemEvent
from chat.selectors import app_studio_settings_get
from chat.services import message_create
from config.cache import redis_client
from config.durability import transient_commit_column
from config.inserts import (
    execute_together,
    insert,
    insert_many,
    insert_many_unless_conflict,
    insert_unless_conflict_then,
    update_fields,
    update_fields_statement,
)
from config.rawsql import (
    for_update,
    partial_instance,
    placeholders,
    quote,
    raw_all,
    raw_first,
    related_value,
)
from config.taskqueue import enqueue
from routing import events
from routing.models import (
    DISCONNECTED_REASON_CODE,
    MISSED_OFFERS_REASON_CODE,
    AwayReason,
    CSRProfile,
    CSRStatus,
    Offer,
    OfferStatus,
    Queue,
    QueueMembership,
    RoutingDecision,
)
from routing.selectors import (
    Candidate,
    MemberState,
    candidates_from_members,
    csr_active_chat_counts,
    csr_capacity,
    csr_joined_queue_ids,
    member_is_free,
    offer_timeout_seconds,
    queue_members_state,
    queue_waiting_page,
    refused_offers,
    routing_candidates,
    routing_rank,
    waiting_interactions,
)

logger = logging.getLogger(__name__)

User = get_user_model()

CHAT_UNAVAILABLE = "This chat is no longer available."


class RoutingError(Exception):
    """A refused routing request, with a code for machines and a message for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _display_name(user: AbstractBaseUser) -> str:
    return user.get_full_name() or user.get_username()  # type: ignore[attr-defined]


def _route_after_commit(*, queue_id: int | None = None, csr_id: int | None = None) -> None:
    """Once the transaction commits, ask for a routing run of the queue, or of every queue
    the CSR joined (they have room now)."""

    def request() -> None:
        queue_ids = [queue_id] if queue_id is not None else []
        if csr_id is not None:
            queue_ids += csr_joined_queue_ids(user_id=csr_id)
        routing_request(queue_ids=queue_ids)

    transaction.on_commit(request)


ROUTE_PENDING_KEY = "routing-pending:{queue_id}"
# A run that never starts (its worker died) blocks new requests this long; the sweeper
# routes everything meanwhile.
ROUTE_PENDING_SECONDS = 10
# Set while a routing task routes a queue, renewed on each of its passes; a run killed
# midway stops counting after this (one sweep, ROUTING_SWEEP_SECONDS' default).
ROUTE_RUNNING_KEY = "routing-running:{queue_id}"
ROUTE_RUNNING_SECONDS = 3
# A task routes its queue again while requests keep coming in during its passes, for
# this long at most; then it hands over to a new task.
ROUTE_RUN_BUDGET_SECONDS = 2.0


def routing_request(*, queue_ids: Iterable[int]) -> None:
    """Ask for a routing run of each queue (call it after commit). Requests coalesce:
    while a queue's run waits for a worker, more requests add nothing, and the run, once
    started, sees every change committed before it. A request made while a run is
    routing queues no task either: that run routes the queue once more when it is done
    (route_queue_run). A burst of escalations, accepts and declines is a few runs, each
    reading the queue's members once, not a task each."""
    from routing import tasks

    for queue_id in sorted(set(queue_ids)):
        try:
            first, running = _route_request_mark(queue_id)
        except Exception:  # the cache is down: route anyway, uncoalesced
            logger.warning("Routing request for queue %s not coalesced", queue_id, exc_info=True)
            first, running = True, False
        if first and not running:
            enqueue(tasks.route_queue, queue_id)


def _route_request_mark(queue_id: int) -> tuple[bool, bool]:
    """Mark the queue's request, in one atomic round trip: (whether this call made the
    mark, whether a run is routing the queue now)."""
    pipe = redis_client().pipeline(transaction=True)
    pipe.set(_route_key(ROUTE_PENDING_KEY, queue_id), 1, nx=True, ex=ROUTE_PENDING_SECONDS)
    pipe.exists(_route_key(ROUTE_RUNNING_KEY, queue_id))
    made, running = pipe.execute()
    return bool(made), bool(running)


def _route_key(key: str, queue_id: int) -> str:
    from django.core.cache import cache

    return cache.make_key(key.format(queue_id=queue_id))


# --- Presence -------------------------------------------------------------------------

SYSTEM_AWAY_REASONS = {
    MISSED_OFFERS_REASON_CODE: "Missed offers",
    DISCONNECTED_REASON_CODE: "Disconnected",
}


def _system_away_reason(code: str) -> AwayReason:
    """The portal's own Away reasons (made by a migration; recreated if deleted)."""
    reason, _ = AwayReason.objects.get_or_create(
        code=code, defaults={"label": SYSTEM_AWAY_REASONS[code], "system": True}
    )
    return reason


def csr_profile_ensure(*, user: AbstractBaseUser) -> CSRProfile:
    profile, _ = CSRProfile.objects.get_or_create(user=user)  # type: ignore[misc]  # users are typed AbstractBaseUser; FKs as auth.User
    return profile


def _lock_profile(user_id: int) -> CSRProfile:
    CSRProfile.objects.get_or_create(user_id=user_id)
    return (
        CSRProfile.objects.select_for_update(of=("self",))
        .select_related("away_reason")
        .get(user_id=user_id)
    )


@transaction.atomic
def csr_status_set(
    *, user: AbstractBaseUser, status: str, away_reason_code: str = ""
) -> CSRProfile:
    """Set a CSR Available, Away (with a reason) or Offline."""
    if status not in CSRStatus.values:
        raise RoutingError(
            "bad_status", f"Unknown status '{status}': use available, away or offline."
        )
    reason = None
    if status == CSRStatus.AWAY:
        if not away_reason_code:
            raise RoutingError("reason_required", "Choose a reason for being Away.")
        reason = AwayReason.objects.filter(code=away_reason_code, active=True, system=False).first()
        if reason is None:
            raise RoutingError("bad_reason", f"Unknown Away reason '{away_reason_code}'.")
    return _status_change(user_id=user.pk, status=status, reason=reason)


def _status_change(
    *, user_id: int, status: str, reason: AwayReason | None, note: str = ""
) -> CSRProfile:
    """Change status inside the caller's transaction; withdraw the pending offer when the
    CSR stops being Available."""
    now = timezone.now()
    pending = _pending_offer_of(user_id) if status != CSRStatus.AVAILABLE else None
    if pending is not None:
        _withdraw(pending, reason="You are no longer Available.")
    profile = _lock_profile(user_id)
    was = profile.status
    profile.status = status
    profile.away_reason = reason if status == CSRStatus.AWAY else None
    profile.status_changed_at = now
    if status == CSRStatus.AVAILABLE:
        profile.missed_in_a_row = 0
        profile.last_heartbeat_at = now
        if was != CSRStatus.AVAILABLE:
            profile.idle_since = now
    profile.save()
    events.status_changed(profile=profile, note=note)
    if status == CSRStatus.AVAILABLE:
        _route_after_commit(csr_id=user_id)
    return profile


def _pending_offer_of(user_id: int) -> Offer | None:
    offer = Offer.objects.filter(csr_id=user_id, status=OfferStatus.PENDING).first()
    if offer is None:
        return None
    Interaction.objects.select_for_update().get(pk=offer.interaction_id)
    return Offer.objects.select_for_update().get(pk=offer.pk)


def csr_heartbeat(*, user: AbstractBaseUser) -> None:
    """Record a sign of life from the CSR's socket (one UPDATE, no lock)."""
    updated = CSRProfile.objects.filter(user_id=user.pk).update(last_heartbeat_at=timezone.now())
    if not updated:
        CSRProfile.objects.get_or_create(
            user_id=user.pk, defaults={"last_heartbeat_at": timezone.now()}
        )


@transaction.atomic
def csr_queue_join(*, user: AbstractBaseUser, queue: Queue) -> QueueMembership:
    membership = (
        QueueMembership.objects.select_for_update().filter(user_id=user.pk, queue=queue).first()
    )
    if membership is None or not queue.active:
        raise RoutingError(
            "queue_not_allowed", f"You may not join the {queue.name} queue: ask an administrator."
        )
    if not membership.joined:
        membership.joined = True
        membership.joined_at = timezone.now()
        membership.save(update_fields=["joined", "joined_at"])
        _route_after_commit(csr_id=user.pk)
    events.memberships_changed(user_id=user.pk)
    return membership


@transaction.atomic
def csr_queue_leave(*, user: AbstractBaseUser, queue: Queue) -> QueueMembership:
    membership = (
        QueueMembership.objects.select_for_update().filter(user_id=user.pk, queue=queue).first()
    )
    if membership is None:
        raise RoutingError("queue_not_allowed", f"You are not a member of the {queue.name} queue.")
    membership.joined = False
    membership.save(update_fields=["joined"])
    events.memberships_changed(user_id=user.pk)
    return membership


def presence_sweep(*, now=None) -> dict[str, int]:
    """Set CSRs whose socket fell silent Offline, then give their chats back to the queue
    once the longer grace has passed too."""
    from django.conf import settings

    now = now or timezone.now()
    grace = timedelta(seconds=settings.PORTAL["PRESENCE_GRACE_SECONDS"])
    chat_grace = timedelta(seconds=settings.PORTAL["ACTIVE_CHAT_GRACE_SECONDS"])
    silent = list(
        CSRProfile.objects.exclude(status=CSRStatus.OFFLINE)
        .filter(last_heartbeat_at__lt=now - grace)
        .values_list("user_id", flat=True)
    ) + list(
        CSRProfile.objects.exclude(status=CSRStatus.OFFLINE)
        .filter(last_heartbeat_at__isnull=True, status_changed_at__lt=now - grace)
        .values_list("user_id", flat=True)
    )
    for user_id in silent:
        with transaction.atomic():
            profile = _lock_profile(user_id)
            alive = profile.last_heartbeat_at and profile.last_heartbeat_at >= now - grace
            if profile.status == CSRStatus.OFFLINE or alive:
                continue
            reason = _system_away_reason(DISCONNECTED_REASON_CODE)
            _status_change(
                user_id=user_id,
                status=CSRStatus.OFFLINE,
                reason=reason,
                note="You were set Offline because your connection was lost.",
            )
    stranded = list(
        Interaction.objects.filter(
            status=InteractionStatus.ACTIVE,
            assigned_csr__csr_profile__status=CSRStatus.OFFLINE,
            assigned_csr__csr_profile__status_changed_at__lt=now - chat_grace,
        ).values_list("id", flat=True)
    )
    for interaction_id in stranded:
        interaction_requeue_lost_csr(interaction_id=interaction_id)
    return {"set_offline": len(silent), "requeued": len(stranded)}


@transaction.atomic
def interaction_requeue_lost_csr(*, interaction_id: int) -> bool:
    """Put an active chat whose CSR went Offline back at the front of its queue."""
    interaction = Interaction.objects.select_for_update().get(pk=interaction_id)
    if interaction.status != InteractionStatus.ACTIVE or interaction.assigned_csr is None:
        return False
    profile = CSRProfile.objects.filter(user_id=interaction.assigned_csr.pk).first()
    if profile is None or profile.status != CSRStatus.OFFLINE:
        return False
    csr = interaction.assigned_csr
    _requeue(interaction, at_front=True)
    interaction.assigned_csr = None
    interaction.save()
    message_create(
        interaction=interaction,
        sender_kind=SenderKind.SYSTEM,
        text=f"{_display_name(csr)} lost connection; the chat is back in the "
        f"{interaction.queue.name} queue.",
        event=SystemEvent.REQUEUED,
    )
    chat_events.interaction_status_changed(interaction=interaction)
    events.chat_revoked(user_id=csr.pk, interaction_id=interaction.pk, reason="connection lost")
    _route_after_commit(queue_id=interaction.queue_id)
    return True


def csr_chat_ended(*, user_id: int) -> None:
    """A CSR's chat ended: they are idle again if it was their last, and have room for
    the next waiting chat."""
    if not csr_active_chat_counts(user_ids=[user_id]).get(user_id):
        CSRProfile.objects.filter(user_id=user_id).update(idle_since=timezone.now())
    _route_after_commit(csr_id=user_id)


# --- Routing --------------------------------------------------------------------------


# What _requeue changes.
REQUEUE_FIELDS = ("status", "offered_at", "at_front")


def _requeue(interaction: Interaction, *, at_front: bool) -> None:
    """Back to waiting. A chat whose offer failed keeps its place in line (its queued_at):
    the customer has waited all along, and the next free CSR is offered it first."""
    interaction.status = InteractionStatus.QUEUED
    interaction.offered_at = None
    interaction.at_front = at_front or interaction.at_front


def interaction_route(*, interaction_id: int) -> Offer | None:
    """Offer a queued interaction to the best eligible CSR of its queue, if there is one.

    Waits for the interaction's row lock: it is held for milliseconds by a message or a
    read mark, or by another router (which then leaves it offered, and this one skips)."""
    with transaction.atomic():
        interaction = _lock_waiting(interaction_id)
        if interaction is None:
            return None
        return _offer_to_best(interaction, routing_candidates(interaction=interaction))


def _lock_waiting(interaction_id: int) -> Interaction | None:
    """The interaction, locked (waiting for the lock if another transaction holds it),
    if it is still waiting in an active queue."""
    interaction = raw_first(Interaction, _lock_waiting_sql(1, skip_locked=False), [interaction_id])
    if interaction is None:
        return None
    return _routable(interaction, Queue.objects.get(pk=interaction.queue_id))


def _lock_waiting_page(
    interaction_ids: list[int], *, queue: Queue
) -> tuple[dict[int, Interaction], bool]:
    """The chats of `interaction_ids` still waiting in `queue` (a routing run's copy),
    locked, by id; and whether any was left out because another transaction holds it
    (SKIP LOCKED: not waited for)."""
    rows = raw_all(
        Interaction, _lock_waiting_sql(len(interaction_ids), skip_locked=True), interaction_ids
    )
    held = len(rows) < len(set(interaction_ids))
    routable = {}
    for row in rows:
        if (interaction := _routable(row, queue)) is not None:
            routable[interaction.pk] = interaction
    return routable, held


def _routable(interaction: Interaction, queue: Queue) -> Interaction | None:
    """A locked interaction, with its queue and names attached, if it waits in `queue`
    and that queue is active; else None."""
    if interaction.status != InteractionStatus.QUEUED or not queue.active:
        return None
    if queue.pk != interaction.queue_id:
        return None  # moved to another queue since the run read its list
    interaction.queue = queue
    # Only the names are read here; any other field is loaded if ever asked for. (The
    # statement's extra columns are plain attributes of the raw() instance.)
    extra = vars(interaction)
    interaction.customer = partial_instance(
        Customer, id=interaction.customer_id, name=extra["customer_name"]
    )
    interaction.channel = partial_instance(
        Channel, id=interaction.channel_id, name=extra["channel_name"]
    )
    return interaction


@functools.lru_cache(maxsize=64)
def _lock_waiting_sql(count: int, *, skip_locked: bool) -> str:
    """The locking read of `count` chats, with the customer's and channel's names for
    the offers. One plain statement: the ORM spent longer building the equivalent query
    (FOR UPDATE OF, three models joined) than PostgreSQL spent running it — a fifth of a
    routing worker's CPU under the routing benchmark. It also makes the routing
    transaction's commit skip the wait for the disk: an offer lost in a database crash
    is routed again (config/durability.py).

    No status condition: the row is locked whatever its status, so that a missing row
    means "held by another transaction" (or deleted), never "not waiting"."""
    table = quote(Interaction._meta.db_table)
    return (
        f"SELECT {transient_commit_column()}{table}.*, "  # noqa: S608 - our names
        f"{related_value(Interaction, 'customer')} AS customer_name, "
        f"{related_value(Interaction, 'channel')} AS channel_name "
        f"FROM {table} WHERE {table}.id IN ({placeholders(count)})"
        f"{for_update(skip_locked=skip_locked)}"
    )


ROUTE_BATCH_LIMIT = 500
# Chats read beyond the number of free CSRs, for those some of them refused.
ROUTE_PAGE_SLACK = 10


def route_queue_run(*, queue_id: int) -> int:
    """The routing task: take this queue's pending request and route the queue; again
    while requests came in during the pass (they queued no task of their own, see
    routing_request), for ROUTE_RUN_BUDGET_SECONDS at most. Returns the offers made.

    Under load most requests arrive while a pass runs: routing them in the same task
    saves each one a task's queueing and Celery's own cost per task, and serves it as
    soon as the pass is over."""
    from routing import tasks

    started = time.monotonic()
    offered = 0
    while True:
        _route_run_mark(queue_id)
        try:
            offered += route_queue(queue_id=queue_id)
        except BaseException:
            if _route_run_unmark(queue_id):
                enqueue(tasks.route_queue, queue_id)  # that request is not lost with this run
            raise
        if not _route_run_unmark(queue_id):
            return offered
        if time.monotonic() - started > ROUTE_RUN_BUDGET_SECONDS:
            enqueue(tasks.route_queue, queue_id)  # its requests saw this run: hand them on
            return offered


def _route_run_mark(queue_id: int) -> None:
    """Take the queue's pending request and mark it as being routed, atomically."""
    try:
        pipe = redis_client().pipeline(transaction=True)
        pipe.delete(_route_key(ROUTE_PENDING_KEY, queue_id))
        pipe.set(_route_key(ROUTE_RUNNING_KEY, queue_id), 1, ex=ROUTE_RUNNING_SECONDS)
        pipe.execute()
    except Exception:
        logger.warning("Could not take the routing request of queue %s", queue_id, exc_info=True)


def _route_run_unmark(queue_id: int) -> bool:
    """Clear the run's mark; whether a request came in meanwhile, atomically with the
    clearing: a request made after it queues a task of its own."""
    try:
        pipe = redis_client().pipeline(transaction=True)
        pipe.delete(_route_key(ROUTE_RUNNING_KEY, queue_id))
        pipe.exists(_route_key(ROUTE_PENDING_KEY, queue_id))
        return bool(pipe.execute()[1])
    except Exception:
        logger.warning("Could not clear the run mark of queue %s", queue_id, exc_info=True)
        return False


def _queue_run_in_progress(queue_id: int) -> bool:
    """Whether a routing task is routing this queue now (the sweeper leaves it be)."""
    try:
        return bool(redis_client().exists(_route_key(ROUTE_RUNNING_KEY, queue_id)))
    except Exception:
        return False


def route_queue(*, queue_id: int, limit: int = ROUTE_BATCH_LIMIT) -> int:
    """Offer the queue's waiting chats, in routing order, to its free CSRs until one or
    the other runs out; returns how many offers were made.

    One read of the members serves the whole run: each offer updates the run's copy.
    A concurrent run (another worker) may hold a stale copy; the database's one pending
    offer per CSR turns its clash into "try the next CSR".

    The chats are routed a page at a time (ROUTE_PAGE_SIZE), each page one transaction.
    A chat locked by another transaction is skipped, not waited for: two runs of one
    queue (two workers) would otherwise queue behind each other's offers, and under load
    they share the line instead. The lock may also be the chat's own customer's message
    or read mark, after which no other run would be asked for: so a run that skipped a
    chat asks for another run, half a second later (routing_retry_soon)."""
    queue = raw_first(Queue, _queue_sql(), [queue_id])
    if queue is None:
        return 0
    asked = min(ROUTE_PAGE_SIZE, limit)
    waiting = queue_waiting_page(queue_id=queue_id, limit=asked)
    if not waiting:
        return 0  # nothing waits (as after most accepts): the members need not be read
    exhausted = len(waiting) < asked
    members = queue_members_state(queue_id=queue_id)
    by_id = {member.user_id: member for member in members}
    free = sum(1 for member in members if member_is_free(member))
    # With nobody free only the first chat is visited, so that its decision records
    # why it waits; otherwise the chats routed (and their refusals read) are about as
    # many as the free CSRs can take, more only if some of those chats are refused by
    # them all. Under load most runs start after an accept frees one CSR: reading the
    # whole line every time cost more than the offer.
    if not free:
        waiting, exhausted = waiting[:1], True
    elif len(waiting) > free + ROUTE_PAGE_SLACK:
        waiting, exhausted = waiting[: free + ROUTE_PAGE_SLACK], False
    offered = 0
    visited: list[int] = []
    busy = False
    try:
        while waiting:
            refused = refused_offers(interaction_ids=waiting)
            for start in range(0, len(waiting), ROUTE_PAGE_SIZE):
                chats = waiting[start : start + ROUTE_PAGE_SIZE]
                visited.extend(chats)
                routed = _route_page(chats, queue=queue, members=by_id, refused=refused)
                offered += routed.offered
                busy = busy or routed.skipped_held
                if routed.nobody_free:
                    return offered  # nobody can take any chat: the rest wait too
            if exhausted or len(visited) >= limit:
                break
            # Free CSRs are left and more chats may wait: read on.
            asked = min(ROUTE_PAGE_SLACK * 5, limit - len(visited))
            waiting = queue_waiting_page(queue_id=queue_id, limit=asked, exclude=visited)
            exhausted = len(waiting) < asked
        return offered
    finally:
        if busy:
            routing_retry_soon(queue_id=queue_id)


ROUTE_RETRY_KEY = "routing-retry:{queue_id}"
ROUTE_RETRY_DELAY_SECONDS = 0.5


def routing_retry_soon(*, queue_id: int) -> None:
    """A run passed over chats another transaction held: route the queue again in half
    a second, with at most one such retry pending per queue. Not at once: the holder is
    most often another run offering those very chats, and under load an immediate
    retry found them still held, again and again while that run worked, each time
    reading the members for nothing. Where the holder was a customer's message or read
    mark (milliseconds), half a second later the chat is free; the sweeper remains the
    backstop."""
    from django.core.cache import cache

    from routing import tasks

    try:
        first = cache.add(ROUTE_RETRY_KEY.format(queue_id=queue_id), 1, timeout=1)
    except Exception:  # the cache is down: ask for a run the usual way
        logger.warning("Routing retry for queue %s not scheduled", queue_id, exc_info=True)
        routing_request(queue_ids=[queue_id])
        return
    if first:
        tasks.route_queue.apply_async((queue_id,), countdown=ROUTE_RETRY_DELAY_SECONDS)


# Chats routed in one transaction: their locks are held until it commits (a customer's
# message to one of them waits that long).
ROUTE_PAGE_SIZE = 25


@functools.cache
def _queue_sql() -> str:
    queues = quote(Queue._meta.db_table)
    return f"SELECT {queues}.* FROM {queues} WHERE {queues}.id = %s"  # noqa: S608 - our names


@dataclass
class _PageRouted:
    offered: int
    skipped_held: bool  # a chat was held by another transaction and left for later
    nobody_free: bool  # the run stopped: no member could take any chat


@dataclass
class _Choice:
    interaction: Interaction
    candidates: list[Candidate]
    chosen: Candidate | None
    offer: Offer | None = None


def _route_page(
    interaction_ids: list[int],
    *,
    queue: Queue,
    members: dict[int, MemberState],
    refused: dict[int, dict[int, str]],
) -> _PageRouted:
    """Route these chats (in routing order) in one transaction: one locking read, one
    INSERT of every offer, one UPDATE of the chats and one of the memberships, one
    INSERT of every routing decision. A routing run used to spend a transaction and
    seven round trips to PostgreSQL per chat, and under load it fell behind the
    escalations while waiting on them."""
    with transaction.atomic():
        locked, held = _lock_waiting_page(interaction_ids, queue=queue)
        now = timezone.now()
        choices: list[_Choice] = []
        nobody_free = False
        for interaction_id in interaction_ids:
            interaction = locked.get(interaction_id)
            if interaction is None:
                continue
            choice = _Choice(interaction, [], None)
            _choose(choice, members=members, refused=refused.get(interaction_id, {}), now=now)
            choices.append(choice)
            if choice.chosen is None and not any(
                c.eligible or c.excluded_for_this_chat for c in choice.candidates
            ):
                nobody_free = True
                break
        _offers_make([c for c in choices if c.chosen], members=members, refused=refused, now=now)
        made = [c for c in choices if c.offer is not None]
        _offered_mark(made, queue=queue, now=now)
        insert_many(
            [
                _decision(c.interaction, c.candidates, chosen=c.offer.csr_id if c.offer else None)
                for c in choices
            ]
        )
        for choice in made:
            events.offer_made(offer=choice.offer)  # type: ignore[arg-type]
    return _PageRouted(len(made), held, nobody_free)


def _choose(
    choice: _Choice,
    *,
    members: dict[int, MemberState],
    refused: dict[int, str],
    now: datetime,
) -> None:
    """The best CSR for the chat from the run's copy of the members, which is marked as
    holding the offer."""
    interaction = choice.interaction
    choice.candidates = candidates_from_members(
        members.values(), refused=refused, owner_id=interaction.assigned_csr_id
    )
    ranked = routing_rank(strategy=interaction.queue.strategy, candidates=choice.candidates)
    choice.chosen = ranked[0] if ranked else None
    if choice.chosen is not None:
        member = members[choice.chosen.user_id]
        member.has_pending_offer = True
        member.last_offered_at = now


def _offers_make(
    choices: list[_Choice],
    *,
    members: dict[int, MemberState],
    refused: dict[int, dict[int, str]],
    now: datetime,
) -> None:
    """INSERT the chosen offers in one statement, in CSR order (two runs inserting for
    the same CSRs then wait for each other in one order, never in a cycle). A CSR given
    an offer by another transaction since the run read the members refuses the insert:
    that chat goes to its next best CSR, in another round."""
    while choices:
        timeout = offer_timeout_seconds(queue=choices[0].interaction.queue)
        offers = [
            _offer_new(
                c.interaction,
                c.chosen.user_id,  # type: ignore[union-attr]
                now=now,
                transferred_by_id=c.interaction.transferred_by_id,
                note=c.interaction.transfer_note,
                timeout=timeout,
            )
            for c in sorted(choices, key=lambda c: c.chosen.user_id)  # type: ignore[union-attr]
        ]
        stored = {
            o.interaction_id: o for o in insert_many_unless_conflict(offers, key="interaction")
        }
        retry = []
        for choice in choices:
            choice.offer = stored.get(choice.interaction.pk)
            if choice.offer is None:
                # The CSR has another pending offer now (the run's copy marks it so).
                interaction_id = choice.interaction.pk
                _choose(choice, members=members, refused=refused.get(interaction_id, {}), now=now)
                if choice.chosen is not None:
                    retry.append(choice)
        choices = retry


def _offered_mark(made: list[_Choice], *, queue: Queue, now: datetime) -> None:
    """The chats offered, and their CSRs' last offer (round robin's order)."""
    if not made:
        return
    for choice in made:
        choice.interaction.status = InteractionStatus.OFFERED
        choice.interaction.offered_at = now
    chat_ids = [c.interaction.pk for c in made]
    csr_ids = sorted(c.offer.csr_id for c in made)  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        cursor.execute(
            _update_in_sql(Interaction, "status = %s, offered_at = %s", "id", len(chat_ids)),
            [InteractionStatus.OFFERED, now, *chat_ids],
        )
        cursor.execute(
            _update_in_sql(
                QueueMembership,
                "last_offered_at = %s",
                "user_id",
                len(csr_ids),
                also="queue_id = %s",
            ),
            [now, queue.pk, *csr_ids],
        )


@functools.lru_cache(maxsize=128)
def _update_in_sql(
    model: type[Model], assignments: str, column: str, count: int, *, also: str = ""
) -> str:
    """UPDATE `model`'s table SET `assignments` WHERE [`also` AND] `column` IN (`count`
    placeholders): a prebuilt statement for a page's rows."""
    table = quote(model._meta.db_table)
    condition = f"{also} AND " if also else ""
    return (
        f"UPDATE {table} SET {assignments} "  # noqa: S608 - our names; values are parameters
        f"WHERE {condition}{column} IN ({placeholders(count)})"
    )


def _offer_to_best(interaction: Interaction, candidates: list[Candidate]) -> Offer | None:
    """Offer the (locked) chat to its best candidate who has no pending offer, and log
    the decision; None when nobody could take it."""
    ranked = routing_rank(strategy=interaction.queue.strategy, candidates=candidates)
    for candidate in ranked:
        offer = _offer_create(
            interaction=interaction,
            csr_id=candidate.user_id,
            transferred_by_id=interaction.transferred_by_id,
            note=interaction.transfer_note,
        )
        if offer is None:
            continue  # someone else gave this CSR an offer a moment ago: try the next one
        _log_decision(interaction, candidates, chosen=candidate.user_id)
        return offer
    _log_decision(interaction, candidates, chosen=None)
    return None


def _offer_create(
    *,
    interaction: Interaction,
    csr_id: int,
    transferred_by_id: int | None = None,
    note: str = "",
    direct: bool = False,
) -> Offer | None:
    """Offer the (locked) interaction to the CSR; None, with nothing written, when the
    CSR already has a pending offer (the database allows one: another run or a
    transfer offered them a chat a moment ago). No savepoint: the insert skips the
    conflict instead of failing on it."""
    now = timezone.now()
    unoffered = interaction.status, interaction.offered_at
    interaction.status = InteractionStatus.OFFERED
    interaction.offered_at = now
    # One statement on PostgreSQL: the offer, the chat marked offered and the CSR's
    # last-offer time (round robin's order), the two updates only if the offer went in.
    offer = insert_unless_conflict_then(
        _offer_new(
            interaction,
            csr_id,
            now=now,
            transferred_by_id=transferred_by_id,
            note=note,
            direct=direct,
        ),
        update_fields_statement(interaction, "status", "offered_at"),
        (_last_offered_sql(), [now, csr_id, interaction.queue_id]),
    )
    if offer is None:
        interaction.status, interaction.offered_at = unoffered
        return None
    events.offer_made(offer=offer)
    return offer


def _offer_new(
    interaction: Interaction,
    csr_id: int,
    *,
    now: datetime,
    transferred_by_id: int | None,
    note: str,
    direct: bool = False,
    timeout: int | None = None,
) -> Offer:
    """An unsaved pending offer of the chat to the CSR, expiring after the queue's offer
    timeout (`timeout`, when the caller has read it already for several offers)."""
    if timeout is None:
        timeout = offer_timeout_seconds(queue=interaction.queue)
    return Offer(
        interaction=interaction,
        csr_id=csr_id,
        queue=interaction.queue,
        transferred_by_id=transferred_by_id,
        note=note,
        direct=direct,
        created_at=now,
        expires_at=now + timedelta(seconds=timeout),
    )


@functools.cache
def _last_offered_sql() -> str:
    """The CSR's membership records when they were last offered a chat (round robin's
    order): a plain statement, as an offer is the routing worker's most frequent write."""
    memberships = quote(QueueMembership._meta.db_table)
    return f"UPDATE {memberships} SET last_offered_at = %s WHERE user_id = %s AND queue_id = %s"  # noqa: S608 - our names


def _log_decision(interaction: Interaction, candidates, *, chosen: int | None) -> None:
    insert(_decision(interaction, candidates, chosen=chosen))


def _decision(interaction: Interaction, candidates, *, chosen: int | None) -> RoutingDecision:
    """The routing-log row (unsaved) of one decision: who was considered, who chosen."""
    if chosen is not None:
        name = next(c.username for c in candidates if c.user_id == chosen)
        summary = f"Offered to {name} ({interaction.queue.get_strategy_display()})."
    elif not candidates:
        summary = "No CSR is a member of this queue."
    else:
        summary = "No eligible CSR; waiting in the queue."
    return RoutingDecision(
        interaction=interaction,
        queue=interaction.queue,
        strategy=interaction.queue.strategy,
        chosen_id=chosen,
        candidates=[c.as_log() for c in candidates],
        summary=summary,
    )


def route_waiting(*, queue_ids: Iterable[int] | None = None) -> int:
    """Route every queue that has chats waiting (the sweeper's pass), but one a routing
    task is routing now: the two would only queue for the same chats' locks."""
    waiting_queues = (
        waiting_interactions(queue_ids=queue_ids)
        .order_by("queue_id")
        .values_list("queue_id", flat=True)
        .distinct()
    )
    return sum(
        route_queue(queue_id=queue_id)
        for queue_id in list(waiting_queues)
        if not _queue_run_in_progress(queue_id)
    )


def route_for_csr(*, user_id: int) -> int:
    """A CSR has room: route the waiting chats of the queues they joined."""
    return sum(route_queue(queue_id=queue_id) for queue_id in csr_joined_queue_ids(user_id=user_id))


# --- Offers ---------------------------------------------------------------------------


def _lock_offer_and_interaction(offer_id: int) -> tuple[Offer, Interaction]:
    """Lock the offer's interaction, then the offer (the order every writer follows).

    Plain statements, as in _lock_waiting: the ORM's locking queries cost three to four
    times their CPU. Related rows (queue, CSR) are read only if used."""
    interaction_sql, offer_sql = _lock_offer_sql()
    interaction = raw_first(Interaction, interaction_sql, [offer_id])
    if interaction is None:
        raise RoutingError("offer_unavailable", CHAT_UNAVAILABLE)
    offer = raw_first(Offer, offer_sql, [offer_id])
    if offer is None:
        raise Offer.DoesNotExist(f"No offer {offer_id}")
    offer.interaction = interaction
    return offer, interaction


@functools.cache
def _lock_offer_sql() -> tuple[str, str]:
    interactions, offers = quote(Interaction._meta.db_table), quote(Offer._meta.db_table)
    return (
        f"SELECT {interactions}.* FROM {interactions} WHERE {interactions}.id = "  # noqa: S608 - our names
        f"(SELECT {offers}.interaction_id FROM {offers} WHERE {offers}.id = %s){for_update()}",
        f"SELECT {offers}.* FROM {offers} WHERE {offers}.id = %s{for_update()}",  # noqa: S608 - our names
    )


def _missed_streak_reset(user_id: int) -> None:
    """The CSR answered an offer: their run of missed offers is over (one conditional
    UPDATE, which writes nothing when there was no run)."""
    with connection.cursor() as cursor:
        cursor.execute(*_missed_streak_reset_statement(user_id))


def _missed_streak_reset_statement(user_id: int) -> tuple[str, list]:
    return _missed_streak_reset_sql(), [user_id]


@functools.cache
def _missed_streak_reset_sql() -> str:
    profiles = quote(CSRProfile._meta.db_table)
    return f"UPDATE {profiles} SET missed_in_a_row = 0 WHERE user_id = %s AND missed_in_a_row > 0"  # noqa: S608 - our names


@transaction.atomic
def offer_accept(*, offer_id: int, user: AbstractBaseUser) -> Interaction:
    """The CSR takes the chat; exactly one acceptance can ever succeed."""
    offer, interaction = _lock_offer_and_interaction(offer_id)
    if offer.csr_id != user.pk:
        raise RoutingError("not_your_offer", "This offer was made to another CSR.")
    now = timezone.now()
    if (
        offer.status != OfferStatus.PENDING
        or offer.expires_at <= now
        or interaction.status != InteractionStatus.OFFERED
    ):
        raise RoutingError("offer_unavailable", CHAT_UNAVAILABLE)
    offer.status = OfferStatus.ACCEPTED
    offer.responded_at = now
    previous_csr_id = interaction.assigned_csr_id
    interaction.status = InteractionStatus.ACTIVE
    interaction.assigned_csr = user  # type: ignore[assignment]  # users are typed AbstractBaseUser; FKs as auth.User
    interaction.at_front = False
    interaction.transferred_by = None
    interaction.transfer_note = ""
    interaction.accepted_at = now
    # Three rows of three tables, one statement on PostgreSQL: every accept pays for it.
    execute_together(
        update_fields_statement(offer, "status", "responded_at"),
        update_fields_statement(
            interaction,
            "status",
            "assigned_csr",
            "at_front",
            "transferred_by",
            "transfer_note",
            "accepted_at",
        ),
        _missed_streak_reset_statement(user.pk),
    )
    message_create(
        interaction=interaction,
        sender_kind=SenderKind.SYSTEM,
        text=f"{_display_name(user)} joined the chat",
        event=SystemEvent.JOINED,
        data={"csr": _display_name(user), "csr_id": user.pk},
    )
    if previous_csr_id and previous_csr_id != user.pk:
        events.chat_revoked(
            user_id=previous_csr_id,
            interaction_id=interaction.pk,
            reason=f"transferred to {_display_name(user)}",
        )
    events.offer_closed(offer=offer, reason="accepted")
    chat_events.interaction_status_changed(interaction=interaction)
    events.queue_changed(queue_id=interaction.queue_id)
    # One pending offer at a time held the CSR back; with room left, offer the next.
    _route_after_commit(csr_id=user.pk)
    return interaction


@transaction.atomic
def offer_decline(*, offer_id: int, user: AbstractBaseUser, reason: str = "") -> Offer:
    offer, interaction = _lock_offer_and_interaction(offer_id)
    if offer.csr_id != user.pk:
        raise RoutingError("not_your_offer", "This offer was made to another CSR.")
    if offer.status != OfferStatus.PENDING:
        raise RoutingError("offer_unavailable", CHAT_UNAVAILABLE)
    reason = reason.strip()[:200]
    offer.status = OfferStatus.DECLINED
    offer.responded_at = timezone.now()
    offer.reason = reason
    update_fields(offer, "status", "responded_at", "reason")
    _missed_streak_reset(user.pk)
    _offer_failed(offer, interaction, verb="declined")
    events.offer_closed(offer=offer, reason="declined")
    _route_after_commit(csr_id=user.pk)
    return offer


@transaction.atomic
def offer_expire(*, offer_id: int) -> bool:
    """An unattended offer times out; the CSR may be set Away after too many in a row.
    False when it is no longer pending or not due (checked under the locks)."""
    try:
        offer, interaction = _lock_offer_and_interaction(offer_id)
    except (RoutingError, Offer.DoesNotExist):
        return False
    if offer.status != OfferStatus.PENDING or offer.expires_at > timezone.now():
        return False
    offer.status = OfferStatus.EXPIRED
    offer.responded_at = timezone.now()
    update_fields(offer, "status", "responded_at")
    _offer_failed(offer, interaction, verb="did not answer")
    events.offer_closed(offer=offer, reason="expired")
    missed, status = _missed_streak_extend(offer.csr_id)
    limit = app_studio_settings_get().missed_offers_before_away
    if missed >= limit and status == CSRStatus.AVAILABLE:
        _status_change(
            user_id=offer.csr_id,
            status=CSRStatus.AWAY,
            reason=_system_away_reason(MISSED_OFFERS_REASON_CODE),
            note=f"You were set Away after missing {missed} chats in a row.",
        )
    return True


def _missed_streak_extend(user_id: int) -> tuple[int, str]:
    """One more offer the CSR left unanswered: (their run of missed offers now, their
    status), counted by one UPDATE that holds the profile's row to the transaction's end."""
    with connection.cursor() as cursor:
        cursor.execute(_missed_streak_extend_sql(), [user_id])
        row = cursor.fetchone()
    if row is None:  # no profile yet: made as _lock_profile makes it
        profile = _lock_profile(user_id)
        profile.missed_in_a_row += 1
        update_fields(profile, "missed_in_a_row")
        return profile.missed_in_a_row, profile.status
    return row[0], row[1]


@functools.cache
def _missed_streak_extend_sql() -> str:
    profiles = quote(CSRProfile._meta.db_table)
    return (
        f"UPDATE {profiles} SET missed_in_a_row = missed_in_a_row + 1 "  # noqa: S608 - our names
        "WHERE user_id = %s RETURNING missed_in_a_row, status"
    )


def offers_expire_overdue(*, now=None) -> int:
    now = now or timezone.now()
    ids = list(
        Offer.objects.filter(status=OfferStatus.PENDING, expires_at__lte=now).values_list(
            "id", flat=True
        )
    )
    return sum(offer_expire(offer_id=offer_id) for offer_id in ids)


def _offer_failed(offer: Offer, interaction: Interaction, *, verb: str) -> None:
    """Put the interaction back in line after a declined, unanswered or withdrawn offer.
    A transfer to a named CSR that fails goes back to its queue at the front."""
    if interaction.status != InteractionStatus.OFFERED:
        return
    _requeue(interaction, at_front=offer.direct)
    update_fields(interaction, *REQUEUE_FIELDS)
    if offer.direct:
        message_create(
            interaction=interaction,
            sender_kind=SenderKind.SYSTEM,
            text=f"{_display_name(offer.csr)} {verb} the transfer; the chat is back in the "
            f"{interaction.queue.name} queue.",
            event=SystemEvent.REQUEUED,
        )
    _route_after_commit(queue_id=interaction.queue_id)


def _withdraw(offer: Offer, *, reason: str) -> None:
    """Withdraw a pending offer inside the caller's transaction (rows already locked)."""
    offer.status = OfferStatus.WITHDRAWN
    offer.responded_at = timezone.now()
    offer.reason = reason[:200]
    offer.save(update_fields=["status", "responded_at", "reason"])
    events.offer_closed(offer=offer, reason="withdrawn", message=reason)
    interaction = offer.interaction
    if interaction.status == InteractionStatus.OFFERED:
        _offer_failed(offer, interaction, verb="could not take")


@transaction.atomic
def interaction_abandon(*, interaction_id: int, reason: str = "The customer left.") -> bool:
    """The customer left before a CSR accepted: withdraw any offer and close it."""
    interaction = Interaction.objects.select_for_update().get(pk=interaction_id)
    if interaction.status not in (InteractionStatus.QUEUED, InteractionStatus.OFFERED):
        return False
    pending = (
        Offer.objects.select_for_update()
        .filter(interaction=interaction, status=OfferStatus.PENDING)
        .first()
    )
    if pending is not None:
        pending.status = OfferStatus.WITHDRAWN
        pending.responded_at = timezone.now()
        pending.reason = reason[:200]
        pending.save(update_fields=["status", "responded_at", "reason"])
        events.offer_closed(offer=pending, reason="withdrawn", message=reason)
        _route_after_commit(csr_id=pending.csr_id)
    interaction.status = InteractionStatus.ABANDONED
    interaction.ended_at = timezone.now()
    interaction.save(update_fields=["status", "ended_at"])
    message_create(
        interaction=interaction,
        sender_kind=SenderKind.SYSTEM,
        text="The customer left before a CSR joined.",
        event=SystemEvent.ABANDONED,
    )
    chat_events.interaction_status_changed(interaction=interaction)
    events.queue_changed(queue_id=interaction.queue_id)
    return True


# --- Transfers ------------------------------------------------------------------------


def _lock_own_active(interaction_id: int, user: AbstractBaseUser) -> Interaction:
    interaction = (
        Interaction.objects.select_for_update(of=("self",))
        .select_related("queue")
        .filter(pk=interaction_id)
        .first()
    )
    if interaction is None or interaction.assigned_csr_id != user.pk:
        raise RoutingError("not_your_chat", "You are not handling this chat.")
    if interaction.status != InteractionStatus.ACTIVE:
        raise RoutingError("not_active", "Only an active chat can be transferred.")
    return interaction


@transaction.atomic
def interaction_transfer_to_queue(
    *, interaction_id: int, user: AbstractBaseUser, queue: Queue, note: str = ""
) -> Interaction:
    """Re-queue the chat at the front of `queue`, with the note for whoever takes it.
    The CSR keeps the conversation until another CSR accepts."""
    interaction = _lock_own_active(interaction_id, user)
    if not queue.active:
        raise RoutingError("queue_inactive", f"The {queue.name} queue is not taking chats.")
    note = note.strip()[:1000]
    from_queue_id = interaction.queue_id
    interaction.queue = queue
    interaction.transferred_by = user  # type: ignore[assignment]  # users are typed AbstractBaseUser; FKs as auth.User
    interaction.transfer_note = note
    _requeue(interaction, at_front=True)
    interaction.queued_at = timezone.now()
    interaction.save()
    # The note is for the contact center: it travels in `data`, which customers never
    # receive, not in the text both sides see.
    message_create(
        interaction=interaction,
        sender_kind=SenderKind.SYSTEM,
        text=f"Transferred to {queue.name} by {_display_name(user)}",
        event=SystemEvent.TRANSFERRED,
        data={"to_queue": queue.name, "by": _display_name(user), "note": note},
    )
    chat_events.interaction_status_changed(interaction=interaction)
    events.queue_changed(queue_id=from_queue_id)
    _route_after_commit(queue_id=interaction.queue_id, csr_id=user.pk)
    return interaction


@transaction.atomic
def interaction_transfer_to_csr(
    *, interaction_id: int, user: AbstractBaseUser, target: AbstractBaseUser, note: str = ""
) -> Offer:
    """Offer the chat to one CSR who is Available with room; on decline or timeout it goes
    back to the queue at the front."""
    interaction = _lock_own_active(interaction_id, user)
    if target.pk == user.pk:
        raise RoutingError("bad_target", "You cannot transfer a chat to yourself.")
    problem = transfer_target_problem(target=target)
    if problem:
        raise RoutingError("target_unavailable", f"{_display_name(target)} {problem}.")
    note = note.strip()[:1000]
    interaction.transferred_by = user  # type: ignore[assignment]  # users are typed AbstractBaseUser; FKs as auth.User
    interaction.transfer_note = note
    interaction.save(update_fields=["transferred_by", "transfer_note"])
    offer = _offer_create(
        interaction=interaction,
        csr_id=target.pk,
        transferred_by_id=user.pk,
        note=note,
        direct=True,
    )
    if offer is None:
        raise RoutingError(
            "target_unavailable", f"{_display_name(target)} is already considering another chat."
        )
    message_create(
        interaction=interaction,
        sender_kind=SenderKind.SYSTEM,
        text=f"Transfer to {_display_name(target)} requested by {_display_name(user)}",
        event=SystemEvent.TRANSFERRED,
        data={"to_csr": _display_name(target), "by": _display_name(user), "note": note},
    )
    _route_after_commit(csr_id=user.pk)
    return offer


def transfer_target_problem(*, target: AbstractBaseUser) -> str:
    """Why `target` cannot take a transferred chat right now, or "" when they can."""
    from portal.roles import is_csr

    if not target.is_active or not is_csr(target):
        return "is not a CSR"
    profile = CSRProfile.objects.filter(user_id=target.pk).first()
    if profile is None or profile.status != CSRStatus.AVAILABLE:
        status = profile.get_status_display() if profile else "Offline"
        return f"is not available ({status})"
    busy = csr_active_chat_counts(user_ids=[target.pk]).get(target.pk, 0)
    capacity = csr_capacity(profile=profile)
    if busy >= capacity:
        return f"has no room for another chat ({busy}/{capacity})"
    if Offer.objects.filter(csr_id=target.pk, status=OfferStatus.PENDING).exists():
        return "is already considering another chat"
    return ""


# --- The sweeper ----------------------------------------------------------------------

SWEEP_LOCK_KEY = "routing-sweep-lock"


def routing_sweep() -> dict[str, int] | None:
    """Enforce presence, route everything waiting and refresh the queue counts. One
    sweep at a time across all workers; a sweep that finds another running skips.

    Overdue offers are left to the expiry task, every OFFER_EXPIRY_SECONDS
    (offers_expire_overdue): both are beat entries, so the sweep would catch nothing the
    other missed, and the two would expire the same offers together, the second waiting
    on the first one's locks while routing runs queue behind both."""
    from django.core.cache import cache

    if not cache.add(SWEEP_LOCK_KEY, "1", timeout=30):
        return None
    try:
        presence = presence_sweep()
        offered = route_waiting()
        for queue_id in Queue.objects.filter(active=True).values_list("id", flat=True):
            events.queue_state_publish(queue_id=queue_id)
        return {"offered": offered, **presence}
    finally:
        cache.delete(SWEEP_LOCK_KEY)
