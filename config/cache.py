"""Django's Redis cache backend, with one connection pool per server and process.

Django keeps a cache object per thread and per async context, and each Redis cache
object builds its own connection pool. Under daphne every request runs on a thread of
its own (Django's per-request ThreadSensitiveContext), so every request opened a new
Redis connection: a TCP handshake, redis-py's CLIENT SETINFO round trips, and redis-py
reading its own package metadata for each connection. On an escalation POST (one cache
read for the rate limit) that was the largest single cost. The pools are shared
instead: redis-py pools are thread-safe, and reset themselves in a forked child.

So are the clients: Django builds a new redis-py client object for every cache call,
and building one (its response-callback tables) was ~4% of a daphne's CPU under the
routing benchmark. One client per pool serves every call; a client is thread-safe
(each command takes a connection from the pool; a pipeline is an object of its own).
"""

import threading
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_pools: dict[tuple[str, str], Any] = {}
_clients: dict[int, Any] = {}  # id(pool) → its client
_lock = threading.Lock()


class SharedPoolRedisCacheClient(RedisCacheClient):
    # RedisCacheClient's own, private, so django-stubs leaves them out.
    _servers: list[str]
    _pool_class: Any
    _pool_options: dict[str, Any]
    _get_connection_pool_index: Callable[[bool], int]
    _client: Any

    def _get_connection_pool(self, write: bool) -> Any:
        server = self._servers[self._get_connection_pool_index(write)]
        key = (server, repr(sorted(self._pool_options.items())))
        with _lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = self._pool_class.from_url(server, **self._pool_options)
        return pool

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = _clients.get(id(pool))
        if client is None:
            with _lock:
                client = _clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class SharedPoolRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient


def redis_client() -> Any:
    """A redis-py client on the default cache's shared pool, for the few structures
    Django's cache API has no verb for (sets). Keys must go through cache.make_key so
    that CACHE_KEY_PREFIX keeps portals, tests and benchmarks apart."""
    from django.core.cache import cache

    # RedisCache._cache is the backend's client object; get_client picks the write pool.
    return cache._cache.get_client(write=True)  # type: ignore[attr-defined]
