"""The CSRs page: per CSR, status and since when, the Away reason, active chats against
capacity, today's handled chats, average handle time and missed offers, and the chats
they hold. All CSRs in a fixed number of queries.

Definitions (the same as reports'): handled today = offers the CSR accepted today;
handle time = accepted → ended, over the chats they ended today; missed = offers of
theirs that expired unanswered today."""

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Avg, Count
from django.utils import timezone

from chat.models import Interaction, InteractionStatus, SatisfactionRating
from chat.selectors.settings import app_studio_settings_get
from config.users import Role
from routing.models import CSRStatus, Offer, OfferStatus, QueueMembership
from routing.selectors.wrapups import csr_busy_counts
from supervision.selectors.clock import iso, seconds_between, start_of_today


def _csr_users(scope: frozenset[int] | None):
    users = get_user_model().objects.filter(is_active=True, groups__name=Role.CSR.value)
    if scope is not None:
        users = users.filter(queue_memberships__queue_id__in=scope)
    return users.distinct()


def held_chats(*, csr_ids: list[int] | None = None) -> dict[int, list[dict[str, Any]]]:
    """The active chats per CSR: customer, queue, since when, sentiment."""
    chats = Interaction.objects.filter(status=InteractionStatus.ACTIVE, assigned_csr__isnull=False)
    if csr_ids is not None:
        chats = chats.filter(assigned_csr_id__in=csr_ids)
    held: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in chats.order_by("accepted_at", "pk").values(
        "pk",
        "assigned_csr_id",
        "customer_name",
        "queue_id",
        "queue__name",
        "accepted_at",
        "sentiment_label",
    ):
        held[row["assigned_csr_id"]].append(
            {
                "id": row["pk"],
                "customer": row["customer_name"],
                "queue_id": row["queue_id"],
                "queue": row["queue__name"],
                "accepted_at": iso(row["accepted_at"]),
                "sentiment": row["sentiment_label"] or "",
            }
        )
    return held


def csr_rows(
    *, scope: frozenset[int] | None = None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """One row per active CSR (in the manager's queues when `scope` is set)."""
    now = now or timezone.now()
    today = start_of_today(now)
    default_capacity = app_studio_settings_get().default_csr_capacity
    users = list(
        _csr_users(scope)
        .select_related("csr_profile__away_reason")
        .order_by("first_name", "last_name", "username")
    )
    ids = [user.pk for user in users]
    queues: dict[int, list[int]] = defaultdict(list)
    for user_id, queue_id in QueueMembership.objects.filter(user_id__in=ids).values_list(
        "user_id", "queue_id"
    ):
        queues[user_id].append(queue_id)
    offers: dict[int, dict[str, int]] = defaultdict(dict)
    for row in (
        Offer.objects.filter(
            csr_id__in=ids,
            status__in=[OfferStatus.ACCEPTED, OfferStatus.EXPIRED],
            responded_at__gte=today,
        )
        .values("csr_id", "status")
        .annotate(n=Count("id"))
    ):
        offers[row["csr_id"]][row["status"]] = row["n"]
    handle: dict[int, list[float]] = defaultdict(list)
    for csr_id, accepted_at, ended_at in Interaction.objects.filter(
        assigned_csr_id__in=ids, status=InteractionStatus.ENDED, ended_at__gte=today
    ).values_list("assigned_csr_id", "accepted_at", "ended_at"):
        seconds = seconds_between(accepted_at, ended_at)
        if seconds is not None:
            handle[csr_id].append(seconds)
    # The customers' satisfaction ratings answered today, per CSR who had the chat.
    ratings = {
        row["interaction__assigned_csr_id"]: row
        for row in SatisfactionRating.objects.filter(
            interaction__assigned_csr_id__in=ids, answered_at__gte=today
        )
        .values("interaction__assigned_csr_id")
        .annotate(avg=Avg("rating"), n=Count("id"))
    }
    held = held_chats(csr_ids=ids)
    in_wrapup = csr_busy_counts(user_ids=ids)
    rows = []
    for user in users:
        profile = getattr(user, "csr_profile", None)
        status = profile.status if profile else CSRStatus.OFFLINE
        reason = profile.away_reason if profile and status == CSRStatus.AWAY else None
        times = handle.get(user.pk)
        rows.append(
            {
                "id": user.pk,
                "name": (user.get_full_name() or user.get_username()).strip(),
                "username": user.get_username(),
                "status": status,
                "status_changed_at": iso(profile.status_changed_at) if profile else None,
                "away_reason": reason.label if reason else "",
                "capacity": (profile.capacity if profile else None) or default_capacity,
                "capacity_set": bool(profile and profile.capacity),
                "chats": held.get(user.pk, []),
                # Ended chats whose wrap-up is open still take one of the CSR's places.
                "wrapups": in_wrapup.get(user.pk, 0) - len(held.get(user.pk, [])),
                "handled_today": offers[user.pk].get(OfferStatus.ACCEPTED, 0),
                "avg_handle_seconds": round(sum(times) / len(times)) if times else None,
                "missed_today": offers[user.pk].get(OfferStatus.EXPIRED, 0),
                "avg_rating_today": (
                    round(ratings[user.pk]["avg"], 1) if user.pk in ratings else None
                ),
                "ratings_today": ratings[user.pk]["n"] if user.pk in ratings else 0,
                "queue_ids": sorted(queues.get(user.pk, [])),
            }
        )
    return rows
