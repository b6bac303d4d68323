"""The figures of a report, read from the fact tables (never from the messages):
totals, a table per grouping (period, queue, channel, CSR), offer outcomes, decline
reasons and what is live right now. Definitions: docs/reports.md."""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Aggregate, Avg, Count, F, FloatField, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate, TruncHour
from django.utils import timezone

from chat.models import Channel, Interaction, InteractionStatus
from chat.selectors.settings import app_studio_settings_get
from config.users import display_name
from reports.models import (
    WAIT_BUCKETS,
    ChatFact,
    DailyOfferStats,
    DailyStats,
    EndedBy,
    OfferFact,
    OfferOutcome,
    PresenceSpan,
)
from reports.selectors.filters import ReportFilters
from routing.models import CSRProfile, CSRStatus, Queue
from routing.selectors.wrapups import csr_busy_counts


class Group:
    PERIOD = "period"
    QUEUE = "queue"
    CHANNEL = "channel"
    CSR = "csr"
    ALL = (PERIOD, QUEUE, CHANNEL, CSR)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    unit: str = ""  # "s" seconds, "%" percent, "" a count


# Every figure of a chat-fact row, in the order the tables show them.
CHAT_COLUMNS = (
    Column("escalations", "Escalations"),
    Column("answered", "Answered"),
    Column("abandoned", "Abandoned"),
    Column("wait_avg", "Average wait", "s"),
    Column("wait_p90", "Wait p90", "s"),
    Column("service_level", "Service level", "%"),
    Column("first_response_avg", "Average first response", "s"),
    Column("handle_avg", "Average handle time", "s"),
    Column("transfers_to_csr", "Transfers to a CSR"),
    Column("transfers_to_queue", "Transfers to a queue"),
    Column("ended_by_csr", "Ended by the CSR"),
    Column("ended_by_customer", "Ended by the customer"),
    Column("ended_by_system", "Ended by the system"),
    Column("sentiment_positive", "Ended positive"),
    Column("sentiment_neutral", "Ended neutral"),
    Column("sentiment_negative", "Ended negative"),
    Column("sentiment_improved_share", "Ended better than started", "%"),
    Column("auth_requests", "Authentication requests"),
    Column("auth_successes", "Authentications"),
    Column("cobrowse_sessions", "Co-browse sessions"),
    Column("occupancy", "Occupancy", "%"),
)
OFFER_COLUMNS = (
    Column("offers_made", "Offers made"),
    Column("offers_accepted", "Accepted"),
    Column("offers_declined", "Declined"),
    Column("offers_missed", "Missed"),
    Column("offers_withdrawn", "Withdrawn"),
)
COLUMNS = {c.key: c for c in CHAT_COLUMNS + OFFER_COLUMNS}
# What a drill-down into a figure lists: the chats it counted.
DRILL_CONDITIONS: dict[str, Q] = {
    "answered": Q(answered=True),
    "abandoned": Q(abandoned=True),
    "wait_avg": Q(answered=True),
    "wait_p90": Q(answered=True),
    "service_level": Q(answered=True),
    "first_response_avg": Q(first_response_seconds__isnull=False),
    "handle_avg": Q(answered=True),
    "transfers_to_csr": Q(transfers_to_csr__gt=0),
    "transfers_to_queue": Q(transfers_to_queue__gt=0),
    "ended_by_csr": Q(ended_by=EndedBy.CSR),
    "ended_by_customer": Q(ended_by=EndedBy.CUSTOMER),
    "ended_by_system": Q(ended_by=EndedBy.SYSTEM),
    "sentiment_positive": Q(sentiment_end="positive"),
    "sentiment_neutral": Q(sentiment_end="neutral"),
    "sentiment_negative": Q(sentiment_end="negative"),
    "sentiment_improved_share": Q(sentiment_improved__isnull=False),
    "auth_requests": Q(auth_requests__gt=0),
    "auth_successes": Q(auth_successes__gt=0),
    "cobrowse_sessions": Q(cobrowse_sessions__gt=0),
    "occupancy": Q(answered=True),
}
OFFER_DRILL = {
    "offers_accepted": OfferOutcome.ACCEPTED,
    "offers_declined": OfferOutcome.DECLINED,
    "offers_missed": OfferOutcome.MISSED,
    "offers_withdrawn": OfferOutcome.WITHDRAWN,
}

# The figures that add up, over chat facts; the daily table holds one column of each
# (reports.services.rollup.days_rebuild).
FACT_SUMS = {
    "escalations": Count("pk"),
    "answered": Count("pk", filter=Q(answered=True)),
    "abandoned": Count("pk", filter=Q(abandoned=True)),
    "within_service_level": Count("pk", filter=Q(within_service_level=True)),
    "transfers_to_csr": Coalesce(Sum("transfers_to_csr"), 0),
    "transfers_to_queue": Coalesce(Sum("transfers_to_queue"), 0),
    "ended_by_csr": Count("pk", filter=Q(ended_by=EndedBy.CSR)),
    "ended_by_customer": Count("pk", filter=Q(ended_by=EndedBy.CUSTOMER)),
    "ended_by_system": Count("pk", filter=Q(ended_by=EndedBy.SYSTEM)),
    "sentiment_positive": Count("pk", filter=Q(sentiment_end="positive")),
    "sentiment_neutral": Count("pk", filter=Q(sentiment_end="neutral")),
    "sentiment_negative": Count("pk", filter=Q(sentiment_end="negative")),
    "sentiment_improved": Count("pk", filter=Q(sentiment_improved=True)),
    "sentiment_compared": Count("pk", filter=Q(sentiment_improved__isnull=False)),
    "auth_requests": Coalesce(Sum("auth_requests"), 0),
    "auth_successes": Coalesce(Sum("auth_successes"), 0),
    "cobrowse_sessions": Coalesce(Sum("cobrowse_sessions"), 0),
}
AVERAGED = ("wait", "first_response", "handle")
# Named with a prefix: an aggregate may not take the name of a field of the model.
CHAT_AGGREGATES = {
    **{f"agg_{key}": value for key, value in FACT_SUMS.items()},
    **{f"agg_{n}_avg": Avg(f"{n}_seconds") for n in AVERAGED},
}
# The same figures summed from the daily table (averages from their sums and counts).
DAILY_AGGREGATES = {
    **{f"agg_{key}": Coalesce(Sum(key), 0) for key in FACT_SUMS},
    **{f"agg_{n}_sum": Sum(f"{n}_sum") for n in AVERAGED},
    **{f"agg_{n}_n": Sum(f"{n}_n") for n in AVERAGED},
    **{f"agg_{name}": Coalesce(Sum(name), 0) for name, _, _ in WAIT_BUCKETS},
}
# Ranges up to this long get the exact wait p90 from the facts; longer ones, the p90 of
# the daily wait histograms (a percentile cannot be summed from days; a histogram can).
P90_MAX_DAYS = 31
OFFER_AGGREGATES = {
    "offers_made": Count("pk"),
    **{
        key: Count("pk", filter=Q(outcome=outcome))
        for key, outcome in (
            ("offers_accepted", OfferOutcome.ACCEPTED),
            ("offers_declined", OfferOutcome.DECLINED),
            ("offers_missed", OfferOutcome.MISSED),
            ("offers_withdrawn", OfferOutcome.WITHDRAWN),
        )
    },
}


class WaitP90(Aggregate):
    """PostgreSQL's percentile_disc(0.9): the nearest-rank 90th percentile, the same as
    wait_p90 below, computed inside a grouped query (unanswered chats have no wait)."""

    function = "percentile_disc"
    template = "%(function)s(0.9) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def _in_sql_p90() -> bool:
    return connection.vendor == "postgresql"


def _share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    """The derived figures of an aggregated row."""
    row = {key.removeprefix("agg_"): value for key, value in row.items()}
    for n in AVERAGED:
        if f"{n}_n" in row:
            total, count = row.pop(f"{n}_sum"), row.pop(f"{n}_n")
            row[f"{n}_avg"] = total / count if count else None
    if WAIT_BUCKETS[0][0] in row:
        row["wait_p90"] = wait_p90_from_buckets([row.pop(name) for name, _, _ in WAIT_BUCKETS])
    row["service_level"] = _share(row.pop("within_service_level", 0), row.get("escalations", 0))
    row["sentiment_improved_share"] = _share(
        row.pop("sentiment_improved", 0), row.pop("sentiment_compared", 0)
    )
    for key in ("wait_avg", "wait_p90", "first_response_avg", "handle_avg"):
        if row.get(key) is not None:
            row[key] = round(row[key], 1)
    return row


def _whole_days(filters: ReportFilters) -> bool:
    """Reports of whole days read the daily tables; hourly ones, the facts."""
    return not filters.hourly and filters.hour is None


def _day_q(filters: ReportFilters, *, csr: bool = True) -> Q:
    q = Q(day__gte=filters.start, day__lte=filters.end)
    for key in ("queue", "channel") + (("csr",) if csr else ()):
        value = getattr(filters, f"{key}_id")
        if value:
            q &= Q(**{f"{key}_id": value})
    return q


def _chat_source(filters: ReportFilters) -> tuple[QuerySet, dict[str, Any]]:
    if _whole_days(filters):
        return DailyStats.objects.filter(_day_q(filters)), DAILY_AGGREGATES
    return chat_facts(filters), CHAT_AGGREGATES


def _offer_source(filters: ReportFilters) -> tuple[QuerySet, dict[str, Any]]:
    if _whole_days(filters):
        return DailyOfferStats.objects.filter(_day_q(filters)), {
            f"agg_{name}": Coalesce(Sum(name), 0) for name in OFFER_AGGREGATES
        }
    return offer_facts(filters), {f"agg_{k}": v for k, v in OFFER_AGGREGATES.items()}


def _strip(row: dict[str, Any]) -> dict[str, Any]:
    return {key.removeprefix("agg_"): value for key, value in row.items()}


def _p90_wanted(filters: ReportFilters) -> bool:
    return filters.days <= P90_MAX_DAYS


def chat_facts(filters: ReportFilters) -> QuerySet[ChatFact]:
    return ChatFact.objects.filter(filters.q("escalated_at"))


def offer_facts(filters: ReportFilters) -> QuerySet[OfferFact]:
    return OfferFact.objects.filter(filters.q("offered_at"))


def wait_p90(facts: QuerySet[ChatFact]) -> float | None:
    """The 90th percentile of the waits of answered chats (nearest rank)."""
    answered = facts.filter(answered=True, wait_seconds__isnull=False)
    n = answered.count()
    if not n:
        return None
    rank = math.ceil(0.9 * n) - 1
    value = answered.order_by("wait_seconds").values_list("wait_seconds", flat=True)[rank]
    return None if value is None else round(value, 1)


def wait_p90_from_buckets(counts: list[int]) -> float | None:
    """The nearest-rank 90th percentile of a wait histogram (counts in the order of
    WAIT_BUCKETS), to the histogram's resolution: the upper edge of the bucket holding
    the ⌈0.9 × n⌉-th smallest wait (the last bucket, which has none, gives its lower
    edge)."""
    rank = math.ceil(0.9 * sum(counts))
    if not rank:
        return None
    seen = 0
    for (_, lower, upper), count in zip(WAIT_BUCKETS, counts, strict=True):
        seen += count
        if seen >= rank:
            return float(upper if upper is not None else lower or 0)
    return None


class RangeSums:
    """The daily rows of a report's range summed per queue × channel × CSR (a few hundred
    rows, however long the range), read once and shared by its totals and its tables by
    queue, channel and CSR, which add them up by their key; and its occupancy by CSR.
    Only for reports of whole days (the daily tables)."""

    def __init__(self, filters: ReportFilters) -> None:
        self.filters = filters
        self._chats: list[dict[str, Any]] | None = None
        self._offers: list[dict[str, Any]] | None = None
        self._occupancy: dict[int | None, float | None] | None = None
        self._chats_by: dict[str | None, dict[Any, dict[str, Any]]] = {}

    def chats(self, key: str | None) -> dict[Any, dict[str, Any]]:
        """The chat figures (DAILY_AGGREGATES) by `key` ("queue_id", "channel_id",
        "csr_id"), or in all under None."""
        if key in self._chats_by:
            return self._chats_by[key]
        if self._chats is None:
            self._chats = list(
                DailyStats.objects.filter(_day_q(self.filters))
                .values(*DIMENSIONS)
                .annotate(**DAILY_AGGREGATES)
                .order_by()
            )
        self._chats_by[key] = _summed(self._chats, key, DAILY_AGGREGATES)
        return self._chats_by[key]

    def offers(self, key: str | None) -> dict[Any, dict[str, Any]]:
        """The offer figures (OFFER_AGGREGATES, unprefixed) by `key`, as chats()."""
        if self._offers is None:
            self._offers = list(
                DailyOfferStats.objects.filter(_day_q(self.filters))
                .values(*DIMENSIONS)
                .annotate(**{f"agg_{name}": Coalesce(Sum(name), 0) for name in OFFER_AGGREGATES})
                .order_by()
            )
        summed = _summed(self._offers, key, {f"agg_{name}": 0 for name in OFFER_AGGREGATES})
        return {k: _strip(row) for k, row in summed.items()}

    def occupancy(self) -> dict[int | None, float | None]:
        if self._occupancy is None:
            busy = {
                csr_id: row["agg_handle_sum"]
                for csr_id, row in self.chats("csr_id").items()
                if csr_id is not None
            }
            self._occupancy = occupancy(self.filters, busy=busy)
        return self._occupancy


DIMENSIONS = ("queue_id", "channel_id", "csr_id")


def _summed(
    rows: list[dict[str, Any]], key: str | None, names: Iterable[str]
) -> dict[Any, dict[str, Any]]:
    """Rows of sums added up by `key` (in all under None, even with no rows)."""
    names = list(names)
    out: dict[Any, dict[str, Any]] = {} if key else {None: dict.fromkeys(names, 0)}
    for row in rows:
        total = out.setdefault(row[key] if key else None, dict.fromkeys(names, 0))
        for name in names:
            total[name] += row[name] or 0
    return out


def totals(filters: ReportFilters, *, sums: RangeSums | None = None) -> dict[str, Any]:
    """Every figure over the whole range (`sums`: the range's, when the caller shares
    them between its totals and tables)."""
    sums = (sums or RangeSums(filters)) if _whole_days(filters) else None
    if sums:
        row = _finish(sums.chats(None)[None])
    else:
        row = _finish(chat_facts(filters).aggregate(**CHAT_AGGREGATES))
    row.setdefault("wait_p90", None)
    if _p90_wanted(filters):
        facts = chat_facts(filters)
        if _in_sql_p90():
            row["wait_p90"] = _round(facts.aggregate(p=WaitP90("wait_seconds"))["p"])
        else:
            row["wait_p90"] = wait_p90(facts)
    if sums:
        row.update(sums.offers(None)[None])
    else:
        offers, offer_aggregates = _offer_source(filters)
        row.update(_strip(offers.aggregate(**offer_aggregates)))
    if not occupancy_defined(filters):
        row["occupancy"] = None
    else:
        by_csr = sums.occupancy() if sums else occupancy(filters)
        row["occupancy"] = by_csr.get(filters.csr_id)
    return row


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def occupancy_defined(filters: ReportFilters) -> bool:
    # CSRs are logged in to the contact center, not to a queue or a channel.
    return not (filters.queue_id or filters.channel_id)


def occupancy(
    filters: ReportFilters, *, busy: dict[int, float] | None = None
) -> dict[int | None, float | None]:
    """Occupancy by CSR (and in all, under None): 100 × the handle time of the chats
    escalated in the range ÷ Σ capacity × time logged in within the range (`busy`: the
    handle time by CSR, when the caller has summed it already)."""
    now = timezone.now()
    since, until = filters.since, min(filters.until, now)
    spans = PresenceSpan.objects.filter(started_at__lt=until).filter(
        Q(ended_at=None) | Q(ended_at__gt=since)
    )
    if filters.csr_id:
        spans = spans.filter(csr_id=filters.csr_id)
    available: dict[int | None, float] = {}
    for csr_id, started, ended, capacity in spans.values_list(
        "csr_id", "started_at", "ended_at", "capacity"
    ):
        seconds = (min(ended or now, until) - max(started, since)).total_seconds()
        if seconds > 0:
            available[csr_id] = available.get(csr_id, 0.0) + capacity * seconds
            available[None] = available.get(None, 0.0) + capacity * seconds
    if busy is None:
        source, _ = _chat_source(filters)
        handle = "handle_sum" if _whole_days(filters) else "handle_seconds"
        busy = dict(
            source.filter(csr_id__isnull=False)
            .values("csr_id")
            .annotate(busy=Sum(handle))
            .values_list("csr_id", "busy")
        )
    busy_in_all: dict[int | None, float] = {key: value or 0.0 for key, value in busy.items()}
    busy_in_all[None] = sum(busy_in_all.values())
    return {
        key: round(100.0 * busy_in_all.get(key, 0.0) / capacity_seconds, 1)
        for key, capacity_seconds in available.items()
    }


def _period_expr(filters: ReportFilters, at: str):
    if filters.hourly:
        return TruncHour(at, tzinfo=filters.tz)
    return TruncDate(at, tzinfo=filters.tz)


def _group_values(
    filters: ReportFilters, group: str, at: str, *, facts: bool = False
) -> dict[str, Any]:
    """What a table groups by; a period is a local day of the daily tables unless
    `facts` (or the report is hourly), when it is computed from the time `at`."""
    if group == Group.PERIOD:
        if not _whole_days(filters) or facts:
            return {"key": _period_expr(filters, at)}
        return {"key": F("day")}  # weeks and months are added up from days (_by_period)
    return {"key": F(f"{group}_id")}


def table(
    filters: ReportFilters,
    group: str,
    *,
    with_p90: bool = True,
    sums: RangeSums | None = None,
) -> list[dict[str, Any]]:
    """One row per period, queue, channel or CSR, each with every figure; periods with
    nothing to count are left out (`sums`: as for totals)."""
    with_p90 = with_p90 and _p90_wanted(filters)
    in_sql = with_p90 and _in_sql_p90()
    chat_rows: dict[Any, dict[str, Any]]
    offer_rows: dict[Any, dict[str, Any]]
    sums = (sums or RangeSums(filters)) if _whole_days(filters) else None
    if sums and group != Group.PERIOD:
        chat_rows = sums.chats(f"{group}_id")
        offer_rows = sums.offers(f"{group}_id")
    else:
        source, aggregates = _chat_source(filters)
        chat_rows = {
            row["key"]: row  # type: ignore[misc]
            for row in source.values(**_group_values(filters, group, "escalated_at"))
            .annotate(**aggregates)
            .order_by()
        }
        offers, offer_aggregates = _offer_source(filters)
        offer_rows = {
            row["key"]: _strip(row)  # type: ignore[misc]
            for row in offers.values(**_group_values(filters, group, "offered_at"))
            .annotate(**offer_aggregates)
            .order_by()
        }
    if group == Group.PERIOD and filters.period in ("week", "month"):
        chat_rows, offer_rows = _by_period(chat_rows, filters), _by_period(offer_rows, filters)
    p90s: dict[Any, Any] = {}
    if in_sql:
        p90s = {
            row["key"]: row["p"]  # type: ignore[misc]
            for row in chat_facts(filters)
            .values(**_group_values(filters, group, "escalated_at", facts=True))
            .annotate(p=WaitP90("wait_seconds"))
            .order_by()
        }
    labels = group_labels(group, [*chat_rows, *offer_rows])
    busy: dict[int | None, float | None] = {}
    if group == Group.CSR and occupancy_defined(filters):
        busy = sums.occupancy() if sums else occupancy(filters)
    empty_chat = dict.fromkeys(CHAT_AGGREGATES, 0) | {
        "agg_wait_avg": None,
        "agg_first_response_avg": None,
        "agg_handle_avg": None,
    }
    empty_offer = dict.fromkeys(OFFER_AGGREGATES, 0)
    rows = []
    for key in set(chat_rows) | set(offer_rows):
        if key is None:
            continue
        row = _finish({**empty_chat, **chat_rows.get(key, {})})
        row.update({**empty_offer, **offer_rows.get(key, {})})
        row["key"] = key
        row["label"] = labels.get(key, str(key))
        row.setdefault("wait_p90", None)
        if in_sql:
            row["wait_p90"] = _round(p90s.get(key))
        elif with_p90:
            row["wait_p90"] = wait_p90(chat_facts(_narrow(filters, group, key)))
        row["occupancy"] = busy.get(key)
        rows.append(row)
    if group == Group.PERIOD:
        rows.sort(key=lambda r: _period_sort(r["key"]))
    else:
        rows.sort(key=lambda r: (-r["escalations"], r["label"]))
    return rows


def _period_start(day: date, filters: ReportFilters) -> date:
    """The first day of the week (Monday) or month of `day` (filters.period)."""
    if filters.period == "week":
        return day - timedelta(days=day.weekday())
    if filters.period == "month":
        return day.replace(day=1)
    return day


def _by_period(rows: dict[date, dict[str, Any]], filters: ReportFilters) -> dict[date, dict]:
    """Daily rows of sums added up by week or month: a year is read by day (an index
    on the day, no date arithmetic per row) and added up here, 365 rows."""
    out: dict[date, dict[str, Any]] = {}
    for day, row in rows.items():
        total = out.setdefault(_period_start(day, filters), {})
        for name, value in row.items():
            if name != "key":
                total[name] = total.get(name, 0) + (value or 0)
    return out


def _period_sort(key: date | datetime) -> str:
    return key.isoformat()


def period_label(key: date | datetime, filters: ReportFilters) -> str:
    if isinstance(key, datetime):
        return key.astimezone(filters.tz).strftime("%Y-%m-%d %H:00")
    if filters.period == "month":
        return key.strftime("%Y-%m")
    if filters.period == "week":
        return f"Week of {key.isoformat()}"
    return key.isoformat()


def _period_end(key: date, filters: ReportFilters) -> date:
    """The last day of the week or month starting on `key`, within the range."""
    if filters.period == "week":
        last = key + timedelta(days=6)
    elif filters.period == "month":
        last = (key.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    else:
        last = key
    return min(last, filters.end)


def group_labels(group: str, keys: Iterable[Any]) -> dict[Any, str]:
    """What each key of a grouping is called."""
    ids = [k for k in set(keys) if k is not None]
    if group == Group.QUEUE:
        return dict(Queue.objects.filter(pk__in=ids).values_list("id", "name"))
    if group == Group.CHANNEL:
        return dict(Channel.objects.filter(pk__in=ids).values_list("id", "name"))
    if group == Group.CSR:
        return {u.pk: display_name(u) for u in User.objects.filter(pk__in=ids)}
    return {}


def _narrow(filters: ReportFilters, group: str, key: Any) -> ReportFilters:
    """The filters of one row of a table (a drill-down into it)."""
    if group == Group.PERIOD:
        if isinstance(key, datetime):
            local = key.astimezone(filters.tz)
            return filters.narrowed(start=local.date(), end=local.date(), hour=local.hour)
        return filters.narrowed(
            start=max(key, filters.start), end=_period_end(key, filters), hour=None
        )
    return filters.narrowed(**{f"{group}_id": key})


def narrow(filters: ReportFilters, group: str, key: Any) -> ReportFilters:
    return _narrow(filters, group, key)


def decline_reasons(filters: ReportFilters, *, limit: int = 20) -> list[dict[str, Any]]:
    """The reasons offers were declined for, most frequent first ("" when none given)."""
    rows = (
        offer_facts(filters)
        .filter(outcome=OfferOutcome.DECLINED)
        .values("reason")
        .annotate(offers=Count("*"))  # "*": counted from the declined offers' index alone
        .order_by("-offers", "reason")[:limit]
    )
    return [{"reason": row["reason"], "offers": row["offers"]} for row in rows]


def live_now(filters: ReportFilters) -> dict[str, Any]:
    """What is happening now (not yet in the facts): chats waiting and active, and the
    live occupancy (active chats ÷ the capacity of the CSRs logged in)."""
    interactions = Interaction.objects.all()
    if filters.queue_id:
        interactions = interactions.filter(queue_id=filters.queue_id)
    if filters.channel_id:
        interactions = interactions.filter(channel_id=filters.channel_id)
    if filters.csr_id:
        interactions = interactions.filter(assigned_csr_id=filters.csr_id)
    # Only the chats not yet closed (an index on the status): the history is far larger.
    interactions = interactions.filter(
        status__in=(InteractionStatus.QUEUED, InteractionStatus.OFFERED, InteractionStatus.ACTIVE)
    )
    counts = interactions.aggregate(
        waiting=Count(
            "pk", filter=Q(status__in=(InteractionStatus.QUEUED, InteractionStatus.OFFERED))
        ),
        active=Count("pk", filter=Q(status=InteractionStatus.ACTIVE)),
    )
    profiles = CSRProfile.objects.exclude(status=CSRStatus.OFFLINE)
    if filters.csr_id:
        profiles = profiles.filter(user_id=filters.csr_id)
    if filters.queue_id:
        profiles = profiles.filter(
            user__queue_memberships__queue_id=filters.queue_id,
            user__queue_memberships__joined=True,
        )
    default = app_studio_settings_get().default_csr_capacity
    capacity = sum(c or default for c in profiles.values_list("capacity", flat=True))
    # Chats in wrap-up still take their CSR's place (routing's one count of them).
    active_held = sum(csr_busy_counts(user_ids=profiles.values_list("user_id", flat=True)).values())
    counts["occupancy"] = _share(active_held, capacity)
    counts["logged_in"] = profiles.count()
    return counts
