"""config.ratelimit.window_count: one counter per clock-aligned window, in Redis, that
expires after its window."""

import uuid
from concurrent.futures import ThreadPoolExecutor

from django.core.cache import cache
from django_redis import get_redis_connection

from config import ratelimit
from config.ratelimit import window_count

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
