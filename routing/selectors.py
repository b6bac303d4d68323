"""Reads of queues, intent rules, CSR presence and the routing engine's candidates."""

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from chat.models import (
    WAITING_INTERACTION_STATUSES,
    Channel,
    Interaction,
    InteractionStatus,
)
from chat.selectors import QUEUE_ORDER, app_studio_settings_get
from config.rawsql import db_datetime, placeholders, quote, raw_first, unprepared
from routing.models import (
    AwayReason,
    CSRProfile,
    CSRStatus,
    IntentRule,
    Offer,
    OfferStatus,
    Queue,
    QueueMembership,
    RoutingStrategy,
)

User = get_user_model()


def queue_for_escalation(*, channel: Channel, queue_slug: str | None, intent: str) -> Queue:
    """The queue an escalation goes to.

    An explicit queue slug wins (unknown or inactive: a ValidationError on `queue`);
    otherwise the intent rule matching the intent without regard to case, if its queue is
    active; otherwise the channel's default queue, if active; otherwise a ValidationError
    that says how to fix it.
    """
    if queue_slug:
        queue = Queue.objects.filter(slug=queue_slug).first()
        if queue is None:
            raise ValidationError(
                {
                    "queue": ValidationError(
                        f"There is no queue '{queue_slug}': use the slug of a queue set up "
                        "in the admin, or leave `queue` out to route by intent.",
                        code="unknown_queue",
                    )
                }
            )
        if not queue.active:
            raise ValidationError(
                {
                    "queue": ValidationError(
                        f"Queue '{queue_slug}' is inactive and takes no escalations.",
                        code="inactive_queue",
                    )
                }
            )
        return queue

    queue = raw_first(Queue, _queue_by_intent_sql(), [intent, intent, channel.default_queue_id])
    if queue is not None:
        return queue

    intent_hint = f"add an intent rule for '{intent}'" if intent else "send an intent with a rule"
    raise ValidationError(
        f"No queue for this escalation: name a queue, {intent_hint}, or give channel "
        f"'{channel.slug}' a default queue.",
        code="no_queue",
    )


@functools.cache
def _queue_by_intent_sql() -> str:
    """The active queue of the intent rule matching an intent (if one is given), else
    the channel's default queue if active: one plain statement (params: the intent
    twice, the default queue's id), where the ORM cost two compiled queries."""
    queues, rules = quote(Queue._meta.db_table), quote(IntentRule._meta.db_table)
    rule_queue = (
        f"SELECT rule.queue_id FROM {rules} rule "  # noqa: S608 - our names
        f"INNER JOIN {queues} ruled ON ruled.id = rule.queue_id "
        "WHERE %s <> '' AND ruled.active AND UPPER(rule.intent) = UPPER(%s) "
        "ORDER BY rule.intent LIMIT 1"
    )
    return (
        f"SELECT {queues}.* FROM {queues} "  # noqa: S608 - our names
        f"WHERE {queues}.active AND {queues}.id = COALESCE(({rule_queue}), %s)"
    )


# --- Routing engine reads -------------------------------------------------------------


DECLINED_THIS_CHAT = "declined this chat"
MISSED_THIS_CHAT = "missed this chat"
TRANSFERRING_THIS_CHAT = "is transferring this chat"
PER_CHAT_EXCLUSIONS = frozenset({DECLINED_THIS_CHAT, MISSED_THIS_CHAT, TRANSFERRING_THIS_CHAT})


@dataclass(frozen=True)
class Candidate:
    """One queue member as the routing engine saw them for one interaction."""

    user_id: int
    username: str
    eligible: bool
    reason: str  # why not eligible; empty when eligible
    active_chats: int
    capacity: int
    idle_since: datetime | None
    last_offered_at: datetime | None

    @property
    def excluded_for_this_chat(self) -> bool:
        """Free in general, but not for this chat (declined or missed it, or is
        transferring it)."""
        return self.reason in PER_CHAT_EXCLUSIONS

    def as_log(self) -> dict:
        return {
            "csr_id": self.user_id,
            "username": self.username,
            "eligible": self.eligible,
            "reason": self.reason,
            "active_chats": self.active_chats,
            "capacity": self.capacity,
        }


def csr_capacity(*, profile: CSRProfile | None) -> int:
    if profile is not None and profile.capacity:
        return profile.capacity
    return app_studio_settings_get().default_csr_capacity


def csr_active_chat_counts(*, user_ids: Iterable[int]) -> dict[int, int]:
    rows = (
        Interaction.objects.filter(status=InteractionStatus.ACTIVE, assigned_csr_id__in=user_ids)
        .values("assigned_csr_id")
        .annotate(n=Count("id"))
    )
    return {row["assigned_csr_id"]: row["n"] for row in rows}


@dataclass
class MemberState:
    """One queue member as a routing run knows them. A batch run updates its copy as it
    makes offers, so one read of the members serves every chat it routes."""

    user_id: int
    username: str
    is_active: bool
    joined: bool
    status: str | None
    capacity: int
    busy: int
    has_pending_offer: bool
    idle_since: datetime | None
    last_offered_at: datetime | None


def queue_members_state(*, queue_id: int) -> list[MemberState]:
    """Every member of the queue with what routing needs to know, in one query whatever
    the queue's size (plain values, no model instances: this runs often).

    A plain statement: every routing run reads it, and the ORM took about as long to
    build the query (two correlated subqueries, three joins) as PostgreSQL took to run
    it. Planned anew on every run (config.rawsql.unprepared): the best plan for it
    changes as the chats and offers pile up."""
    with connection.cursor() as cursor, unprepared():
        cursor.execute(
            _queue_members_state_sql(),
            [InteractionStatus.ACTIVE, OfferStatus.PENDING, queue_id],
        )
        members = cursor.fetchall()
    default_capacity: int | None = None
    states = []
    for (
        user_id,
        joined,
        last_offered_at,
        username,
        is_active,
        status,
        capacity,
        idle_since,
        busy,
        has_pending_offer,
    ) in members:
        if not capacity:
            if default_capacity is None:
                default_capacity = app_studio_settings_get().default_csr_capacity
            capacity = default_capacity
        states.append(
            MemberState(
                user_id=user_id,
                username=username,
                is_active=bool(is_active),
                joined=bool(joined),
                status=status,
                capacity=capacity,
                busy=busy,
                has_pending_offer=bool(has_pending_offer),
                idle_since=db_datetime(idle_since),
                last_offered_at=db_datetime(last_offered_at),
            )
        )
    return states


@functools.cache
def _queue_members_state_sql() -> str:
    memberships = quote(QueueMembership._meta.db_table)
    users = quote(User._meta.db_table)
    profiles = quote(CSRProfile._meta.db_table)
    interactions = quote(Interaction._meta.db_table)
    offers = quote(Offer._meta.db_table)
    return (
        "SELECT m.user_id, m.joined, m.last_offered_at, u.username, u.is_active, "  # noqa: S608 - our names
        "p.status, p.capacity, p.idle_since, "
        f"(SELECT COUNT(*) FROM {interactions} i "
        "WHERE i.assigned_csr_id = m.user_id AND i.status = %s) AS busy, "
        f"EXISTS(SELECT 1 FROM {offers} o WHERE o.csr_id = m.user_id AND o.status = %s) "
        f"AS has_pending_offer FROM {memberships} m "
        f"INNER JOIN {users} u ON u.id = m.user_id "
        f"LEFT OUTER JOIN {profiles} p ON p.user_id = m.user_id "
        "WHERE m.queue_id = %s ORDER BY m.user_id"
    )


def refused_offers(*, interaction_ids: Iterable[int]) -> dict[int, dict[int, str]]:
    """interaction id → {CSR id: "declined" or "expired"}: who refused which chat."""
    ids = list(interaction_ids)
    refused: dict[int, dict[int, str]] = {}
    if not ids:
        return refused
    offers = quote(Offer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT interaction_id, csr_id, status FROM {offers} "  # noqa: S608 - our names; values are parameters
            f"WHERE interaction_id IN ({placeholders(len(ids))}) AND status IN (%s, %s)",
            [*ids, OfferStatus.DECLINED, OfferStatus.EXPIRED],
        )
        for interaction_id, csr_id, status in cursor.fetchall():
            refused.setdefault(interaction_id, {})[csr_id] = status
    return refused


def csr_joined_queue_ids(*, user_id: int) -> list[int]:
    """The queues the CSR joined, by id (a plain statement: this runs after every
    accept and decline)."""
    with connection.cursor() as cursor:
        cursor.execute(_csr_joined_queue_ids_sql(), [user_id])
        return [queue_id for (queue_id,) in cursor.fetchall()]


@functools.cache
def _csr_joined_queue_ids_sql() -> str:
    memberships = quote(QueueMembership._meta.db_table)
    return f"SELECT queue_id FROM {memberships} WHERE user_id = %s AND joined ORDER BY queue_id"  # noqa: S608 - our names


def member_is_free(member: MemberState) -> bool:
    """Whether the member could take some chat now (one they have not refused)."""
    return not _member_ineligibility(member, refused_status=None, is_current_owner=False)


def _member_ineligibility(
    member: MemberState, *, refused_status: str | None, is_current_owner: bool
) -> str:
    return _ineligibility(
        is_active=member.is_active,
        joined=member.joined,
        status=member.status,
        busy=member.busy,
        capacity=member.capacity,
        has_pending_offer=member.has_pending_offer,
        refused_status=refused_status,
        is_current_owner=is_current_owner,
    )


def candidates_from_members(
    members: Iterable[MemberState], *, refused: dict[int, str], owner_id: int | None
) -> list[Candidate]:
    """Each member marked eligible for one chat or not, and why. `refused`: who declined
    or missed this chat; `owner_id`: the CSR transferring it, if any."""
    candidates = []
    for member in members:
        reason = _member_ineligibility(
            member,
            refused_status=refused.get(member.user_id),
            is_current_owner=member.user_id == owner_id,
        )
        candidates.append(
            Candidate(
                user_id=member.user_id,
                username=member.username,
                eligible=not reason,
                reason=reason,
                active_chats=member.busy,
                capacity=member.capacity,
                idle_since=member.idle_since,
                last_offered_at=member.last_offered_at,
            )
        )
    return candidates


def routing_candidates(*, interaction: Interaction) -> list[Candidate]:
    """Every member of the interaction's queue, each marked eligible or not, and why
    (four queries whatever the queue's size)."""
    return candidates_from_members(
        queue_members_state(queue_id=interaction.queue_id),
        refused=refused_offers(interaction_ids=[interaction.pk]).get(interaction.pk, {}),
        owner_id=interaction.assigned_csr_id,
    )


def _ineligibility(
    *,
    is_active: bool,
    joined: bool,
    status: str | None,
    busy: int,
    capacity: int,
    has_pending_offer: bool,
    refused_status: str | None,
    is_current_owner: bool,
) -> str:
    if not is_active:
        return "account disabled"
    if not joined:
        return "has not joined the queue"
    if status != CSRStatus.AVAILABLE:
        label = CSRStatus(status).label if status else CSRStatus.OFFLINE.label
        return f"not available ({label})"
    if busy >= capacity:
        return f"at capacity ({busy}/{capacity})"
    if has_pending_offer:
        return "already has a pending offer"
    if refused_status == OfferStatus.DECLINED:
        return DECLINED_THIS_CHAT
    if refused_status == OfferStatus.EXPIRED:
        return MISSED_THIS_CHAT
    if is_current_owner:
        return TRANSFERRING_THIS_CHAT
    return ""


_FAR_PAST = datetime(1970, 1, 1, tzinfo=UTC)


def routing_rank(*, strategy: str, candidates: list[Candidate]) -> list[Candidate]:
    """The eligible candidates, best first, by the queue's strategy."""
    eligible = [c for c in candidates if c.eligible]

    def idle(c: Candidate) -> datetime:
        return c.idle_since or _FAR_PAST

    key: Callable[[Candidate], tuple[int | datetime, ...]]
    if strategy == RoutingStrategy.LEAST_BUSY:
        key = lambda c: (c.active_chats, idle(c), c.user_id)  # noqa: E731
    elif strategy == RoutingStrategy.ROUND_ROBIN:
        key = lambda c: (c.last_offered_at or _FAR_PAST, c.user_id)  # noqa: E731
    else:
        key = lambda c: (idle(c), c.user_id)  # noqa: E731
    return sorted(eligible, key=key)


def waiting_interactions(*, queue_ids: Iterable[int] | None = None) -> QuerySet[Interaction]:
    """Queued interactions with no pending offer, in routing order."""
    qs = Interaction.objects.filter(status=InteractionStatus.QUEUED, queue__active=True)
    if queue_ids is not None:
        qs = qs.filter(queue_id__in=list(queue_ids))
    return qs.order_by(*QUEUE_ORDER)


def queue_waiting_page(*, queue_id: int, limit: int, exclude: Sequence[int] = ()) -> list[int]:
    """waiting_interactions for one queue, by id, at most `limit`, leaving out `exclude`:
    one plain statement, as a routing run reads it on every run."""
    interactions, queues = quote(Interaction._meta.db_table), quote(Queue._meta.db_table)
    not_in = f" AND i.id NOT IN ({placeholders(len(exclude))})" if exclude else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT i.id FROM {interactions} i "  # noqa: S608 - our names; values are parameters
            f"INNER JOIN {queues} q ON q.id = i.queue_id "
            f"WHERE i.queue_id = %s AND i.status = %s AND q.active{not_in} "
            f"ORDER BY {_queue_order_sql('i')} LIMIT %s",
            [queue_id, InteractionStatus.QUEUED, *exclude, limit],
        )
        return [interaction_id for (interaction_id,) in cursor.fetchall()]


@functools.cache
def _queue_order_sql(alias: str) -> str:
    """QUEUE_ORDER as an ORDER BY list."""
    return ", ".join(
        f"{alias}.{name[1:]} DESC" if name.startswith("-") else f"{alias}.{name} ASC"
        for name in QUEUE_ORDER
    )


def queue_waiting_ids(*, queue_id: int) -> list[int]:
    """Ids of the interactions waiting in a queue (queued or being offered), first first."""
    return list(
        Interaction.objects.filter(queue_id=queue_id, status__in=WAITING_INTERACTION_STATUSES)
        .order_by(*QUEUE_ORDER)
        .values_list("id", flat=True)
    )


def offer_timeout_seconds(*, queue: Queue) -> int:
    return queue.offer_timeout_seconds or app_studio_settings_get().default_offer_timeout_seconds


def queue_counts(*, queue: Queue, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    waiting = Interaction.objects.filter(queue=queue, status__in=WAITING_INTERACTION_STATUSES)
    summary = waiting.aggregate(n=Count("id"), oldest=Min("queued_at"))
    oldest = summary["oldest"]
    available = QueueMembership.objects.filter(
        queue=queue, joined=True, user__csr_profile__status=CSRStatus.AVAILABLE
    ).count()
    return {
        "id": queue.pk,
        "slug": queue.slug,
        "name": queue.name,
        "waiting": summary["n"],
        "longest_wait_seconds": int((now - oldest).total_seconds()) if oldest else 0,
        "csrs_available": available,
    }


def csr_pending_offer(*, user_id: int) -> Offer | None:
    return (
        Offer.objects.filter(csr_id=user_id, status=OfferStatus.PENDING)
        .select_related("interaction__customer", "interaction__channel", "queue", "transferred_by")
        .first()
    )


def csr_memberships(*, user_id: int) -> list[QueueMembership]:
    return list(
        QueueMembership.objects.filter(user_id=user_id, queue__active=True)
        .select_related("queue")
        .order_by("-queue__priority", "queue__name")
    )


def away_reasons_selectable() -> list[AwayReason]:
    return list(AwayReason.objects.filter(active=True, system=False))


def transfer_targets_csrs(
    *, interaction: Interaction, exclude_user_id: int, search: str = ""
) -> list[dict]:
    """CSRs who could take a transfer of this chat right now: Available, with room, and
    not already considering another offer."""
    from portal.roles import Role

    profiles = (
        CSRProfile.objects.filter(
            status=CSRStatus.AVAILABLE,
            user__is_active=True,
            user__groups__name=Role.CSR.value,
        )
        .exclude(user_id=exclude_user_id)
        .select_related("user")
        .order_by("user__first_name", "user__username")
    )
    if search:
        profiles = profiles.filter(
            Q(user__username__icontains=search)
            | Q(user__first_name__icontains=search)
            | Q(user__last_name__icontains=search)
        )
    shown = list(profiles[:200])
    user_ids = [p.user_id for p in shown]
    active = csr_active_chat_counts(user_ids=user_ids)
    pending = set(
        Offer.objects.filter(status=OfferStatus.PENDING, csr_id__in=user_ids).values_list(
            "csr_id", flat=True
        )
    )
    targets = []
    for profile in shown:
        capacity = csr_capacity(profile=profile)
        busy = active.get(profile.user_id, 0)
        if busy >= capacity or profile.user_id in pending:
            continue
        user = profile.user
        targets.append(
            {
                "id": user.pk,
                "username": user.get_username(),
                "name": user.get_full_name() or user.get_username(),
                "active_chats": busy,
                "capacity": capacity,
            }
        )
    return targets


def csr_profile_or_default(*, user_id: int) -> CSRProfile:
    """The CSR's profile, or an unsaved Offline one for a CSR who never went online."""
    profile = CSRProfile.objects.select_related("away_reason").filter(user_id=user_id).first()
    return profile or CSRProfile(user_id=user_id, status=CSRStatus.OFFLINE)


def csr_state(*, user) -> dict:
    """Everything the CSR's workspace shows about routing: status, capacity, queues with
    live counts and the pending offer. Sent on connect and by GET /api/v1/agent/state/."""
    from routing import events

    profile = csr_profile_or_default(user_id=user.pk)
    offer = csr_pending_offer(user_id=user.pk)
    queues = [
        {**queue_counts(queue=membership.queue), "joined": membership.joined}
        for membership in csr_memberships(user_id=user.pk)
    ]
    # The ids let a workspace that was offline open the chats it missed being given.
    active_ids = list(
        Interaction.objects.filter(status=InteractionStatus.ACTIVE, assigned_csr_id=user.pk)
        .order_by("accepted_at", "id")
        .values_list("id", flat=True)
    )
    return {
        **events.status_payload(profile),
        "type": "state",
        "capacity": csr_capacity(profile=profile),
        "active_chats": len(active_ids),
        "active_chat_ids": active_ids,
        "queues": queues,
        "pending_offer": events.offer_payload(offer) if offer else None,
        "away_reasons": [{"code": r.code, "label": r.label} for r in away_reasons_selectable()],
    }
