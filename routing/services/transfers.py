"""Transfers: a CSR hands an active chat to a queue or to another CSR, with a note."""

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from chat import events as chat_events
from chat.locks import interaction_lock
from chat.models import Interaction, InteractionStatus, SenderKind, SystemEvent
from chat.services.messages import message_create
from config.users import display_name, is_csr
from routing import events
from routing.errors import RoutingError
from routing.models import CSRProfile, CSRStatus, Offer, Queue
from routing.selectors.csrs import csr_active_chat_counts, csr_capacity, csr_has_pending_offer
from routing.selectors.queues import offer_timeout_seconds
from routing.services.offers import Proposal, offers_make, requeue
from routing.services.requests import route_after_commit

logger = logging.getLogger(__name__)

MAX_NOTE_CHARS = 1000


def _lock_own_active(interaction_id: int, user: AbstractBaseUser) -> Interaction:
    interaction = interaction_lock(interaction_id, "queue", "customer", "channel")
    if interaction is None or interaction.assigned_csr_id != user.pk:
        raise RoutingError("not_your_chat", "You are not handling this chat.")
    if interaction.status != InteractionStatus.ACTIVE:
        raise RoutingError("not_active", "Only an active chat can be transferred.")
    return interaction


@transaction.atomic
def interaction_transfer_to_queue(
    *,
    interaction_id: int,
    user: AbstractBaseUser,
    queue: Queue,
    note: str = "",
    acting: AbstractBaseUser | None = None,
) -> Interaction:
    """Re-queue the chat at the front of `queue`, with the note for whoever takes it.
    The CSR keeps the conversation until another CSR accepts. `acting`: a manager who
    reassigns the chat of `user` (the CSR handling it), named as the one transferring."""
    interaction = _lock_own_active(interaction_id, user)
    by = acting or user
    if not queue.active:
        raise RoutingError("queue_inactive", f"The {queue.name} queue is not taking chats.")
    note = note.strip()[:MAX_NOTE_CHARS]
    from_queue_id = interaction.queue_id
    interaction.queue = queue
    interaction.transferred_by = by  # type: ignore[assignment]  # auth.User, typed AbstractBaseUser
    interaction.transfer_note = note
    requeue(interaction, at_front=True)
    interaction.queued_at = timezone.now()
    interaction.save(
        update_fields=[
            "queue",
            "transferred_by",
            "transfer_note",
            "status",
            "offered_at",
            "at_front",
            "queued_at",
        ]
    )
    # The note is for the contact center: it travels in `data`, which customers never
    # receive, not in the text both sides see.
    message_create(
        interaction=interaction,
        sender_kind=SenderKind.SYSTEM,
        text=f"Transferred to {queue.name} by {display_name(by)}",
        event=SystemEvent.TRANSFERRED,
        data={"to_queue": queue.name, "by": display_name(by), "note": note},
    )
    chat_events.interaction_status_changed(interaction=interaction)
    events.queue_changed(queue_id=from_queue_id)
    route_after_commit(queue_id=interaction.queue_id, csr_id=user.pk)
    logger.info("CSR %s transferred interaction %s to queue %s", user.pk, interaction.pk, queue.pk)
    return interaction


@transaction.atomic
def interaction_transfer_to_csr(
    *,
    interaction_id: int,
    user: AbstractBaseUser,
    target: AbstractBaseUser,
    note: str = "",
    acting: AbstractBaseUser | None = None,
) -> Offer:
    """Offer the chat to one CSR who is Available with room; on decline or timeout it goes
    back to the queue at the front. `acting`: as for interaction_transfer_to_queue."""
    interaction = _lock_own_active(interaction_id, user)
    by = acting or user
    if target.pk == user.pk:
        raise RoutingError("bad_target", "You cannot transfer a chat to yourself.")
    problem = transfer_target_problem(target=target)
    if problem:
        raise RoutingError("target_unavailable", f"{display_name(target)} {problem}.")
    note = note.strip()[:MAX_NOTE_CHARS]
    interaction.transferred_by = by  # type: ignore[assignment]  # auth.User, typed AbstractBaseUser
    interaction.transfer_note = note
    interaction.save(update_fields=["transferred_by", "transfer_note"])
    timeout = offer_timeout_seconds(queue=interaction.queue)
    offer = offers_make([Proposal(interaction, target.pk, timeout, direct=True)]).get(
        interaction.pk
    )
    if offer is None:
        raise RoutingError(
            "target_unavailable", f"{display_name(target)} is already considering another chat."
        )
    message_create(
        interaction=interaction,
        sender_kind=SenderKind.SYSTEM,
        text=f"Transfer to {display_name(target)} requested by {display_name(by)}",
        event=SystemEvent.TRANSFERRED,
        data={"to_csr": display_name(target), "by": display_name(by), "note": note},
    )
    route_after_commit(csr_id=user.pk)
    logger.info("CSR %s transferred interaction %s to CSR %s", user.pk, interaction.pk, target.pk)
    return offer


def transfer_target_problem(*, target: AbstractBaseUser) -> str:
    """Why `target` cannot take a transferred chat right now, or "" when they can."""
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
    if csr_has_pending_offer(user_id=target.pk):
        return "is already considering another chat"
    return ""
