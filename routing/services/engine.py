"""The routing engine: a run offers a queue's waiting chats, in routing order, to its
free CSRs until one or the other runs out.

One read of the queue's members serves the whole run: each offer updates the run's
copy. A concurrent run (another worker) may hold a stale copy; the database's one
pending offer per CSR turns its clash into "try the next CSR". Chats are routed a page
at a time, each page one transaction; a chat another transaction holds is skipped, not
waited for, and the queue routed again half a second later.

A CSR who declined or missed a chat is not offered it again while someone else could
take it. Once every CSR free to take it has passed, it waits the queue's re-offer
cool-down after the last pass (a timer asks for a run then), and is then offered to
them all again: their refusals are marked cooled down."""

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from chat.models import Interaction, InteractionStatus
from config.tasks import task_enqueue
from routing.locks import waiting_page_lock
from routing.models import Offer, OfferStatus, Queue, RoutingDecision
from routing.selectors.candidates import (
    DECLINED_THIS_CHAT,
    MISSED_THIS_CHAT,
    Candidate,
    MemberState,
    Refusals,
    candidates_from_members,
    member_is_free,
    queue_members_state,
    refused_offers,
    routing_rank,
)
from routing.selectors.queues import (
    offer_timeout_seconds,
    queue_get,
    queue_waiting_page,
    queues_with_waiting,
)
from routing.services.offers import Proposal, offers_make
from routing.services.requests import (
    ROUTE_TASK,
    routing_retry_soon,
    run_in_progress,
    run_mark,
    run_unmark,
)
from routing.services.waits import reoffer_timer_arm

logger = logging.getLogger(__name__)

# The most chats one run visits.
ROUTE_BATCH_LIMIT = 500
# Chats routed in one transaction: their locks are held until it commits (a customer's
# message to one of them waits that long).
ROUTE_PAGE_SIZE = 25
# Chats read beyond the number of free CSRs, for those some of them refused.
ROUTE_PAGE_SLACK = 10
# A task routes its queue again while requests keep coming in during its passes, for
# this long at most; then it hands over to a new task.
ROUTE_RUN_BUDGET_SECONDS = 2.0


def route_queue_run(*, queue_id: int) -> int:
    """The routing task: take this queue's pending request and route the queue; again
    while requests came in during the pass (they queued no task of their own), for
    ROUTE_RUN_BUDGET_SECONDS at most. Returns the offers made."""
    started = time.monotonic()
    offered = 0
    while True:
        run_mark(queue_id)
        try:
            offered += route_queue(queue_id=queue_id)
        except BaseException:
            if run_unmark(queue_id):
                task_enqueue(ROUTE_TASK, queue_id)  # that request is not lost with this run
            raise
        if not run_unmark(queue_id):
            return offered
        if time.monotonic() - started > ROUTE_RUN_BUDGET_SECONDS:
            task_enqueue(ROUTE_TASK, queue_id)  # its requests saw this run: hand them on
            return offered


def route_queue(*, queue_id: int, limit: int = ROUTE_BATCH_LIMIT) -> int:
    """Offer the queue's waiting chats, in routing order, to its free CSRs until one or
    the other runs out; returns how many offers were made."""
    asked = min(ROUTE_PAGE_SIZE, limit)
    waiting = queue_waiting_page(queue_id=queue_id, limit=asked)
    if not waiting:
        return 0  # nothing waits (as after most accepts): the members need not be read
    queue = queue_get(queue_id)
    exhausted = len(waiting) < asked
    members = {
        member.user_id: member
        for member in queue_members_state(queue_id=queue_id, strategy=queue.strategy)
    }
    free = sum(1 for member in members.values() if member_is_free(member))
    # With nobody free only the first chat is visited, so that its decision records why
    # it waits; otherwise about as many chats as the free CSRs can take, more only if
    # some of those chats are refused by them all.
    if not free:
        waiting, exhausted = waiting[:1], True
    elif len(waiting) > free + ROUTE_PAGE_SLACK:
        waiting, exhausted = waiting[: free + ROUTE_PAGE_SLACK], False
    offered = 0
    visited: list[int] = []
    skipped_held = False
    try:
        while waiting:
            refused = refused_offers(interaction_ids=waiting)
            for start in range(0, len(waiting), ROUTE_PAGE_SIZE):
                chats = waiting[start : start + ROUTE_PAGE_SIZE]
                visited.extend(chats)
                page = _route_page(chats, queue=queue, members=members, refused=refused)
                offered += page.offered
                skipped_held = skipped_held or page.skipped_held
                if page.nobody_free:
                    return offered  # nobody can take any chat: the rest wait too
            if exhausted or len(visited) >= limit:
                break
            # Free CSRs are left and more chats may wait: read on.
            asked = min(ROUTE_PAGE_SLACK * 5, limit - len(visited))
            waiting = queue_waiting_page(queue_id=queue_id, limit=asked, exclude=visited)
            exhausted = len(waiting) < asked
        return offered
    finally:
        if skipped_held:
            routing_retry_soon(queue_id=queue_id)


@dataclass
class _PageRouted:
    offered: int
    skipped_held: bool  # a chat was held by another transaction and left for later
    nobody_free: bool  # the run stopped: no member could take any chat


@dataclass
class _Choice:
    interaction: Interaction
    candidates: list[Candidate] = field(default_factory=list)
    chosen: Candidate | None = None
    offered_to: int | None = None
    # Every free CSR passed on it: offered to them again at this time.
    cooling_until: datetime | None = None
    cooled_down: bool = False  # their refusals just cooled down: offered again now


def _route_page(
    interaction_ids: list[int],
    *,
    queue: Queue,
    members: dict[int, MemberState],
    refused: dict[int, Refusals],
) -> _PageRouted:
    """Route these chats (in routing order) in one transaction: the offers, the chats
    marked offered and the routing decisions are written a statement each."""
    cooling: set[datetime] = set()
    with transaction.atomic():
        locked = {interaction.pk: interaction for interaction in waiting_page_lock(interaction_ids)}
        skipped_held = len(locked) < len(set(interaction_ids))
        now = timezone.now()
        timeout = offer_timeout_seconds(queue=queue)
        choices: list[_Choice] = []
        nobody_free = False
        for interaction_id in interaction_ids:
            interaction = locked.get(interaction_id)
            if interaction is None or not _still_waiting(interaction, queue):
                continue
            interaction.queue = queue
            choice = _Choice(interaction)
            _choose(choice, members=members, refused=_refused_by(refused, interaction_id))
            if _all_free_passed(choice):
                due = refused[interaction_id].last_at + timedelta(
                    seconds=queue.reoffer_cooldown_seconds
                )
                if due <= now:
                    refused.pop(interaction_id)
                    choice.cooled_down = True
                    _choose(choice, members=members, refused={})
                else:
                    choice.cooling_until = due
                    cooling.add(due)
            choices.append(choice)
            if choice.chosen is None and not any(
                c.eligible or c.excluded_for_this_chat for c in choice.candidates
            ):
                nobody_free = True
                break
        cooled = [c.interaction.pk for c in choices if c.cooled_down]
        if cooled:
            Offer.objects.filter(
                interaction_id__in=cooled,
                status__in=[OfferStatus.DECLINED, OfferStatus.EXPIRED],
                cooled_down_at__isnull=True,
            ).update(cooled_down_at=now)
        _offer_chosen([c for c in choices if c.chosen], members, refused, now, timeout)
        RoutingDecision.objects.bulk_create([_decision(choice) for choice in choices])
    for due in cooling:
        reoffer_timer_arm(queue_id=queue.pk, due=due)
    return _PageRouted(
        offered=sum(1 for c in choices if c.offered_to is not None),
        skipped_held=skipped_held,
        nobody_free=nobody_free,
    )


def _still_waiting(interaction: Interaction, queue: Queue) -> bool:
    """Whether a chat the run read as waiting still waits in this queue (its row now
    locked): it may have been offered, ended or moved meanwhile."""
    return interaction.status == InteractionStatus.QUEUED and interaction.queue_id == queue.pk


def _refused_by(refused: dict[int, Refusals], interaction_id: int) -> dict[int, str]:
    refusals = refused.get(interaction_id)
    return refusals.by_csr if refusals is not None else {}


def _all_free_passed(choice: _Choice) -> bool:
    """Nobody can be offered the chat, and some CSR free to take a chat declined or
    missed this one: every CSR who could take it has passed on it."""
    return choice.chosen is None and any(
        c.reason in (DECLINED_THIS_CHAT, MISSED_THIS_CHAT) for c in choice.candidates
    )


def _choose(choice: _Choice, *, members: dict[int, MemberState], refused: dict[int, str]) -> None:
    """The best CSR for the chat from the run's copy of the members, which is marked as
    holding the offer."""
    interaction = choice.interaction
    choice.candidates = candidates_from_members(
        members.values(), refused=refused, owner_id=interaction.assigned_csr_id
    )
    ranked = routing_rank(choice.candidates)
    choice.chosen = ranked[0] if ranked else None
    if choice.chosen is not None:
        members[choice.chosen.user_id].has_pending_offer = True


def _offer_chosen(
    choices: list[_Choice],
    members: dict[int, MemberState],
    refused: dict[int, Refusals],
    now: datetime,
    timeout: int,
) -> None:
    """Make the chosen offers; a chat whose CSR was given another offer since the run
    read the members goes to its next best CSR, in another round."""
    while choices:
        made = offers_make(
            [Proposal(c.interaction, c.chosen.user_id, timeout) for c in choices],  # type: ignore[union-attr]
            now=now,
        )
        retry = []
        for choice in choices:
            offer = made.get(choice.interaction.pk)
            if offer is not None:
                choice.offered_to = offer.csr_id
                continue
            # The CSR has another pending offer now (the run's copy marks it so).
            interaction_id = choice.interaction.pk
            _choose(choice, members=members, refused=_refused_by(refused, interaction_id))
            if choice.chosen is not None:
                retry.append(choice)
        choices = retry


def _decision(choice: _Choice) -> RoutingDecision:
    """The routing-log row (unsaved) of one decision: who was considered, who chosen."""
    interaction, candidates = choice.interaction, choice.candidates
    if choice.offered_to is not None:
        name = next(c.username for c in candidates if c.user_id == choice.offered_to)
        summary = f"Offered to {name} ({interaction.queue.get_strategy_display()})."
        if choice.cooled_down:
            summary = f"Offered again after the cool-down to {name}."
    elif not candidates:
        summary = "No CSR is a member of this queue."
    elif choice.cooling_until is not None:
        summary = (
            "Every free CSR passed on this chat; offered again after the cool-down, at "
            f"{timezone.localtime(choice.cooling_until):%H:%M:%S}."
        )
    else:
        summary = "No eligible CSR; waiting in the queue."
    return RoutingDecision(
        interaction=interaction,
        queue=interaction.queue,
        strategy=interaction.queue.strategy,
        chosen_id=choice.offered_to,
        candidates=[c.as_log() for c in candidates],
        summary=summary,
    )


def route_waiting(*, queue_ids: list[int] | None = None) -> int:
    """Route every queue that has chats waiting (the sweep's pass), but one a routing
    task is routing now: the two would only queue for the same chats' locks."""
    return sum(
        route_queue(queue_id=queue_id)
        for queue_id in queues_with_waiting(queue_ids=queue_ids)
        if not run_in_progress(queue_id)
    )
