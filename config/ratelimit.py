"""Counting events per clock-aligned window, in the shared cache.

One atomic Redis INCR per event, so every server process counts together and events
arriving at the same moment are all counted. Used by the bot API's rate limit, the
authentication attempts of a chat and the demo bot's per-address limit."""

import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class WindowCount:
    count: int  # events in the current window, this one included
    retry_after: int  # whole seconds until the window turns over, at least 1


def window_count(key: str, *, window_seconds: int) -> WindowCount:
    """Count one more event under `key` in the current `window_seconds` window."""
    now = time.time()
    window = int(now // window_seconds)
    window_key = f"{key}:{window}"
    timeout = window_seconds + 5
    cache.add(window_key, 0, timeout=timeout)
    try:
        count = cache.incr(window_key)
    except ValueError:  # expired between add and incr: start it again (or join whoever did)
        count = 1 if cache.add(window_key, 1, timeout=timeout) else cache.incr(window_key)
    retry_after = max(1, int((window + 1) * window_seconds - now + 0.999))
    return WindowCount(count=count, retry_after=retry_after)
