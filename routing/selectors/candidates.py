"""The CSRs a routing run weighs for a chat, and the rules it weighs them by.

One read of a queue's members serves a whole run, which updates its copy as it makes
offers. The read returns them in the order the queue's strategy prefers them (their
`rank`); eligibility, with a readable reason, is a pure function of a member's state,
tested without a database. A member offered a chat holds that offer for the rest of the
run (one pending offer per CSR), so the order never changes during a run."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, F, OrderBy, OuterRef

from chat.selectors.settings import app_studio_settings_get
from routing.models import CSRStatus, Offer, OfferStatus, QueueMembership, RoutingStrategy
from routing.selectors.wrapups import csr_busy_expression

DECLINED_THIS_CHAT = "declined this chat"
MISSED_THIS_CHAT = "missed this chat"
TRANSFERRING_THIS_CHAT = "is transferring this chat"
PER_CHAT_EXCLUSIONS = frozenset({DECLINED_THIS_CHAT, MISSED_THIS_CHAT, TRANSFERRING_THIS_CHAT})


@dataclass
class MemberState:
    """One queue member as a routing run knows them."""

    user_id: int
    username: str
    is_active: bool
    joined: bool
    status: str | None
    capacity: int
    busy: int
    has_pending_offer: bool
    rank: int  # the member's place in the strategy's order, 0 first


@dataclass(frozen=True)
class Candidate:
    """One queue member as the routing engine saw them for one interaction."""

    user_id: int
    username: str
    eligible: bool
    reason: str  # why not eligible; empty when eligible
    active_chats: int
    capacity: int
    rank: int  # the member's place in the queue strategy's order, 0 first

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


# The order each strategy offers chats to a queue's members in: longest idle first;
# fewest active chats, then longest idle; least recently offered first. A member who
# never was (idle or offered) comes first.
_IDLE_SINCE = F("user__csr_profile__idle_since").asc(nulls_first=True)
STRATEGY_ORDER: dict[str, tuple[str | OrderBy, ...]] = {
    RoutingStrategy.LONGEST_IDLE: (_IDLE_SINCE, "user_id"),
    RoutingStrategy.LEAST_BUSY: ("busy", _IDLE_SINCE, "user_id"),
    RoutingStrategy.ROUND_ROBIN: (F("last_offered_at").asc(nulls_first=True), "user_id"),
}


def queue_members_state(*, queue_id: int, strategy: str) -> list[MemberState]:
    """Every member of the queue with what routing needs to know, in the order the
    queue's strategy prefers them: one query whatever the queue's size."""
    pending_offers = Offer.objects.filter(csr_id=OuterRef("user_id"), status=OfferStatus.PENDING)
    rows = (
        QueueMembership.objects.filter(queue_id=queue_id)
        .annotate(
            busy=csr_busy_expression("user_id"),
            has_pending_offer=Exists(pending_offers),
        )
        .order_by(*STRATEGY_ORDER[strategy])
        .values_list(
            "user_id",
            "user__username",
            "user__is_active",
            "joined",
            "user__csr_profile__status",
            "user__csr_profile__capacity",
            "busy",
            "has_pending_offer",
        )
    )
    default_capacity = None
    members = []
    for rank, (user_id, username, is_active, joined, status, capacity, busy, pending) in enumerate(
        rows
    ):
        if not capacity:
            if default_capacity is None:
                default_capacity = app_studio_settings_get().default_csr_capacity
            capacity = default_capacity
        members.append(
            MemberState(
                user_id=user_id,
                username=username,
                is_active=is_active,
                joined=joined,
                status=status,
                capacity=capacity,
                busy=busy,
                has_pending_offer=pending,
                rank=rank,
            )
        )
    return members


@dataclass
class Refusals:
    """Who declined or missed one chat since its last re-offer cool-down, and when the
    last of them did."""

    by_csr: dict[int, str]  # CSR id → "declined" or "expired"
    last_at: datetime


def refused_offers(*, interaction_ids: Iterable[int]) -> dict[int, Refusals]:
    """interaction id → who refused it (declined or missed it) since its refusals last
    cooled down (routing/services/engine.py), and when the last one did."""
    refused: dict[int, Refusals] = {}
    rows = Offer.objects.filter(
        interaction_id__in=list(interaction_ids),
        status__in=[OfferStatus.DECLINED, OfferStatus.EXPIRED],
        cooled_down_at__isnull=True,
    ).values_list("interaction_id", "csr_id", "status", "responded_at", "created_at")
    for interaction_id, csr_id, status, responded_at, created_at in rows:
        at = responded_at or created_at
        refusals = refused.get(interaction_id)
        if refusals is None:
            refused[interaction_id] = Refusals(by_csr={csr_id: status}, last_at=at)
            continue
        refusals.by_csr[csr_id] = status
        refusals.last_at = max(refusals.last_at, at)
    return refused


# --- The rules ------------------------------------------------------------------------


def member_is_free(member: MemberState) -> bool:
    """Whether the member could take some chat now (one they have not refused)."""
    return not _member_ineligibility(member, refused_status=None, is_current_owner=False)


def _member_ineligibility(
    member: MemberState, *, refused_status: str | None, is_current_owner: bool
) -> str:
    return ineligibility(
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
                rank=member.rank,
            )
        )
    return candidates


def ineligibility(
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
    """Why a CSR may not be offered a chat, in a few words; empty when they may."""
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


def routing_rank(candidates: list[Candidate]) -> list[Candidate]:
    """The eligible candidates, best first (in the queue strategy's order)."""
    return sorted((c for c in candidates if c.eligible), key=lambda c: c.rank)
