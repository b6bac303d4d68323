"""Counting events per clock-aligned window, in the shared cache.

One atomic Redis INCR per event, so every server process counts together and events
arriving at the same moment are all counted. Used by the bot API's rate limit, the
authentication attempts of a chat and the demo bot's per-address limit. While Redis is
down the limits fail open (`window_count_or_none`): a request is let through uncounted,
with a warning in the log, rather than answered with an error."""

import logging
import time
from dataclasses import dataclass

from django.core.cache import cache
from django_redis import get_redis_connection

from config.redis import REDIS_ERRORS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WindowCount:
    count: int  # events in the current window, this one included
    retry_after: int  # whole seconds until the window turns over, at least 1


def window_count(key: str, *, window_seconds: int) -> WindowCount:
    """Count one more event under `key` in the current `window_seconds` window."""
    now = time.time()
    window = int(now // window_seconds)
    window_key = cache.make_key(f"{key}:{window}")
    # One atomic round trip: the window's counter is made with its expiry if it is new,
    # then counted.
    pipe = get_redis_connection("default").pipeline(transaction=True)
    pipe.set(window_key, 0, nx=True, ex=window_seconds + 5)
    pipe.incr(window_key)
    _, count = pipe.execute()
    retry_after = max(1, int((window + 1) * window_seconds - now + 0.999))
    return WindowCount(count=count, retry_after=retry_after)


def window_count_or_none(key: str, *, window_seconds: int) -> WindowCount | None:
    """window_count, or None while the cache cannot be reached (logged as a warning):
    the caller lets the event through uncounted."""
    try:
        return window_count(key, window_seconds=window_seconds)
    except REDIS_ERRORS as error:
        logger.warning(
            "Rate limit %s not applied, the cache is unreachable: %r", key.split(":")[0], error
        )
        return None
