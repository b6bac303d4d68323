"""Channel-layer helpers for tests that must run on either backend
(CHANNEL_LAYER_BACKEND=core or pubsub)."""

import asyncio
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


class PatientReceiver:
    """Receives from layer channels with a timeout that never cancels the receive: the
    pub/sub layer takes a cancelled receive for a closing consumer and unsubscribes the
    channel, so a receive that timed out stays in flight for the next call."""

    def __init__(self, layer: Any):
        self.layer = layer
        self.receiving: dict[str, asyncio.Future] = {}

    async def next(self, channel: str, timeout: float) -> dict[str, Any] | None:
        """The next message on `channel`, or None after `timeout` seconds."""
        if channel not in self.receiving:
            self.receiving[channel] = asyncio.ensure_future(self.layer.receive(channel))
        done, _ = await asyncio.wait({self.receiving[channel]}, timeout=timeout)
        if not done:
            return None
        return self.receiving.pop(channel).result()

    def close(self) -> None:
        for future in self.receiving.values():
            future.cancel()
        self.receiving.clear()
