"""What a Redis call raises while Redis is down or restarting, and the process-wide cache
client of the socket paths.

The cache (django-redis) wraps connection failures in its own exception, redis-py
clients raise theirs. Every caller on a request or socket path catches REDIS_ERRORS and
carries on without Redis (docs/operations.md, "Redis outages").

Django's cache handler (`django.core.cache.cache`, `caches[...]`, and django-redis'
`get_redis_connection`) keeps one backend per async context, and each WebSocket's
consumer runs in a context of its own: a cache call on a socket's path builds a
django-redis backend and a `redis.Redis` client (about 13.5 KiB, most of it redis-py's
table of response callbacks) that the socket then holds for as long as it is open.
`shared_cache()` and `shared_redis()` give such paths one backend per process instead
(redis-py clients are thread-safe, and share django-redis' connection pool either way)."""

import threading

from django.core.cache import BaseCache, caches
from django.core.signals import setting_changed
from django.dispatch import receiver
from django_redis.exceptions import ConnectionInterrupted
from redis import Redis
from redis.exceptions import RedisError

REDIS_ERRORS: tuple[type[Exception], ...] = (RedisError, ConnectionInterrupted)

_shared: dict[str, BaseCache] = {}
_shared_lock = threading.Lock()


def shared_cache(alias: str = "default") -> BaseCache:
    """This process's one backend for the cache `alias`, whatever the async context."""
    backend = _shared.get(alias)
    if backend is None:
        with _shared_lock:
            backend = _shared.get(alias)
            if backend is None:
                backend = _shared[alias] = caches.create_connection(alias)
    return backend


def shared_redis(alias: str = "default") -> Redis:
    """The redis-py client of shared_cache(alias), as `get_redis_connection` gives it."""
    return shared_cache(alias).client.get_client(write=True)  # type: ignore[attr-defined]


@receiver(setting_changed)
def _forget_shared_caches(*, setting: str, **kwargs: object) -> None:
    # Tests that override CACHES must reach the cache they configured.
    if setting == "CACHES":
        with _shared_lock:
            _shared.clear()
