"""CSR presence: status, heartbeats, the CSR's open portal pages, joining and leaving
queues, and what happens to a CSR whose browser went silent."""

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django_redis import get_redis_connection

from chat import events as chat_events
from chat.locks import interaction_lock
from chat.models import Interaction, InteractionStatus
from config.redis import REDIS_ERRORS
from config.users import display_name
from routing import events
from routing.errors import RoutingError
from routing.locks import membership_lock, pending_offer_lock, profile_lock
from routing.models import (
    DISCONNECTED_REASON_CODE,
    MISSED_OFFERS_REASON_CODE,
    AwayReason,
    CSRProfile,
    CSRStatus,
    Queue,
    QueueMembership,
)
from routing.selectors.csrs import (
    OPEN_PAGE_SECONDS,
    csr_active_chat_counts,
    csr_open_page_counts,
    csr_pages_key,
)
from routing.services.offers import offer_withdraw, requeue, requeued_notice
from routing.services.requests import route_after_commit

logger = logging.getLogger(__name__)

SYSTEM_AWAY_REASONS = {
    MISSED_OFFERS_REASON_CODE: "Missed offers",
    DISCONNECTED_REASON_CODE: "Disconnected",
}


def system_away_reason(code: str) -> AwayReason:
    """The portal's own status reasons (made by a migration; recreated if deleted)."""
    reason, _ = AwayReason.objects.get_or_create(
        code=code, defaults={"label": SYSTEM_AWAY_REASONS[code], "system": True}
    )
    return reason


def csr_profile_ensure(*, user: AbstractBaseUser) -> CSRProfile:
    profile, _ = CSRProfile.objects.get_or_create(user_id=user.pk)
    return profile


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
    return csr_status_change(user_id=user.pk, status=status, reason=reason)


def csr_status_change(
    *, user_id: int, status: str, reason: AwayReason | None, note: str = ""
) -> CSRProfile:
    """Change a CSR's status inside the caller's transaction, keeping its reason (why
    they are Away, or why the portal set them Offline); a CSR who stops being Available
    loses their pending offer."""
    now = timezone.now()
    if status != CSRStatus.AVAILABLE:
        pending = pending_offer_lock(csr_id=user_id)
        if pending is not None:
            offer_withdraw(pending, reason="You are no longer Available.")
    profile = profile_lock(user_id)
    was = profile.status
    profile.status = status
    profile.away_reason = reason if status != CSRStatus.AVAILABLE else None
    profile.status_changed_at = now
    if status == CSRStatus.AVAILABLE:
        profile.last_heartbeat_at = now
        if was != CSRStatus.AVAILABLE:
            profile.idle_since = now
    profile.save()
    events.status_changed(profile=profile, note=note)
    if status == CSRStatus.AVAILABLE:
        route_after_commit(csr_id=user_id)
    logger.info("CSR %s is %s%s", user_id, status, f" ({reason.code})" if reason else "")
    return profile


def csr_heartbeat(*, user: AbstractBaseUser) -> None:
    """Record a sign of life from one of the CSR's portal pages (one UPDATE, no lock)."""
    now = timezone.now()
    if not CSRProfile.objects.filter(user_id=user.pk).update(last_heartbeat_at=now):
        CSRProfile.objects.get_or_create(user_id=user.pk, defaults={"last_heartbeat_at": now})


def csr_page_alive(*, user: AbstractBaseUser, page_id: str) -> None:
    """One of the CSR's portal pages opened its presence socket or sent a heartbeat: a
    sign of life, and the page counts as open (routing.selectors.csrs.OPEN_PAGE_SECONDS)."""
    csr_heartbeat(user=user)
    key = csr_pages_key(user.pk)
    now = time.time()
    try:
        pipe = get_redis_connection("default").pipeline(transaction=True)
        pipe.zadd(key, {page_id: now})
        pipe.zremrangebyscore(key, "-inf", now - OPEN_PAGE_SECONDS)
        pipe.expire(key, OPEN_PAGE_SECONDS)
        pipe.execute()
    except REDIS_ERRORS as error:
        # The presence sweep then goes by the heartbeats stored above.
        logger.info("Could not note CSR %s's open page: %r", user.pk, error)


def csr_page_closed(*, user: AbstractBaseUser, page_id: str) -> None:
    """A page's presence socket closed: the page no longer counts as open. The close is
    its last sign of life, so a CSR left with no page open is set Offline once
    PRESENCE_GRACE_SECONDS have passed from now, and a reload changes nothing."""
    csr_heartbeat(user=user)
    try:
        get_redis_connection("default").zrem(csr_pages_key(user.pk), page_id)
    except REDIS_ERRORS as error:
        logger.info("Could not note CSR %s's closed page: %r", user.pk, error)


@transaction.atomic
def csr_queue_join(*, user: AbstractBaseUser, queue: Queue) -> QueueMembership:
    membership = membership_lock(user_id=user.pk, queue=queue)
    if membership is None or not queue.active:
        raise RoutingError(
            "queue_not_allowed", f"You may not join the {queue.name} queue: ask an administrator."
        )
    if not membership.joined:
        membership.joined = True
        membership.joined_at = timezone.now()
        membership.save(update_fields=["joined", "joined_at"])
        route_after_commit(csr_id=user.pk)
    events.memberships_changed(user_id=user.pk)
    return membership


@transaction.atomic
def csr_queue_leave(*, user: AbstractBaseUser, queue: Queue) -> QueueMembership:
    membership = membership_lock(user_id=user.pk, queue=queue)
    if membership is None:
        raise RoutingError("queue_not_allowed", f"You are not a member of the {queue.name} queue.")
    membership.joined = False
    membership.save(update_fields=["joined"])
    events.memberships_changed(user_id=user.pk)
    return membership


def presence_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Set Offline the CSRs who have no portal page open and whose last sign of life is
    older than the grace period, then give their chats back to the queue once the
    longer grace has passed too. A page that is open keeps its CSR present even when
    its heartbeats come late (a background tab's timers are throttled)."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.PORTAL["PRESENCE_GRACE_SECONDS"])
    chat_grace = timedelta(seconds=settings.PORTAL["ACTIVE_CHAT_GRACE_SECONDS"])
    online = CSRProfile.objects.exclude(status=CSRStatus.OFFLINE)
    silent = list(
        online.filter(last_heartbeat_at__lt=now - grace).values_list("user_id", flat=True)
    ) + list(
        online.filter(
            last_heartbeat_at__isnull=True, status_changed_at__lt=now - grace
        ).values_list("user_id", flat=True)
    )
    # Unknown while Redis is down: then the heartbeats alone decide.
    open_pages = csr_open_page_counts(user_ids=silent, now=now) or {}
    set_offline = 0
    for user_id in silent:
        if open_pages.get(user_id):
            continue
        with transaction.atomic():
            pending_offer_lock(csr_id=user_id)  # the lock order: offer, then profile
            profile = profile_lock(user_id)
            alive = profile.last_heartbeat_at and profile.last_heartbeat_at >= now - grace
            if profile.status == CSRStatus.OFFLINE or alive:
                continue
            csr_status_change(
                user_id=user_id,
                status=CSRStatus.OFFLINE,
                reason=system_away_reason(DISCONNECTED_REASON_CODE),
                note="You were set Offline because your connection was lost.",
            )
            set_offline += 1
    stranded = list(
        Interaction.objects.filter(
            status=InteractionStatus.ACTIVE,
            assigned_csr__csr_profile__status=CSRStatus.OFFLINE,
            assigned_csr__csr_profile__status_changed_at__lt=now - chat_grace,
        ).values_list("id", flat=True)
    )
    requeued = sum(interaction_requeue_lost_csr(interaction_id=i) for i in stranded)
    return {"set_offline": set_offline, "requeued": requeued}


@transaction.atomic
def interaction_requeue_lost_csr(*, interaction_id: int) -> bool:
    """Put an active chat whose CSR went Offline back at the front of its queue."""
    interaction = interaction_lock(interaction_id, "assigned_csr", "queue")
    if (
        interaction is None
        or interaction.status != InteractionStatus.ACTIVE
        or interaction.assigned_csr is None
    ):
        return False
    csr = interaction.assigned_csr
    profile = CSRProfile.objects.filter(user_id=csr.pk).first()
    if profile is None or profile.status != CSRStatus.OFFLINE:
        return False
    requeue(interaction, at_front=True)
    interaction.assigned_csr = None
    interaction.save(update_fields=["status", "offered_at", "at_front", "assigned_csr"])
    requeued_notice(interaction, why=f"{display_name(csr)} lost connection", left_csr_id=csr.pk)
    chat_events.interaction_status_changed(interaction=interaction)
    events.chat_revoked(user_id=csr.pk, interaction_id=interaction.pk, reason="connection lost")
    route_after_commit(queue_id=interaction.queue_id)
    logger.info("Interaction %s back in its queue: CSR %s lost connection", interaction.pk, csr.pk)
    return True


def csr_chat_ended(*, user_id: int) -> None:
    """A CSR's chat ended (inside its transaction): they are idle again if it was their
    last, and have room for the next waiting chat."""
    if not csr_active_chat_counts(user_ids=[user_id]).get(user_id):
        CSRProfile.objects.filter(user_id=user_id).update(idle_since=timezone.now())
    route_after_commit(csr_id=user_id)
