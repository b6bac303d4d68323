"""Every thread's cache object shares one Redis connection pool per process (Django
makes a cache object per thread, and daphne runs each request on a thread of its own)."""

import threading

from django.core.cache import cache, caches


def test_cache_objects_of_different_threads_share_one_connection_pool():
    pools = []

    def in_thread() -> None:
        caches["default"].set("pool-test", 1)
        pools.append(caches["default"]._cache._get_connection_pool(write=True))

    threads = [threading.Thread(target=in_thread) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pools.append(cache._cache._get_connection_pool(write=True))

    assert len(pools) == 4
    assert all(pool is pools[0] for pool in pools)
    assert cache.get("pool-test") == 1
