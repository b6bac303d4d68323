"""The live feed of the manager tools: a tick computes the figures of the pages some
manager has open, compares them with the last tick's and publishes only the rows that
changed (and the alerts that started or ended) to the managers' group.

Ticks run in the daphne processes that hold managers' sockets (supervision.ticker), one
at a time across processes (a claim in Redis): within TICK_POLL_SECONDS of a change that
matters (receivers mark it after commit: chats, offers, CSR profiles, memberships), and
at least every KEEPALIVE_SECONDS while a page is open (waits grow with time; sentiment
and offers are also written in bulk). A burst of escalations costs one tick, not one per
escalation, and nothing runs while no manager watches. Celery's queue, busy with routing
under load, is not in the way."""

import contextlib
import hashlib
import json
import logging
import os
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from config.realtime import group_send_many
from config.redis import REDIS_ERRORS
from routing.models import Queue
from supervision.selectors.alerts import chat_alerts, health_alerts
from supervision.selectors.chats import chat_rows
from supervision.selectors.csrs import csr_rows
from supervision.selectors.health import health_report
from supervision.selectors.queues import queue_rows

logger = logging.getLogger(__name__)

GROUP = "supervision"
HANDLER = "supervision.event"
WATCHERS_KEY = "supervision:watchers"
WATCHERS_TTL_SECONDS = 30
DIRTY_KEY = "supervision:dirty"
TICK_LOCK_KEY = "supervision:tick-lock"
TICK_LOCK_SECONDS = 10
TICK_POLL_SECONDS = 0.1
DIGESTS_KEY = "supervision:digests"
HEALTH_KEY = "supervision:health"
KEEPALIVE_SECONDS = 1.0
ALERTS_SECONDS = 1.0
HEALTH_MAX_AGE_SECONDS = 15
SECTIONS = ("queues", "csrs", "chats")


def watchers_touch(section: str | None = None) -> None:
    """A manager's page is open (showing `section`'s rows): ticks run, and compute that
    section, for the next WATCHERS_TTL_SECONDS."""
    keys = {WATCHERS_KEY: 1}
    if section is not None:
        keys[f"{WATCHERS_KEY}:{section}"] = 1
    with contextlib.suppress(*REDIS_ERRORS):
        cache.set_many(keys, timeout=WATCHERS_TTL_SECONDS)


def watched() -> bool:
    try:
        return bool(cache.get(WATCHERS_KEY))
    except REDIS_ERRORS:
        return False


def watched_sections() -> tuple[str, ...]:
    """The sections some open page shows."""
    try:
        found = cache.get_many([f"{WATCHERS_KEY}:{section}" for section in SECTIONS])
    except REDIS_ERRORS:
        return ()
    return tuple(section for section in SECTIONS if f"{WATCHERS_KEY}:{section}" in found)


def changed() -> None:
    """Something the pages show changed (called after commit): the next tick runs within
    TICK_POLL_SECONDS instead of at the keep-alive."""
    with contextlib.suppress(*REDIS_ERRORS):
        cache.set(DIRTY_KEY, 1, timeout=WATCHERS_TTL_SECONDS)


def tick_claim() -> bool:
    """Whether this process runs the next tick: one process at a time, across daphnes."""
    try:
        return bool(cache.add(TICK_LOCK_KEY, os.getpid(), timeout=TICK_LOCK_SECONDS))
    except REDIS_ERRORS:
        return False


def tick_due(*, since_last: float) -> bool:
    """A change is waiting, or the keep-alive is due."""
    if since_last >= KEEPALIVE_SECONDS:
        return True
    try:
        return bool(cache.get(DIRTY_KEY))
    except REDIS_ERRORS:
        return False


def tick_run(*, alerts: bool = True) -> dict[str, Any] | None:
    """Run one tick if this process may (tick_claim); release the claim after."""
    if not tick_claim():
        return None
    try:
        with contextlib.suppress(*REDIS_ERRORS):
            cache.delete(DIRTY_KEY)
        return live_tick(alerts=alerts)
    finally:
        with contextlib.suppress(*REDIS_ERRORS):
            cache.delete(TICK_LOCK_KEY)


def _digest(row: dict[str, Any]) -> str:
    return hashlib.blake2b(
        json.dumps(row, sort_keys=True, default=str).encode(), digest_size=8
    ).hexdigest()


def live_state(sections: tuple[str, ...] = SECTIONS, *, alerts: bool = True) -> dict[str, Any]:
    """The rows of `sections` and (unless `alerts` is false: None) the standing alerts,
    now (unscoped)."""
    now = timezone.now()
    state: dict[str, Any] = {"alerts": None, "server_time": now.isoformat()}
    if alerts:
        state["alerts"] = chat_alerts(now=now) + health_alerts(health_recent(now=now))
    if "queues" in sections:
        queues = list(Queue.objects.filter(active=True).order_by("name"))
        state["queues"] = queue_rows(queues=queues, now=now)
    if "csrs" in sections:
        state["csrs"] = csr_rows(now=now)
    if "chats" in sections:
        state["chats"] = chat_rows()
    return state


def live_tick(*, alerts: bool = True) -> dict[str, Any] | None:
    """One tick: publish what changed since the last one; None when nothing did.
    Without `alerts` the alerts are left as they stood (ticks run them at most every
    ALERTS_SECONDS: they change with time, not with each escalation)."""
    if not watched():
        return None
    sections = watched_sections()
    state = live_state(sections, alerts=alerts)
    try:
        previous: dict[str, dict[str, str]] = cache.get(DIGESTS_KEY) or {}
    except REDIS_ERRORS:
        previous = {}
    digests: dict[str, dict[str, str]] = {}
    update: dict[str, Any] = {"type": "supervision.update", "server_time": state["server_time"]}
    any_change = False
    for section in sections:
        before = previous.get(section, {})
        now_digests = {str(row["id"]): _digest(row) for row in state[section]}
        digests[section] = now_digests
        rows = [
            row
            for row in state[section]
            if before.get(str(row["id"])) != now_digests[str(row["id"])]
        ]
        removed = [int(key) for key in before if key not in now_digests]
        update[section] = rows
        update[f"{section}_removed"] = removed
        any_change = any_change or bool(rows or removed)
    alerts_before = previous.get("alerts", {})
    if state["alerts"] is None:
        alerts_now = dict.fromkeys(alerts_before)
    else:
        alerts_now = {alert["key"]: alert for alert in state["alerts"]}
    digests["alerts"] = dict.fromkeys(alerts_now, "1")
    update["alerts"] = [alert for key, alert in alerts_now.items() if key not in alerts_before]
    update["alerts_cleared"] = [key for key in alerts_before if key not in alerts_now]
    any_change = any_change or bool(update["alerts"] or update["alerts_cleared"])
    with contextlib.suppress(*REDIS_ERRORS):
        cache.set(DIGESTS_KEY, digests, timeout=WATCHERS_TTL_SECONDS * 2)
    if any_change:
        group_send_many([(GROUP, {"type": HANDLER, "payload": update})])
    return update if any_change else None


def health_recent(*, now: datetime) -> dict[str, Any] | None:
    """The health task's last report, or one made now when it is older than
    HEALTH_MAX_AGE_SECONDS: a dead beat (which runs that task) still raises its alert."""
    try:
        report = cache.get(HEALTH_KEY)
    except REDIS_ERRORS:
        return None
    if report is not None:
        age = (now - datetime.fromisoformat(report["checked_at"])).total_seconds()
        if age <= HEALTH_MAX_AGE_SECONDS:
            return report
    report = health_report()
    with contextlib.suppress(*REDIS_ERRORS):
        cache.set(HEALTH_KEY, report, timeout=120)
    return report


def health_published(report: dict[str, Any]) -> None:
    """The health task's report: kept for pages that open, sent to those open."""
    with contextlib.suppress(*REDIS_ERRORS):
        cache.set(HEALTH_KEY, report, timeout=120)
    group_send_many(
        [(GROUP, {"type": HANDLER, "payload": {"type": "supervision.health", **report}})]
    )
