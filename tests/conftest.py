"""Fixtures shared by the whole suite."""

import pytest
from django.conf import settings
from django.core.cache import cache


def _clear_own_cache_keys() -> None:
    # RedisCache.clear() would FLUSHDB, wiping other test processes' keys too: delete
    # only this process's keys (settings_test gives each process its own prefix).
    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The cache is real Redis and outlives each test's database rollback: clear it."""
    _clear_own_cache_keys()
    yield
    _clear_own_cache_keys()
