"""Making offers, and putting a chat back in line when its offer fails.

offers_make is the one way an offer is made: by a routing run (a page of chats at
once) and by a transfer to a named CSR (one)."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from chat.models import Interaction, InteractionStatus, SenderKind, SystemEvent
from chat.services.messages import message_create
from config.tasks import task_enqueue_on_commit
from config.users import display_name
from routing import events
from routing.models import Offer, OfferStatus, QueueMembership
from routing.services.requests import route_after_commit

logger = logging.getLogger(__name__)

EXPIRE_TASK = "routing.tasks.offers_expire"


@dataclass(frozen=True)
class Proposal:
    """A chat to offer to a CSR: the interaction locked and waiting, its queue loaded."""

    interaction: Interaction
    csr_id: int
    timeout_seconds: int
    direct: bool = False  # a transfer to this CSR by name


def offers_make(proposals: list[Proposal], *, now: datetime | None = None) -> dict[int, Offer]:
    """Offer each chat to its CSR, inside the caller's transaction: the offers stored,
    by interaction id. A CSR who has another pending offer by now (another run or a
    transfer gave it a moment ago) refuses theirs: that chat is left out, with nothing
    written for it, for the caller to offer elsewhere.

    The offers go in as one INSERT, in CSR order, so that two runs offering to the same
    CSRs wait for each other in one order, never in a cycle. The chats are marked
    offered, their CSRs' last offer recorded (round robin's order); after commit each
    CSR is sent their offer, and a timer expires the offers left unanswered."""
    if not proposals:
        return {}
    now = now or timezone.now()
    by_chat = {proposal.interaction.pk: proposal for proposal in proposals}
    Offer.objects.bulk_create(
        [
            Offer(
                interaction=proposal.interaction,
                csr_id=proposal.csr_id,
                queue=proposal.interaction.queue,
                transferred_by_id=proposal.interaction.transferred_by_id,
                note=proposal.interaction.transfer_note,
                direct=proposal.direct,
                created_at=now,
                expires_at=now + timedelta(seconds=proposal.timeout_seconds),
            )
            for proposal in sorted(proposals, key=lambda proposal: proposal.csr_id)
        ],
        ignore_conflicts=True,
    )
    # Only this transaction may offer these chats (their rows are locked): a pending
    # offer of one of them is ours, unless its CSR's constraint refused it.
    made: dict[int, Offer] = {}
    for offer in Offer.objects.filter(interaction_id__in=list(by_chat), status=OfferStatus.PENDING):
        interaction = by_chat[offer.interaction_id].interaction
        offer.interaction, offer.queue = interaction, interaction.queue
        offer.transferred_by = interaction.transferred_by
        made[offer.interaction_id] = offer
    if not made:
        return made
    Interaction.objects.filter(pk__in=list(made)).update(
        status=InteractionStatus.OFFERED, offered_at=now
    )
    due: dict[int, list[int]] = {}
    for offer in made.values():
        offer.interaction.status = InteractionStatus.OFFERED
        offer.interaction.offered_at = now
        due.setdefault(by_chat[offer.interaction_id].timeout_seconds, []).append(offer.pk)
    for queue_id in {offer.queue_id for offer in made.values()}:
        QueueMembership.objects.filter(
            queue_id=queue_id,
            user_id__in=[o.csr_id for o in made.values() if o.queue_id == queue_id],
        ).update(last_offered_at=now)
    for offer in made.values():
        events.offer_made(offer=offer)
        logger.info("Offered interaction %s to CSR %s", offer.interaction_id, offer.csr_id)
    for seconds, offer_ids in due.items():
        task_enqueue_on_commit(EXPIRE_TASK, offer_ids, countdown=seconds)
    return made


def requeue(interaction: Interaction, *, at_front: bool) -> None:
    """Back to waiting (on the caller's copy; the caller saves it). A chat whose offer
    failed keeps its place in line (its queued_at): the customer has waited all along,
    and the next free CSR is offered it first."""
    interaction.status = InteractionStatus.QUEUED
    interaction.offered_at = None
    interaction.at_front = at_front or interaction.at_front


def requeued_notice(interaction: Interaction, *, why: str, left_csr_id: int | None = None) -> None:
    """Tell both sides why the chat went back to its queue; `left_csr_id` is the CSR
    whose part of the chat ends here (Recent work reads it)."""
    message_create(
        interaction=interaction,
        sender_kind=SenderKind.SYSTEM,
        text=f"{why}; the chat is back in the {interaction.queue.name} queue.",
        event=SystemEvent.REQUEUED,
        data={"left_csr_id": left_csr_id} if left_csr_id is not None else None,
    )


def offer_failed(offer: Offer, interaction: Interaction, *, verb: str) -> None:
    """Put the interaction back in line after a declined, unanswered or withdrawn offer
    (rows locked). A transfer to a named CSR that fails goes back to its queue at the
    front, and both sides are told."""
    if interaction.status != InteractionStatus.OFFERED:
        return
    requeue(interaction, at_front=offer.direct)
    interaction.save(update_fields=["status", "offered_at", "at_front"])
    if offer.direct:
        requeued_notice(interaction, why=f"{display_name(offer.csr)} {verb} the transfer")
    route_after_commit(queue_id=interaction.queue_id)


def offer_withdraw(offer: Offer, *, reason: str) -> None:
    """Withdraw a pending offer (its rows locked): the CSR is told; a chat still waiting
    goes back in line, and the CSR may be offered another."""
    offer.status = OfferStatus.WITHDRAWN
    offer.responded_at = timezone.now()
    offer.reason = reason[:200]
    offer.save(update_fields=["status", "responded_at", "reason"])
    events.offer_closed(offer=offer, reason="withdrawn", message=reason)
    interaction = offer.interaction
    if interaction.status == InteractionStatus.OFFERED:
        offer_failed(offer, interaction, verb="could not take")
    route_after_commit(csr_id=offer.csr_id)
