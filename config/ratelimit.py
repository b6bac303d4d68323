"""Counting events per clock-aligned window, in the shared cache.

One atomic Redis INCR per event, so every server process counts together and events
arriving at the same moment are all counted. Used by the bot API's rate limit, the
authentication attempts of a chat and the demo bot's per-address limit."""

import time
from dataclasses import dataclass

from django.core.cache import cache
from django_redis import get_redis_connection


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
