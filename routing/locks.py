"""The routing engine's locking reads, in the one order every writer follows:
interaction → offer → CSR profile (chat/locks.py takes the interactions).

Exactly one CSR wins an interaction because an offer changes state only from `pending`
under its row lock, taken after its interaction's, and because the database allows one
pending offer per interaction and per CSR (routing.models.Offer's constraints)."""

from django.db.models import QuerySet

from chat.locks import interactions_for_update
from chat.models import Interaction
from routing.errors import CHAT_UNAVAILABLE, RoutingError
from routing.models import CSRProfile, Offer, OfferStatus, Queue, QueueMembership


def waiting_page_lock(interaction_ids: list[int]) -> QuerySet[Interaction]:
    """These interactions, each locked as it is read, with the names an offer shows;
    those another transaction holds are left out, not waited for (a routing run skips
    them and asks for another run)."""
    return (
        Interaction.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("customer", "channel", "transferred_by")
        .filter(pk__in=interaction_ids)
        .order_by("pk")
    )


def offer_lock(offer_id: int) -> tuple[Offer, Interaction]:
    """The offer and its interaction, both locked (the interaction first). Raises
    RoutingError when the offer does not exist."""
    try:
        interaction = interactions_for_update().get(offers__pk=offer_id)
    except Interaction.DoesNotExist:
        raise RoutingError("offer_unavailable", CHAT_UNAVAILABLE) from None
    offer = Offer.objects.select_for_update().get(pk=offer_id)
    offer.interaction = interaction
    return offer, interaction


def pending_offer_lock(
    *, interaction_id: int | None = None, csr_id: int | None = None
) -> Offer | None:
    """The pending offer of an interaction or of a CSR, locked with its interaction (the
    interaction first); None when there is none."""
    pending = Offer.objects.filter(status=OfferStatus.PENDING)
    if interaction_id is not None:
        pending = pending.filter(interaction_id=interaction_id)
    if csr_id is not None:
        pending = pending.filter(csr_id=csr_id)
    offer_id = pending.values_list("pk", flat=True).first()
    if offer_id is None:
        return None
    offer, _ = offer_lock(offer_id)
    return offer if offer.status == OfferStatus.PENDING else None


def profile_lock(user_id: int) -> CSRProfile:
    """The CSR's profile, locked; made (Offline) for a CSR who has none yet."""
    CSRProfile.objects.get_or_create(user_id=user_id)
    return (
        CSRProfile.objects.select_for_update(of=("self",))
        .select_related("away_reason")
        .get(user_id=user_id)
    )


def membership_lock(*, user_id: int, queue: Queue) -> QueueMembership | None:
    """The CSR's membership of the queue, locked; None when they are no member."""
    return QueueMembership.objects.select_for_update().filter(user_id=user_id, queue=queue).first()
