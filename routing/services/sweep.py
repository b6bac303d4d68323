"""The routing sweep, run by Celery beat: the backstop for everything whose own timer
or task was lost (a killed worker, a broker outage)."""

import contextlib
import logging

from django.core.cache import cache

from config.redis import REDIS_ERRORS
from routing import events
from routing.models import Queue
from routing.services.answers import offers_expire_overdue
from routing.services.engine import route_waiting
from routing.services.presence import presence_sweep
from routing.services.waits import long_waits_sweep
from routing.services.wrapups import wrapups_expire_overdue

logger = logging.getLogger(__name__)

SWEEP_LOCK_KEY = "routing-sweep-lock"
SWEEP_LOCK_SECONDS = 30


def routing_sweep() -> dict[str, int] | None:
    """Enforce presence, expire offers whose timer was lost, route everything waiting
    (re-offering chats whose cool-down is over), offer the long-wait choice to customers
    whose timer was lost, and refresh the queue counts. One sweep at a time across all
    workers (while Redis is down, each worker's sweep runs; their runs skip each other's
    locked chats)."""
    try:
        if not cache.add(SWEEP_LOCK_KEY, "1", timeout=SWEEP_LOCK_SECONDS):
            return None
        locked = True
    except REDIS_ERRORS:
        locked = False
    try:
        presence = presence_sweep()
        expired = offers_expire_overdue()
        # Before routing: a CSR whose wrap-up timer was lost has room again.
        wrapups_released = wrapups_expire_overdue()
        offered = route_waiting()
        long_waits = long_waits_sweep()
        for queue_id in Queue.objects.filter(active=True).values_list("id", flat=True):
            events.queue_state_publish(queue_id=queue_id)
        if expired or offered or long_waits or wrapups_released or any(presence.values()):
            logger.info(
                "Routing sweep: %d offers made, %d expired late, %d long waits, "
                "%d wrap-ups released late, %s",
                offered,
                expired,
                long_waits,
                wrapups_released,
                presence,
            )
        return {
            "offered": offered,
            "expired": expired,
            "long_waits": long_waits,
            "wrapups_released": wrapups_released,
            **presence,
        }
    finally:
        if locked:
            with contextlib.suppress(*REDIS_ERRORS):
                cache.delete(SWEEP_LOCK_KEY)
