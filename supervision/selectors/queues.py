"""The Queues page: per queue, waiting chats and the longest wait against its service
level, active chats, its CSRs by status, occupancy, the last hour's offers and today's
average wait. All queues in a fixed number of queries (no query per queue).

Definitions (the same as reports'): wait = escalation (the interaction's creation) →
accepted by a CSR; the longest wait of a chat still waiting counts from when it joined
this queue's line (`queued_at`: a transfer puts it back in line); occupancy = active
chats held by the queue's CSRs ÷ the sum of those CSRs' capacities, where the queue's
CSRs are its members who joined it and are not Offline; offers accepted / declined /
missed (expired) are routing's offers of the queue answered in the last hour."""

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Min
from django.utils import timezone

from chat.models import WAITING_INTERACTION_STATUSES, Interaction, InteractionStatus
from chat.selectors.settings import app_studio_settings_get
from routing.models import CSRStatus, Offer, OfferStatus, Queue, QueueMembership
from routing.selectors.wrapups import csr_busy_counts
from supervision.selectors.clock import an_hour_ago, iso, start_of_today

OFFER_COUNTED: dict[str, str] = {
    OfferStatus.ACCEPTED: "offers_accepted",
    OfferStatus.DECLINED: "offers_declined",
    OfferStatus.EXPIRED: "offers_missed",
}


def csr_memberships_joined(queue_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """Joined memberships with the CSR's status and capacity (one query)."""
    rows = QueueMembership.objects.filter(joined=True, queue__active=True)
    if queue_ids is not None:
        rows = rows.filter(queue_id__in=queue_ids)
    return [
        dict(row)
        for row in rows.values(
            "queue_id", "user_id", "user__csr_profile__status", "user__csr_profile__capacity"
        )
    ]


def active_counts_by_csr() -> dict[int, int]:
    """Places each CSR has taken: active chats and chats in wrap-up (routing's count)."""
    return csr_busy_counts()


def queue_rows(*, queues: list[Queue], now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per queue of `queues` (see the module's definitions)."""
    now = now or timezone.now()
    ids = [queue.pk for queue in queues]
    default_capacity = app_studio_settings_get().default_csr_capacity
    waiting = {
        row["queue_id"]: row
        for row in Interaction.objects.filter(
            queue_id__in=ids, status__in=WAITING_INTERACTION_STATUSES
        )
        .values("queue_id")
        .annotate(n=Count("id"), oldest=Min("queued_at"))
    }
    active = {
        row["queue_id"]: row["n"]
        for row in Interaction.objects.filter(queue_id__in=ids, status=InteractionStatus.ACTIVE)
        .values("queue_id")
        .annotate(n=Count("id"))
    }
    held = active_counts_by_csr()
    members: dict[int, dict[str, int]] = defaultdict(
        lambda: {"joined": 0, "available": 0, "away": 0, "offline": 0, "held": 0, "capacity": 0}
    )
    for row in csr_memberships_joined(ids):
        counts = members[row["queue_id"]]
        status = row["user__csr_profile__status"] or CSRStatus.OFFLINE
        counts["joined"] += 1
        counts[status] += 1
        if status != CSRStatus.OFFLINE:
            counts["held"] += held.get(row["user_id"], 0)
            counts["capacity"] += row["user__csr_profile__capacity"] or default_capacity
    offers: dict[int, dict[str, int]] = defaultdict(dict)
    for answered in (
        Offer.objects.filter(
            queue_id__in=ids, status__in=list(OFFER_COUNTED), responded_at__gte=an_hour_ago(now)
        )
        .values("queue_id", "status")
        .annotate(n=Count("id"))
    ):
        offers[answered["queue_id"]][OFFER_COUNTED[answered["status"]]] = answered["n"]
    waits = {
        row["queue_id"]: row["wait"]
        for row in Interaction.objects.filter(
            queue_id__in=ids, accepted_at__gte=start_of_today(now)
        )
        .values("queue_id")
        .annotate(
            wait=Avg(
                ExpressionWrapper(F("accepted_at") - F("created_at"), output_field=DurationField())
            )
        )
    }
    rows = []
    for queue in queues:
        counts = members[queue.pk]
        line = waiting.get(queue.pk)
        today = waits.get(queue.pk)
        rows.append(
            {
                "id": queue.pk,
                "name": queue.name,
                "service_level_seconds": queue.service_level_seconds,
                "waiting": line["n"] if line else 0,
                "oldest_queued_at": iso(line["oldest"]) if line else None,
                "active": active.get(queue.pk, 0),
                "csrs_joined": counts["joined"],
                "csrs_available": counts["available"],
                "csrs_away": counts["away"],
                "csrs_offline": counts["offline"],
                "held": counts["held"],
                "capacity": counts["capacity"],
                "occupancy": round(counts["held"] / counts["capacity"], 3)
                if counts["capacity"]
                else None,
                "offers_accepted": offers[queue.pk].get("offers_accepted", 0),
                "offers_declined": offers[queue.pk].get("offers_declined", 0),
                "offers_missed": offers[queue.pk].get("offers_missed", 0),
                "avg_wait_today_seconds": round(today.total_seconds())
                if today is not None
                else None,
            }
        )
    return rows


def queue_members(*, queue: Queue) -> list[dict[str, Any]]:
    """Every CSR who is a member of the queue (joined or not), for adding and removing."""
    return [
        dict(row)
        for row in QueueMembership.objects.filter(queue=queue)
        .order_by("user__first_name", "user__username")
        .values("user_id", "joined", "user__username", "user__first_name", "user__last_name")
    ]
