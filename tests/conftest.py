"""Fixtures shared by the whole suite."""

import os

import pytest
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers
from django.conf import settings
from django.db import connection
from django_redis import get_redis_connection

from chat.selectors.settings import app_studio_cache_invalidate
from config.memo import memo_clear
from tests.reliability.redis_server import RedisProcess, layer_settings


def _clear_own_cache_keys() -> None:
    # RedisCache.clear() would FLUSHDB, wiping other test processes' keys too: delete
    # only this process's keys (settings_test gives each process its own prefix).
    client = get_redis_connection("default")
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """A new channel-layer instance per test. The cached one keeps per-channel receive
    locks, and a lock still held by a cleanup task of a finished test's event loop
    (closed before the task ran) fails every later receive on it with "bound to a
    different event loop". A process with one event loop (daphne) never meets this."""
    yield
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The cache is real Redis and outlives each test's database rollback: clear it, and
    this process's copies of the App Studio settings and of the configuration it read."""
    _clear_own_cache_keys()
    app_studio_cache_invalidate()
    memo_clear()
    yield
    _clear_own_cache_keys()
    app_studio_cache_invalidate()
    memo_clear()


@pytest.fixture(scope="session", autouse=True)
def _close_pool_thread_connections(django_db_setup, django_db_blocker):
    """Socket tests leave PostgreSQL sessions open: channels.testing's communicator
    patches `channels.db.close_old_connections` to a no-op while a test talks to the
    app, so the connections that consumers open on pool threads (config.sockets.db) are
    never closed, and dropping the test database would fail. End them first (the test
    database only; in production close_old_connections runs as usual)."""
    yield
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture(params=["pubsub", "core"])
def layer_redis(request, settings):
    """The channel layer (each of channels_redis' two) on a private Redis that is not
    running yet: an outage, which start() ends. Never the machine's shared Redis."""
    redis = RedisProcess()
    settings.CHANNEL_LAYERS = layer_settings(request.param, redis.url, f"outage{os.getpid()}")
    yield redis
    redis.kill()
