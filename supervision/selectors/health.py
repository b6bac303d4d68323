"""System health: the services the portal depends on, each green, amber or red with the
reason. The database and Redis are asked now; the Celery workers are pinged (a short
timeout) by the health task that beat runs every 10 s, which also records beat's last
tick; each daphne process reports its own heartbeat (config/processes.py)."""

import json
import time
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from chat.models import WebhookDelivery
from config.celery_app import app as celery_app
from config.processes import PROCESS_KEY_PREFIX
from config.redis import REDIS_ERRORS

BEAT_TICK_KEY = "supervision:beat-tick"
WORKERS_KEY = "supervision:workers"
CELERY_QUEUE = "celery"
QUEUE_DEPTH_AMBER = 100
QUEUE_DEPTH_RED = 1000
BEAT_AMBER_SECONDS = 30
BEAT_RED_SECONDS = 120
WEBHOOK_WINDOW = timedelta(hours=24)
WEBHOOK_FAILED_RED = 10
WORKER_PING_TIMEOUT_SECONDS = 1.0


class Level(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


def _check(key: str, name: str, level: Level, reason: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "name": name, "level": str(level), "reason": reason, **extra}


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def database_check() -> dict[str, Any]:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        return _check("database", "Database", Level.RED, f"Not answering: {error}")
    ms = (time.monotonic() - started) * 1000
    level = Level.GREEN if ms < 200 else Level.AMBER
    return _check("database", "Database", level, f"{connection.vendor}, answered in {ms:.0f} ms")


def redis_check(client: redis.Redis) -> dict[str, Any]:
    try:
        client.ping()
    except REDIS_ERRORS as error:
        return _check("redis", "Redis", Level.RED, f"Not answering: {error}")
    return _check("redis", "Redis", Level.GREEN, "Answering")


def celery_queue_check(client: redis.Redis) -> dict[str, Any]:
    try:
        depth = int(client.llen(CELERY_QUEUE))
    except REDIS_ERRORS:
        return _check("celery_queue", "Task queue", Level.RED, "Redis is not answering")
    level = (
        Level.RED
        if depth >= QUEUE_DEPTH_RED
        else Level.AMBER
        if depth >= QUEUE_DEPTH_AMBER
        else Level.GREEN
    )
    return _check("celery_queue", "Task queue", level, f"{depth} task(s) waiting", depth=depth)


def workers_ping() -> list[str]:
    """The names of the Celery workers that answer a ping within the timeout."""
    replies = celery_app.control.inspect(timeout=WORKER_PING_TIMEOUT_SECONDS).ping() or {}
    return sorted(replies)


def workers_check(names: list[str] | None, at: datetime | None) -> dict[str, Any]:
    if names is None:
        return _check("workers", "Celery workers", Level.AMBER, "Not checked yet (beat's task)")
    if not names:
        return _check("workers", "Celery workers", Level.RED, "No worker answered a ping")
    return _check(
        "workers",
        "Celery workers",
        Level.GREEN,
        f"{len(names)} answering: {', '.join(names)}",
        workers=names,
    )


def beat_check(now: datetime) -> dict[str, Any]:
    try:
        tick = cache.get(BEAT_TICK_KEY)
    except REDIS_ERRORS:
        tick = None
    if tick is None:
        return _check("beat", "Celery beat", Level.RED, "No tick recorded")
    age = (now - tick).total_seconds()
    level = (
        Level.RED
        if age >= BEAT_RED_SECONDS
        else Level.AMBER
        if age >= BEAT_AMBER_SECONDS
        else Level.GREEN
    )
    return _check(
        "beat", "Celery beat", level, f"Last tick {age:.0f} s ago", last_tick=tick.isoformat()
    )


def daphne_check() -> dict[str, Any]:
    try:
        # django-redis' iter_keys: the heartbeats under this deployment's key prefix.
        keys = list(cache.iter_keys(f"{PROCESS_KEY_PREFIX}*"))  # type: ignore[attr-defined]
        values = list(cache.get_many(keys).values()) if keys else []
    except REDIS_ERRORS:
        return _check("daphne", "Daphne processes", Level.RED, "Redis is not answering")
    processes = []
    for value in values:
        if value is None:
            continue
        try:
            processes.append(json.loads(value))
        except ValueError:
            continue
    if not processes:
        return _check("daphne", "Daphne processes", Level.RED, "No process reported")
    processes.sort(key=lambda p: (p.get("host", ""), p.get("pid", 0)))
    sockets = sum(int(p.get("sockets", 0)) for p in processes)
    return _check(
        "daphne",
        "Daphne processes",
        Level.GREEN,
        f"{len(processes)} process(es), {sockets} open socket(s)",
        processes=[
            {"host": p.get("host"), "pid": p.get("pid"), "sockets": p.get("sockets", 0)}
            for p in processes
        ],
    )


def webhooks_check(now: datetime) -> dict[str, Any]:
    failed = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.FAILED, updated_at__gte=now - WEBHOOK_WINDOW
    ).count()
    retrying = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING, attempts__gte=2
    ).count()
    if failed >= WEBHOOK_FAILED_RED:
        level = Level.RED
    elif failed or retrying:
        level = Level.AMBER
    else:
        level = Level.GREEN
    return _check(
        "webhooks",
        "Webhook deliveries",
        level,
        f"{failed} failed in the last 24 h, {retrying} retrying",
        failed=failed,
        retrying=retrying,
    )


def health_report(*, workers: list[str] | None = None, ping: bool = False) -> dict[str, Any]:
    """Every check. `workers`: the names from a ping just made; else the health task's
    last answer (or, with `ping`, a ping now)."""
    now = timezone.now()
    client = _redis()
    try:
        if workers is None and ping:
            try:
                workers = workers_ping()
            except Exception:
                workers = []
        if workers is None:
            try:
                workers = cache.get(WORKERS_KEY)
            except REDIS_ERRORS:
                workers = None
        checks = [
            database_check(),
            redis_check(client),
            workers_check(workers, now),
            celery_queue_check(client),
            beat_check(now),
            daphne_check(),
            webhooks_check(now),
        ]
    finally:
        client.close()
    levels = [check["level"] for check in checks]
    overall = Level.RED if "red" in levels else Level.AMBER if "amber" in levels else Level.GREEN
    return {"checked_at": now.isoformat(), "level": str(overall), "checks": checks}
