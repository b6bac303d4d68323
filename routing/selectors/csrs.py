"""Reads of CSRs: their presence, capacity, queues, pending offer and who can take a
transferred chat."""

import logging
from collections.abc import Iterable
from datetime import datetime

from django.core.cache import cache
from django.db.models import Q
from django_redis import get_redis_connection

from chat.models import Interaction, InteractionStatus
from chat.selectors.settings import app_studio_settings_get
from config.redis import REDIS_ERRORS
from config.users import Role, display_name
from routing.models import AwayReason, CSRProfile, CSRStatus, Offer, OfferStatus, QueueMembership
from routing.selectors.wrapups import csr_busy_counts

logger = logging.getLogger(__name__)

# A portal page's presence socket counts as open until it closes, or until it has sent
# nothing for this long: the server process holding it died without closing it. Longer
# than the presence grace because a browser tab in the background may send its 10 s
# heartbeat only once a minute (Chrome's intensive timer throttling).
OPEN_PAGE_SECONDS = 120


def csr_pages_key(user_id: int) -> str:
    """The Redis sorted set of the CSR's open portal pages: page id → last sign of life
    (Unix time). Shared by every server process."""
    return cache.make_key(f"presence-pages:{user_id}")


def csr_open_page_counts(*, user_ids: Iterable[int], now: datetime) -> dict[int, int] | None:
    """How many portal pages each CSR has open (sockets heard from within
    OPEN_PAGE_SECONDS of `now`), across every server process; CSRs with none are left
    out. None while Redis cannot be reached: the caller goes by heartbeats alone."""
    ids = list(user_ids)
    if not ids:
        return {}
    since = now.timestamp() - OPEN_PAGE_SECONDS
    try:
        pipe = get_redis_connection("default").pipeline(transaction=False)
        for user_id in ids:
            pipe.zcount(csr_pages_key(user_id), since, "+inf")
        counts = pipe.execute()
    except REDIS_ERRORS as error:
        logger.warning("Open portal pages unknown, Redis is unreachable: %r", error)
        return None
    return {user_id: count for user_id, count in zip(ids, counts, strict=True) if count}


def csr_capacity(*, profile: CSRProfile | None) -> int:
    if profile is not None and profile.capacity:
        return profile.capacity
    return app_studio_settings_get().default_csr_capacity


def csr_active_chat_counts(*, user_ids: Iterable[int]) -> dict[int, int]:
    """The places each CSR has taken: active chats and chats in wrap-up."""
    return csr_busy_counts(user_ids=user_ids)


def csr_active_chat_ids(*, user_id: int) -> list[int]:
    """The CSR's active chats, oldest accepted first."""
    return list(
        Interaction.objects.filter(status=InteractionStatus.ACTIVE, assigned_csr_id=user_id)
        .order_by("accepted_at", "id")
        .values_list("id", flat=True)
    )


def csr_joined_queue_ids(*, user_id: int) -> list[int]:
    """The queues the CSR joined, by id."""
    return list(
        QueueMembership.objects.filter(user_id=user_id, joined=True)
        .order_by("queue_id")
        .values_list("queue_id", flat=True)
    )


def csr_pending_offer(*, user_id: int) -> Offer | None:
    return (
        Offer.objects.filter(csr_id=user_id, status=OfferStatus.PENDING)
        .select_related("interaction__customer", "interaction__channel", "queue", "transferred_by")
        .first()
    )


def csr_missed_in_a_row(*, user_id: int, since: datetime, at_most: int) -> int:
    """How many of the CSR's offers made since `since` (when they last became Available)
    went unanswered in a row, counting back from the latest to the last one they
    answered (accepted or declined); withdrawn offers neither count nor end the run.
    Counts up to `at_most`."""
    answered = (
        Offer.objects.filter(csr_id=user_id, created_at__gte=since)
        .exclude(status__in=[OfferStatus.PENDING, OfferStatus.WITHDRAWN])
        .order_by("-created_at", "-pk")
        .values_list("status", flat=True)[:at_most]
    )
    missed = 0
    for status in answered:
        if status != OfferStatus.EXPIRED:
            break
        missed += 1
    return missed


def csr_has_pending_offer(*, user_id: int) -> bool:
    return Offer.objects.filter(csr_id=user_id, status=OfferStatus.PENDING).exists()


def csr_memberships(*, user_id: int) -> list[QueueMembership]:
    return list(
        QueueMembership.objects.filter(user_id=user_id, queue__active=True)
        .select_related("queue")
        .order_by("-queue__priority", "queue__name")
    )


def away_reasons_selectable() -> list[AwayReason]:
    return list(AwayReason.objects.filter(active=True, system=False))


def csr_profile_or_default(*, user_id: int) -> CSRProfile:
    """The CSR's profile, or an unsaved Offline one for a CSR who never went online."""
    profile = CSRProfile.objects.select_related("away_reason").filter(user_id=user_id).first()
    return profile or CSRProfile(user_id=user_id, status=CSRStatus.OFFLINE)


def transfer_targets_csrs(*, exclude_user_id: int, search: str = "") -> list[dict]:
    """CSRs who could take a transfer of a chat right now: Available, with room, and
    not already considering another offer."""
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
                "name": display_name(user),
                "active_chats": busy,
                "capacity": capacity,
            }
        )
    return targets
