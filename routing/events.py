"""Payload builders for the routing engine's live events, and where they go.

Every function here publishes after the current transaction commits."""

from django.utils import timezone

from chat.events import INTERACTION_HANDLER, interaction_group
from chat.models import Interaction
from config.realtime import group_send_many, publish_on_commit
from routing import schemas
from routing.models import CSRProfile, Offer, QueueMembership

AGENT_HANDLER = "agent.event"


def agent_group(user_id: int) -> str:
    return f"agent.{user_id}"


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
        "customer_name": interaction.customer.name,
        "channel": interaction.channel.name,
        "queue": offer.queue.name,
        "intent": interaction.intent,
        "waiting_seconds": max(0, int((now - interaction.queued_at).total_seconds())),
        "expires_at": offer.expires_at.isoformat(),
        "expires_in_seconds": max(0, int((offer.expires_at - now).total_seconds())),
        "transfer": transferred_by is not None,
        "transferred_by": (transferred_by.get_full_name() or transferred_by.get_username())
        if transferred_by
        else None,
        "note": offer.note,
    }


def offer_made(*, offer: Offer) -> None:
    publish_on_commit(agent_group(offer.csr_id), AGENT_HANDLER, offer_payload(offer))


def offer_closed(*, offer: Offer, reason: str, message: str = "") -> None:
    default_messages = {
        "accepted": "You accepted this chat.",
        "declined": "You declined this chat.",
        "expired": "The offer expired before it was accepted.",
        "withdrawn": "The offer was withdrawn.",
    }
    payload: schemas.OfferClosedPayload = {
        "type": "offer.closed",
        "offer_id": offer.pk,
        "interaction_id": offer.interaction_id,
        "reason": reason,  # type: ignore[typeddict-item]
        "message": message or default_messages[reason],
    }
    publish_on_commit(agent_group(offer.csr_id), AGENT_HANDLER, payload)


def status_payload(profile: CSRProfile, note: str = "") -> schemas.StatusPayload:
    return {
        "type": "status",
        "status": profile.status,
        "status_label": profile.get_status_display(),
        "away_reason": profile.away_reason.label if profile.away_reason else None,
        "note": note,
        "changed_at": profile.status_changed_at.isoformat(),
    }


def status_changed(*, profile: CSRProfile, note: str = "") -> None:
    publish_on_commit(agent_group(profile.user_id), AGENT_HANDLER, status_payload(profile, note))


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
    publish_on_commit(agent_group(user_id), AGENT_HANDLER, queues_payload(user_id))


def chat_revoked(*, user_id: int, interaction_id: int, reason: str) -> None:
    payload: schemas.ChatRevokedPayload = {
        "type": "chat.revoked",
        "interaction_id": interaction_id,
        "reason": reason,
    }
    publish_on_commit(agent_group(user_id), AGENT_HANDLER, payload)


QUEUE_PUBLISH_DEBOUNCE_SECONDS = 1


def queue_changed(*, queue_id: int) -> None:
    """Counts and customers' positions in this queue changed: refresh them after commit,
    at most once a second per queue (a burst of changes is one refresh)."""
    from django.core.cache import cache
    from django.db import transaction

    from routing import tasks

    def schedule() -> None:
        if cache.add(f"queue-publish:{queue_id}", 1, timeout=QUEUE_PUBLISH_DEBOUNCE_SECONDS):
            tasks.queue_state_publish_task.apply_async(
                (queue_id,), countdown=QUEUE_PUBLISH_DEBOUNCE_SECONDS
            )

    transaction.on_commit(schedule)


POSITIONS_KEY = "queue-positions:{queue_id}"


def queue_state_publish(*, queue_id: int) -> None:
    """Send a queue's counts to the CSRs who may work it, and each waiting customer their
    new position, only to those whose position changed since the last send."""
    from django.core.cache import cache

    from chat.selectors import estimated_wait_seconds, queue_seconds_per_acceptance
    from routing.models import Queue
    from routing.selectors import queue_counts, queue_waiting_ids

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
    previous: dict[int, int] = cache.get(key) or {}
    current: dict[int, int] = {}
    for position, interaction_id in enumerate(queue_waiting_ids(queue_id=queue_id), start=1):
        current[interaction_id] = position
        if previous.get(interaction_id) == position:
            continue
        payload: schemas.QueuePositionPayload = {
            "type": "queue.position",
            "interaction_id": interaction_id,
            "position": position,
            "estimated_wait_seconds": estimated_wait_seconds(
                position=position, seconds_per_acceptance=pace
            ),
        }
        messages.append(
            (interaction_group(interaction_id), {"type": INTERACTION_HANDLER, "payload": payload})
        )
    cache.set(key, current, timeout=3600)
    group_send_many(messages)
