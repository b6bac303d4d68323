"""Keeping the facts up to date: a closed chat's facts are written when it closes (a
task queued on commit) and again by the scheduled rollup, which recomputes every chat
closed in a window. Both replace what was there, so any run may be repeated."""

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from chat.models import Interaction, InteractionStatus, Message, SatisfactionRating, SenderKind
from reports.metrics import FACT_EVENTS, QueueTarget, chat_facts_compute
from reports.models import (
    WAIT_BUCKETS,
    ChatFact,
    DailyOfferStats,
    DailyStats,
    OfferFact,
    OfferOutcome,
    RollupDay,
)
from reports.selectors.figures import AVERAGED, FACT_SUMS
from reports.selectors.filters import report_time_zone
from routing.models import Offer, Queue, Wrapup

logger = logging.getLogger(__name__)

BATCH = 1000
CLOSED = (InteractionStatus.ENDED, InteractionStatus.ABANDONED)

INTERACTION_FIELDS = (
    "id",
    "status",
    "created_at",
    "accepted_at",
    "ended_at",
    "ended_by",
    "queue_id",
    "channel_id",
    "assigned_csr_id",
    "sentiment_label",
    "sentiment_score",
    "sentiment_seq",
)
OFFER_FIELDS = (
    "id",
    "interaction_id",
    "csr_id",
    "queue_id",
    "status",
    "reason",
    "created_at",
    "responded_at",
    "transferred_by_id",
)
MESSAGE_FIELDS = (
    "interaction_id",
    "seq",
    "sender_kind",
    "event",
    "data",
    "internal",
    "sentiment_score",
    "created_at",
)


def queue_targets() -> tuple[dict[str, QueueTarget], dict[int, QueueTarget]]:
    """Every queue's service-level target, by slug and by id."""
    by_slug, by_id = {}, {}
    for pk, slug, seconds in Queue.objects.values_list("id", "slug", "service_level_seconds"):
        by_slug[slug] = by_id[pk] = QueueTarget(id=pk, service_level_seconds=seconds)
    return by_slug, by_id


def facts_refresh(*, interaction_ids: Iterable[int]) -> int:
    """Recompute the facts of these interactions (those closed; open ones are left out);
    returns how many chats' facts were written."""
    ids = sorted(set(interaction_ids))
    queues, queues_by_id = queue_targets()
    written = 0
    for start in range(0, len(ids), BATCH):
        written += _refresh_batch(ids[start : start + BATCH], queues, queues_by_id)
    return written


def _refresh_batch(ids: list[int], queues, queues_by_id) -> int:
    interactions = list(
        Interaction.objects.filter(pk__in=ids, status__in=CLOSED).values(*INTERACTION_FIELDS)
    )
    closed = [row["id"] for row in interactions]
    offers: dict[int, list[dict]] = defaultdict(list)
    for offer in Offer.objects.filter(interaction_id__in=closed).values(*OFFER_FIELDS):
        offers[offer["interaction_id"]].append(offer)
    messages: dict[int, list[dict]] = defaultdict(list)
    wanted = (
        Q(event__in=FACT_EVENTS)
        | Q(sender_kind=SenderKind.CSR, internal=False)
        | Q(sender_kind=SenderKind.CUSTOMER, sentiment_score__isnull=False)
    )
    rows = (
        Message.objects.filter(interaction_id__in=closed, pre_escalation=False)
        .filter(wanted)
        .order_by("interaction_id", "seq")
        .values(*MESSAGE_FIELDS)
    )
    for message in rows:
        messages[message["interaction_id"]].append(message)
    dispositions = dict(
        Wrapup.objects.filter(interaction_id__in=closed, code__isnull=False).values_list(
            "interaction_id", "code_id"
        )
    )
    ratings = dict(
        SatisfactionRating.objects.filter(interaction_id__in=closed).values_list(
            "interaction_id", "rating"
        )
    )
    chat_facts, offer_facts = [], []
    for row in interactions:
        fact, offer_rows = chat_facts_compute(
            interaction=row,
            offers=offers[row["id"]],
            messages=messages[row["id"]],
            queues=queues,
            queues_by_id=queues_by_id,
            disposition_id=dispositions.get(row["id"]),
            csat_asked=row["id"] in ratings,
            csat_rating=ratings.get(row["id"]),
        )
        chat_facts.append(fact)
        offer_facts += offer_rows
    with transaction.atomic():
        ChatFact.objects.filter(interaction_id__in=ids).delete()
        OfferFact.objects.filter(interaction_id__in=ids).delete()
        ChatFact.objects.bulk_create(chat_facts, batch_size=BATCH)
        OfferFact.objects.bulk_create(offer_facts, batch_size=BATCH)
    tz = report_time_zone()
    days_rebuild(
        days={f.escalated_at.astimezone(tz).date() for f in chat_facts}
        | {o.offered_at.astimezone(tz).date() for o in offer_facts},
        tz=tz,
    )
    return len(chat_facts)


def wait_bucket_q(lower: float | None, upper: float | None) -> Q:
    """The chat facts whose wait falls in the histogram bucket (lower, upper]."""
    q = Q(wait_seconds__isnull=False)
    if lower is not None:
        q &= Q(wait_seconds__gt=lower)
    if upper is not None:
        q &= Q(wait_seconds__lte=upper)
    return q


# The daily table's sums, from the facts of one day (prefixed: an aggregate may not take
# the name of a field of the model).
DAILY_SUMS = {
    **FACT_SUMS,
    **{f"{n}_sum": Coalesce(Sum(f"{n}_seconds"), 0.0) for n in AVERAGED},
    **{f"{n}_n": Count(f"{n}_seconds") for n in AVERAGED},
    **{
        name: Count("pk", filter=wait_bucket_q(lower, upper)) for name, lower, upper in WAIT_BUCKETS
    },
}
DAILY_OFFER_SUMS = {
    "offers_made": Count("pk"),
    "offers_accepted": Count("pk", filter=Q(outcome=OfferOutcome.ACCEPTED)),
    "offers_declined": Count("pk", filter=Q(outcome=OfferOutcome.DECLINED)),
    "offers_missed": Count("pk", filter=Q(outcome=OfferOutcome.MISSED)),
    "offers_withdrawn": Count("pk", filter=Q(outcome=OfferOutcome.WITHDRAWN)),
}
DIMENSIONS = ("queue_id", "channel_id", "csr_id")


def days_rebuild(*, days: Iterable[date], tz: ZoneInfo | None = None) -> None:
    """Rebuild the daily tables of these local days from the facts, one transaction per
    day with the day's RollupDay row locked (two rebuilds of a day never interleave)."""
    tz = tz or report_time_zone()
    for day in sorted(set(days)):
        since = datetime.combine(day, time.min, tz)
        until = datetime.combine(day + timedelta(days=1), time.min, tz)
        with transaction.atomic():
            RollupDay.objects.get_or_create(day=day)
            RollupDay.objects.filter(day=day).update(rebuilt_at=timezone.now())  # the lock
            DailyStats.objects.filter(day=day).delete()
            DailyOfferStats.objects.filter(day=day).delete()
            chats = (
                ChatFact.objects.filter(escalated_at__gte=since, escalated_at__lt=until)
                .values(*DIMENSIONS)
                .annotate(**{f"d_{k}": v for k, v in DAILY_SUMS.items()})
                .order_by()
            )
            DailyStats.objects.bulk_create(
                [DailyStats(day=day, **_unprefixed(row)) for row in chats], batch_size=BATCH
            )
            offers = (
                OfferFact.objects.filter(offered_at__gte=since, offered_at__lt=until)
                .values(*DIMENSIONS)
                .annotate(**{f"d_{k}": v for k, v in DAILY_OFFER_SUMS.items()})
                .order_by()
            )
            DailyOfferStats.objects.bulk_create(
                [DailyOfferStats(day=day, **_unprefixed(row)) for row in offers],
                batch_size=BATCH,
            )


def _unprefixed(row: dict) -> dict:
    return {key.removeprefix("d_"): value for key, value in row.items()}


def days_rebuild_range(*, start: date, end: date) -> None:
    """Rebuild the daily tables of every local day from start to end (both included):
    after the time zone changed, or after facts were written without them."""
    days = (end - start).days + 1
    days_rebuild(days=[start + timedelta(days=n) for n in range(days)])


def facts_rollup(*, start: datetime, end: datetime) -> int:
    """Recompute the facts of every chat that closed in [start, end)."""
    ids = Interaction.objects.filter(
        status__in=CLOSED, ended_at__gte=start, ended_at__lt=end
    ).values_list("id", flat=True)
    written = facts_refresh(interaction_ids=ids.iterator(chunk_size=BATCH))
    logger.info(
        "Reports rollup from %s to %s: %s chats", start.isoformat(), end.isoformat(), written
    )
    return written


def facts_rollup_recent(*, hours: float = 2) -> int:
    """The scheduled backstop: chats closed in the last `hours` (a lost task, a sentiment
    score stored after the chat closed)."""
    now = timezone.now()
    return facts_rollup(start=now - timedelta(hours=hours), end=now + timedelta(seconds=1))
