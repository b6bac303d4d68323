"""Channel-layer helpers for tests that must run on either backend
(CHANNEL_LAYER_BACKEND=core or pubsub)."""

from typing import Any

import redis.asyncio as aioredis
from django.conf import settings


async def layer_close(layer: Any) -> None:
    """Close a layer instance a test made: its Redis connections and subscriptions."""
    if hasattr(layer, "close_pools"):  # RedisChannelLayer
        await layer.close_pools()
    else:  # RedisPubSubChannelLayer
        await layer.flush()


async def layer_forget_groups(layer: Any, group: str) -> None:
    """Do to `group` what a Redis restart does: the core layer's group set is gone; the
    pub/sub layer's subscribing connections are dropped (it reconnects and re-subscribes
    on its own, but messages published meanwhile are lost)."""
    if hasattr(layer, "_group_key"):
        client = layer.connection(layer.consistent_hash(group))
        assert await client.delete(layer._group_key(group)) == 1
        return
    client = aioredis.from_url(settings.REDIS_URL)
    try:
        assert await client.client_kill_filter(_type="pubsub") >= 1
    finally:
        await client.aclose()
