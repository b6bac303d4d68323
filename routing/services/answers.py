"""A CSR's answer to an offer (accept, decline) and the offer's expiry when none comes.

Exactly one acceptance of a chat can succeed: each answer takes the chat's and the
offer's row locks (routing/locks.py) and changes an offer only from `pending`."""

import logging
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from chat import events as chat_events
from chat.models import Interaction, InteractionStatus, SenderKind, SystemEvent
from chat.selectors.settings import app_studio_settings_get
from chat.services.messages import message_create
from config.users import display_name
from routing import events
from routing.errors import CHAT_UNAVAILABLE, RoutingError
from routing.locks import offer_lock, profile_lock
from routing.models import MISSED_OFFERS_REASON_CODE, CSRStatus, Offer, OfferStatus
from routing.selectors.csrs import csr_missed_in_a_row
from routing.services.offers import offer_failed
from routing.services.presence import csr_status_change, system_away_reason
from routing.services.requests import route_after_commit

logger = logging.getLogger(__name__)

# An offer whose timer was lost (a worker killed while holding it) is expired by the
# routing sweep once it is this far past due; until then its timer has the job.
EXPIRY_TIMER_GRACE = timedelta(seconds=2)


@transaction.atomic
def offer_accept(*, offer_id: int, user: AbstractBaseUser) -> Interaction:
    """The CSR takes the chat; exactly one acceptance can ever succeed."""
    offer, interaction = offer_lock(offer_id)
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
    offer.save(update_fields=["status", "responded_at"])
    previous_csr_id = interaction.assigned_csr_id
    interaction.status = InteractionStatus.ACTIVE
    interaction.assigned_csr = user  # type: ignore[assignment]  # auth.User, typed AbstractBaseUser
    interaction.at_front = False
    interaction.transferred_by = None
    interaction.transfer_note = ""
    interaction.accepted_at = now
    interaction.save(
        update_fields=[
            "status",
            "assigned_csr",
            "at_front",
            "transferred_by",
            "transfer_note",
            "accepted_at",
        ]
    )
    message_create(
        interaction=interaction,
        sender_kind=SenderKind.SYSTEM,
        text=f"{display_name(user)} joined the chat",
        event=SystemEvent.JOINED,
        data={"csr": display_name(user), "csr_id": user.pk},
    )
    if previous_csr_id and previous_csr_id != user.pk:
        events.chat_revoked(
            user_id=previous_csr_id,
            interaction_id=interaction.pk,
            reason=f"transferred to {display_name(user)}",
        )
    events.offer_closed(offer=offer, reason="accepted")
    chat_events.interaction_status_changed(interaction=interaction)
    events.queue_changed(queue_id=interaction.queue_id)
    # One pending offer at a time held the CSR back; with room left, offer the next.
    route_after_commit(csr_id=user.pk)
    logger.info("CSR %s accepted interaction %s", user.pk, interaction.pk)
    return interaction


@transaction.atomic
def offer_decline(*, offer_id: int, user: AbstractBaseUser, reason: str = "") -> Offer:
    offer, interaction = offer_lock(offer_id)
    if offer.csr_id != user.pk:
        raise RoutingError("not_your_offer", "This offer was made to another CSR.")
    if offer.status != OfferStatus.PENDING:
        raise RoutingError("offer_unavailable", CHAT_UNAVAILABLE)
    offer.status = OfferStatus.DECLINED
    offer.responded_at = timezone.now()
    offer.reason = reason.strip()[:200]
    offer.save(update_fields=["status", "responded_at", "reason"])
    offer_failed(offer, interaction, verb="declined")
    events.offer_closed(offer=offer, reason="declined")
    route_after_commit(csr_id=user.pk)
    logger.info("CSR %s declined interaction %s", user.pk, interaction.pk)
    return offer


@transaction.atomic
def offer_expire(*, offer_id: int, now: datetime | None = None) -> bool:
    """An unattended offer times out; the CSR is set Away after App Studio's number of
    unanswered offers in a row (since they last became Available).
    False when it is no longer pending or not due yet (checked under the locks)."""
    try:
        offer, interaction = offer_lock(offer_id)
    except (RoutingError, Offer.DoesNotExist):
        return False
    now = now or timezone.now()
    if offer.status != OfferStatus.PENDING or offer.expires_at > now:
        return False
    offer.status = OfferStatus.EXPIRED
    offer.responded_at = now
    offer.save(update_fields=["status", "responded_at"])
    offer_failed(offer, interaction, verb="did not answer")
    events.offer_closed(offer=offer, reason="expired")
    logger.info("Offer of interaction %s to CSR %s expired", interaction.pk, offer.csr_id)
    profile = profile_lock(offer.csr_id)
    if profile.status != CSRStatus.AVAILABLE:
        return True
    limit = app_studio_settings_get().missed_offers_before_away
    missed = csr_missed_in_a_row(
        user_id=offer.csr_id, since=profile.status_changed_at, at_most=limit
    )
    if missed >= limit:
        csr_status_change(
            user_id=offer.csr_id,
            status=CSRStatus.AWAY,
            reason=system_away_reason(MISSED_OFFERS_REASON_CODE),
            note=f"You were set Away after missing {missed} chats in a row.",
        )
    return True


def offers_expire(*, offer_ids: list[int]) -> int:
    """The offers' expiry timer: each still pending is expired (one transaction each);
    returns how many were. Offers answered meanwhile, most of them, cost one read."""
    pending = Offer.objects.filter(pk__in=offer_ids, status=OfferStatus.PENDING)
    return sum(offer_expire(offer_id=offer_id) for offer_id in pending.values_list("pk", flat=True))


def offers_expire_overdue(*, now: datetime | None = None) -> int:
    """The backstop of the timers: expire pending offers more than EXPIRY_TIMER_GRACE past
    due (their timer was lost with a worker)."""
    now = now or timezone.now()
    overdue = Offer.objects.filter(
        status=OfferStatus.PENDING, expires_at__lte=now - EXPIRY_TIMER_GRACE
    ).values_list("pk", flat=True)
    return sum(offer_expire(offer_id=offer_id, now=now) for offer_id in list(overdue))
