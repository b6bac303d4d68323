"""Celery task of the manager tools: the health check beat runs."""

import contextlib

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from config.redis import REDIS_ERRORS
from supervision import events
from supervision.selectors.health import BEAT_TICK_KEY, WORKERS_KEY, health_report, workers_ping


@shared_task(name="supervision.tasks.health_check", ignore_result=True)
def health_check() -> None:
    """Run by beat every 10 s: records beat's tick, pings the workers, publishes the report."""
    with contextlib.suppress(*REDIS_ERRORS):
        cache.set(BEAT_TICK_KEY, timezone.now(), timeout=None)
    try:
        workers = workers_ping()
    except Exception:
        workers = []
    with contextlib.suppress(*REDIS_ERRORS):
        cache.set(WORKERS_KEY, workers, timeout=60)
    events.health_published(health_report(workers=workers))
