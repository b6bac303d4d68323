"""Counting events per clock-aligned window, in the shared cache.

One atomic Redis INCR per event, so every server process counts together and events
arriving at the same moment are all counted. Used by the bot API's rate limit, the
authentication attempts of a chat, the demo bot's per-address limit and the chat
sockets' per-party limits (`SharedLimit`). While Redis is down the limits fail open
(`window_count_or_none`): a request is let through uncounted, with a warning in the log,
rather than answered with an error; a `SharedLimit` falls back to a `TokenBucket` of the
same rate in the process."""

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from config.redis import REDIS_ERRORS, shared_cache, shared_redis

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WindowCount:
    count: int  # events in the current window, this one included
    retry_after: int  # whole seconds until the window turns over, at least 1


def window_count(key: str, *, window_seconds: int) -> WindowCount:
    """Count one more event under `key` in the current `window_seconds` window."""
    return window_counts([(key, window_seconds)])[0]


def window_counts(keys: Sequence[tuple[str, int]]) -> list[WindowCount]:
    """window_count for each (key, window_seconds), in one round trip."""
    now = time.time()
    # One atomic round trip: each window's counter is made with its expiry if it is
    # new, then counted. Through the process-wide client: every chat socket counts its
    # connect here, and the per-context one would stay with the socket (config/redis.py).
    pipe = shared_redis().pipeline(transaction=True)
    cache = shared_cache()
    windows = []
    for key, window_seconds in keys:
        window = int(now // window_seconds)
        window_key = cache.make_key(f"{key}:{window}")
        pipe.set(window_key, 0, nx=True, ex=window_seconds + 5)
        pipe.incr(window_key)
        windows.append((window, window_seconds))
    counts = pipe.execute()[1::2]
    return [
        WindowCount(
            count=count,
            retry_after=max(1, int((window + 1) * window_seconds - now + 0.999)),
        )
        for count, (window, window_seconds) in zip(counts, windows, strict=True)
    ]


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


class TokenBucket:
    """`capacity` tokens, refilled evenly over `per_seconds`; one per action. Local to one
    process (and to whoever holds it, e.g. one socket)."""

    def __init__(
        self, *, capacity: int, per_seconds: float, clock: Callable[[], float] = time.monotonic
    ):
        self.capacity = capacity
        self.rate = capacity / per_seconds
        self.tokens = float(capacity)
        self.clock = clock
        self.updated = clock()

    def take(self) -> float:
        """Take a token: 0 when one was there, else the seconds until one will be."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class SharedLimit:
    """At most `events` per `window_seconds` under `key`, counted in Redis so that every
    socket and every process sharing the key draws on one allowance (e.g. all the sockets
    of one chat party). While Redis cannot be reached, this holder's own TokenBucket of
    the same rate stands in, so the limit degrades to what one socket may do instead of
    to no limit at all. Synchronous: call it from a thread, not from an event loop."""

    def __init__(self, key: str, *, events: int, window_seconds: int, what: str = "events"):
        self.key = key
        self.events = events
        self.window_seconds = window_seconds
        self.what = what  # what is counted, for messages: "messages", "resumes"
        self.fallback = TokenBucket(capacity=events, per_seconds=window_seconds)

    def take(self) -> int:
        """Count one event: 0 when it is allowed, else the whole seconds to wait (≥ 1)."""
        counted = window_count_or_none(self.key, window_seconds=self.window_seconds)
        return self._wait(counted)

    @staticmethod
    def take_many(limits: Sequence["SharedLimit"]) -> list[int]:
        """take() for each of `limits` (one event each), counted in one round trip."""
        try:
            counts: Sequence[WindowCount | None] = window_counts(
                [(limit.key, limit.window_seconds) for limit in limits]
            )
        except REDIS_ERRORS as error:
            logger.warning("Rate limits not applied, the cache is unreachable: %r", error)
            counts = [None] * len(limits)
        return [limit._wait(counted) for limit, counted in zip(limits, counts, strict=True)]

    def _wait(self, counted: WindowCount | None) -> int:
        if counted is None:
            wait = self.fallback.take()
            return max(1, math.ceil(wait)) if wait else 0
        return 0 if counted.count <= self.events else counted.retry_after
