"""Every thread's cache object shares one Redis connection pool, and one client on it,
per process (Django makes a cache object per thread, and a client per call; daphne runs
each request on a thread of its own)."""

import threading
from collections.abc import Callable

from django.core.cache import cache, caches


def _on_three_threads(work: Callable[[], None]) -> None:
    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_cache_objects_of_different_threads_share_one_connection_pool():
    pools = []

    def in_thread() -> None:
        caches["default"].set("pool-test", 1)
        pools.append(caches["default"]._cache._get_connection_pool(write=True))

    _on_three_threads(in_thread)
    pools.append(cache._cache._get_connection_pool(write=True))

    assert len(pools) == 4
    assert all(pool is pools[0] for pool in pools)
    assert cache.get("pool-test") == 1


def test_cache_calls_of_different_threads_share_one_client():
    clients = []

    def in_thread() -> None:
        clients.append(caches["default"]._cache.get_client(write=True))
        caches["default"].set("client-test", 2)

    _on_three_threads(in_thread)
    clients.append(cache._cache.get_client(write=True))
    clients.append(cache._cache.get_client(write=True))

    assert len(clients) == 5
    assert all(client is clients[0] for client in clients)
    assert clients[0].connection_pool is cache._cache._get_connection_pool(write=True)
    assert cache.get("client-test") == 2
