"""Payload builders for the routing engine's live events, and where they go.

Every function that publishes does so after the current transaction commits."""

import contextlib
import logging

from django.core.cache import cache
from django.utils import timezone

from chat.events import INTERACTION_HANDLER, csr_group, interaction_group
from chat.models import WAITING_INTERACTION_STATUSES, Interaction
from chat.selectors.interactions import (
    estimated_wait_seconds,
    interaction_queue_position,
    queue_seconds_per_acceptance,
    waiting_in_queue,
)
from config.oncommit import on_commit_robust
from config.realtime import group_send_many, publish_on_commit
from config.redis import REDIS_ERRORS
from config.tasks import task_enqueue
from config.users import display_name
from routing import schemas
from routing.models import (
    CSRProfile,
    CSRStatus,
    LongWait,
    LongWaitChoice,
    Offer,
    Queue,
    QueueMembership,
    Wrapup,
)
from routing.selectors.csrs import (
    away_reasons_selectable,
    csr_active_chat_ids,
    csr_capacity,
    csr_memberships,
    csr_pending_offer,
    csr_profile_or_default,
)
from routing.selectors.queues import queue_counts
from routing.selectors.wrapups import csr_open_wrapup_ids

logger = logging.getLogger(__name__)

AGENT_HANDLER = "agent.event"


def queue_group(queue_id: int) -> str:
    return f"queue.{queue_id}"


def offer_payload(offer: Offer) -> schemas.OfferPayload:
    interaction: Interaction = offer.interaction
    now = timezone.now()
    transferred_by = offer.transferred_by
    return {
        "type": "offer",
        "offer_id": offer.pk,
        "interaction_id": interaction.pk,
        "customer_name": interaction.customer_name,
        "channel": interaction.channel.name,
        "queue": offer.queue.name,
        "intent": interaction.intent,
        "waiting_seconds": max(0, int((now - interaction.queued_at).total_seconds())),
        "expires_at": offer.expires_at.isoformat(),
        "expires_in_seconds": max(0, int((offer.expires_at - now).total_seconds())),
        "transfer": transferred_by is not None,
        "transferred_by": display_name(transferred_by) if transferred_by else None,
        "note": offer.note,
    }


def offer_made(*, offer: Offer) -> None:
    publish_on_commit(csr_group(offer.csr_id), AGENT_HANDLER, offer_payload(offer))


OFFER_CLOSED_MESSAGES = {
    "accepted": "You accepted this chat.",
    "declined": "You declined this chat.",
    "expired": "The offer expired before it was accepted.",
    "withdrawn": "The offer was withdrawn.",
}


def offer_closed(*, offer: Offer, reason: str, message: str = "") -> None:
    payload: schemas.OfferClosedPayload = {
        "type": "offer.closed",
        "offer_id": offer.pk,
        "interaction_id": offer.interaction_id,
        "reason": reason,  # type: ignore[typeddict-item]
        "message": message or OFFER_CLOSED_MESSAGES[reason],
    }
    publish_on_commit(csr_group(offer.csr_id), AGENT_HANDLER, payload)


def status_payload(profile: CSRProfile, note: str = "") -> schemas.StatusPayload:
    reason = profile.away_reason
    return {
        "type": "status",
        "status": profile.status,
        "status_label": profile.get_status_display(),
        "away_reason": reason.label if reason and profile.status == CSRStatus.AWAY else None,
        "reason": {"code": reason.code, "label": reason.label} if reason else None,
        "note": note,
        "changed_at": profile.status_changed_at.isoformat(),
    }


def status_changed(*, profile: CSRProfile, note: str = "") -> None:
    publish_on_commit(csr_group(profile.user_id), AGENT_HANDLER, status_payload(profile, note))


def queues_payload(user_id: int) -> schemas.QueuesPayload:
    memberships = QueueMembership.objects.filter(
        user_id=user_id, queue__active=True
    ).select_related("queue")
    return {
        "type": "queues",
        "queues": [
            {"queue_id": m.queue_id, "slug": m.queue.slug, "name": m.queue.name, "joined": m.joined}
            for m in memberships
        ],
    }


def memberships_changed(*, user_id: int) -> None:
    publish_on_commit(csr_group(user_id), AGENT_HANDLER, queues_payload(user_id))


def chat_revoked(*, user_id: int, interaction_id: int, reason: str) -> None:
    payload: schemas.ChatRevokedPayload = {
        "type": "chat.revoked",
        "interaction_id": interaction_id,
        "reason": reason,
    }
    publish_on_commit(csr_group(user_id), AGENT_HANDLER, payload)


WRAPUP_RELEASED_MESSAGES = {
    "completed": "Wrap-up finished.",
    "timed_out": "The wrap-up time ran out: the chat was released without a wrap-up.",
}


def wrapup_released(*, wrapup: Wrapup) -> None:
    """A wrap-up was finished or timed out: every page of its CSR puts its form away."""
    payload: schemas.WrapupReleasedPayload = {
        "type": "wrapup.released",
        "interaction_id": wrapup.interaction_id,
        "outcome": wrapup.outcome,  # type: ignore[typeddict-item]
        "code": wrapup.code.label if wrapup.code else None,
        "message": WRAPUP_RELEASED_MESSAGES[wrapup.outcome],
    }
    publish_on_commit(csr_group(wrapup.csr_id), AGENT_HANDLER, payload)


def csr_state_payload(*, user) -> dict:
    """Everything the CSR's workspace shows about routing: status (and why), capacity,
    queues with live counts, active chats and the pending offer. Sent on connect and by
    GET /api/v1/agent/state/."""
    profile = csr_profile_or_default(user_id=user.pk)
    offer = csr_pending_offer(user_id=user.pk)
    queues = [
        {**queue_counts(queue=membership.queue), "joined": membership.joined}
        for membership in csr_memberships(user_id=user.pk)
    ]
    # The ids let a workspace that was offline open the chats it missed being given.
    active_ids = csr_active_chat_ids(user_id=user.pk)
    wrapup_ids = csr_open_wrapup_ids(user_id=user.pk)
    return {
        **status_payload(profile),
        "type": "state",
        "capacity": csr_capacity(profile=profile),
        # Chats in wrap-up still take one of the CSR's places.
        "active_chats": len(active_ids) + len(wrapup_ids),
        "active_chat_ids": active_ids,
        "wrapup_chat_ids": wrapup_ids,
        "queues": queues,
        "pending_offer": offer_payload(offer) if offer else None,
        "away_reasons": [{"code": r.code, "label": r.label} for r in away_reasons_selectable()],
    }


QUEUE_PUBLISH_DEBOUNCE_SECONDS = 1


def queue_changed(*, queue_id: int) -> None:
    """Counts and customers' positions in this queue changed: refresh them after commit,
    at most once a second per queue (a burst of changes is one refresh)."""
    on_commit_robust(_queue_state_publish_soon, queue_id)


def _queue_state_publish_soon(queue_id: int) -> None:
    try:
        first = cache.add(f"queue-publish:{queue_id}", 1, timeout=QUEUE_PUBLISH_DEBOUNCE_SECONDS)
    except REDIS_ERRORS:
        return  # the routing sweep publishes every queue's counts meanwhile
    if first:
        task_enqueue(
            "routing.tasks.queue_state_publish", queue_id, countdown=QUEUE_PUBLISH_DEBOUNCE_SECONDS
        )


POSITIONS_KEY = "queue-positions:{queue_id}"


def queue_state_publish(*, queue_id: int) -> None:
    """Send a queue's counts to the CSRs who may work it, and each waiting customer their
    new position, only to those whose position changed since the last send."""
    queue = Queue.objects.filter(pk=queue_id).first()
    if queue is None:
        return
    counts_payload: schemas.QueueCountsPayload = {
        "type": "queue.counts",
        "queue": queue_counts(queue=queue),  # type: ignore[typeddict-item]
    }
    messages = [(queue_group(queue_id), {"type": AGENT_HANDLER, "payload": counts_payload})]
    pace = queue_seconds_per_acceptance(queue_id=queue_id)
    key = POSITIONS_KEY.format(queue_id=queue_id)
    try:
        previous: dict[int, tuple[int, int | None]] = cache.get(key) or {}
    except REDIS_ERRORS:
        previous = {}  # every waiting customer is told their place
    # Each customer is told their place and estimate again when either changed.
    current: dict[int, tuple[int, int | None]] = {}
    waiting = waiting_in_queue(queue_id=queue_id).values_list("pk", flat=True)
    for position, interaction_id in enumerate(waiting, start=1):
        payload = queue_position_payload(
            interaction_id=interaction_id, position=position, seconds_per_acceptance=pace
        )
        current[interaction_id] = (position, payload["estimated_wait_seconds"])
        if tuple(previous.get(interaction_id) or ()) == current[interaction_id]:
            continue
        messages.append(
            (interaction_group(interaction_id), {"type": INTERACTION_HANDLER, "payload": payload})
        )
    with contextlib.suppress(*REDIS_ERRORS):
        cache.set(key, current, timeout=3600)
    group_send_many(messages)


def queue_position_payload(
    *, interaction_id: int, position: int, seconds_per_acceptance: float | None
) -> schemas.QueuePositionPayload:
    return {
        "type": "queue.position",
        "interaction_id": interaction_id,
        "position": position,
        "estimated_wait_seconds": estimated_wait_seconds(
            position=position, seconds_per_acceptance=seconds_per_acceptance
        ),
    }


WAIT_CHOICES: list[schemas.WaitChoiceName] = ["keep_waiting", "leave_message", "end"]


def wait_options_payload(
    *, interaction: Interaction, waited_seconds: int
) -> schemas.WaitOptionsPayload:
    minutes = max(1, round(waited_seconds / 60))
    waited = "1 minute" if minutes == 1 else f"{minutes} minutes"
    return {
        "type": "wait.options",
        "interaction_id": interaction.pk,
        "waited_seconds": waited_seconds,
        "max_wait_seconds": interaction.queue.max_wait_seconds or 0,
        "choices": WAIT_CHOICES,
        "message": f"You have waited {waited} and all our agents are still busy. You can keep "
        "waiting, leave a message for us to get back to you, or end the chat.",
    }


def wait_options(*, interaction: Interaction, waited_seconds: int) -> None:
    """The customer waited past the queue's maximum: offer them the choice."""
    publish_on_commit(
        interaction_group(interaction.pk),
        INTERACTION_HANDLER,
        wait_options_payload(interaction=interaction, waited_seconds=waited_seconds),
    )


def wait_chosen_payload(*, interaction_id: int, choice: str) -> schemas.WaitChosenPayload:
    return {
        "type": "wait.chosen",
        "interaction_id": interaction_id,
        "choice": choice,  # type: ignore[typeddict-item]
    }


def wait_chosen(*, interaction_id: int, choice: str) -> None:
    """The customer chose: each of their sockets puts the choice away."""
    publish_on_commit(
        interaction_group(interaction_id),
        INTERACTION_HANDLER,
        wait_chosen_payload(interaction_id=interaction_id, choice=choice),
    )


def customer_state_payloads(*, interaction: Interaction) -> list[dict]:
    """What a customer's socket is sent on connect while the chat waits: its place in line
    with the estimate, and the choice offered after a long wait while it stands."""
    if interaction.status not in WAITING_INTERACTION_STATUSES:
        return []
    payloads: list[dict] = []
    position = interaction_queue_position(interaction=interaction)
    if position is not None:
        payloads.append(
            dict(
                queue_position_payload(
                    interaction_id=interaction.pk,
                    position=position,
                    seconds_per_acceptance=queue_seconds_per_acceptance(
                        queue_id=interaction.queue_id
                    ),
                )
            )
        )
    wait = LongWait.objects.filter(
        interaction_id=interaction.pk, choice=LongWaitChoice.PENDING
    ).first()
    if wait is not None:
        since = max(interaction.queued_at, interaction.accepted_at or interaction.queued_at)
        waited = max(0, int((timezone.now() - since).total_seconds()))
        payloads.append(dict(wait_options_payload(interaction=interaction, waited_seconds=waited)))
    return payloads
