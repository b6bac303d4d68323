"""config.ratelimit.window_count: one counter per clock-aligned window, in Redis, that
expires after its window."""

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache, caches
from django.test import override_settings
from django_redis import get_redis_connection

from config import ratelimit
from config.ratelimit import window_count
from config.redis import shared_cache

WINDOW = 60


def _at(monkeypatch, now: float) -> None:
    monkeypatch.setattr(ratelimit.time, "time", lambda: now)


def test_counts_each_event_of_a_window_and_says_when_it_turns_over(monkeypatch):
    key = f"test-rate:{uuid.uuid4().hex}"
    _at(monkeypatch, 6000.0 + 15.2)  # 15.2 s into a 60 s window
    counts = [window_count(key, window_seconds=WINDOW) for _ in range(3)]
    assert [c.count for c in counts] == [1, 2, 3]
    assert counts[-1].retry_after == 45


def test_the_counter_expires_shortly_after_its_window(monkeypatch):
    key = f"test-rate:{uuid.uuid4().hex}"
    _at(monkeypatch, 6000.0)
    window_count(key, window_seconds=WINDOW)
    ttl = get_redis_connection("default").ttl(cache.make_key(f"{key}:100"))
    assert WINDOW < ttl <= WINDOW + 5


def test_a_new_window_starts_from_one(monkeypatch):
    key = f"test-rate:{uuid.uuid4().hex}"
    _at(monkeypatch, 6059.0)
    assert window_count(key, window_seconds=WINDOW).count == 1
    assert window_count(key, window_seconds=WINDOW).count == 2
    _at(monkeypatch, 6060.0)
    assert window_count(key, window_seconds=WINDOW).count == 1


def test_concurrent_events_are_all_counted(monkeypatch):
    key = f"test-rate:{uuid.uuid4().hex}"
    _at(monkeypatch, 6000.0)
    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = list(pool.map(lambda _: window_count(key, window_seconds=WINDOW).count, range(40)))
    assert sorted(counts) == list(range(1, 41))


def test_sockets_count_through_one_client_of_the_process_not_one_each():
    """Each socket's consumer runs in an async context of its own, where Django's cache
    handler would build (and the socket keep) a cache backend and Redis client."""

    async def count_like_a_socket_connecting(key: str) -> list:
        await sync_to_async(window_count)(key, window_seconds=WINDOW)
        return caches.all(initialized_only=True)

    async def sockets() -> list[list]:
        keys = [f"test-rate:{uuid.uuid4().hex}" for _ in range(3)]
        return await asyncio.gather(*(count_like_a_socket_connecting(key) for key in keys))

    # A thread of its own starts from an empty context, as daphne's event loop does.
    with ThreadPoolExecutor(max_workers=1) as pool:
        backends_per_socket = pool.submit(asyncio.run, sockets()).result()
    assert backends_per_socket == [[], [], []]


def test_the_process_wide_client_follows_an_override_of_the_caches():
    shared = shared_cache()
    overridden = {"default": {**settings.CACHES["default"], "KEY_PREFIX": "other"}}
    with override_settings(CACHES=overridden):
        assert shared_cache() is not shared
        assert shared_cache().make_key("k") == "other:1:k"
    assert shared_cache().make_key("k") == shared.make_key("k")
