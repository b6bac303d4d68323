"""Live events published from sync code (config.realtime) reach their group right after
a Redis restart: the first command on each pooled connection then fails, and the batch
is sent again on a fresh one instead of being lost."""

import asyncio
import os

import pytest
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers

from config import realtime
from tests.layers import PatientReceiver, layer_close
from tests.reliability.redis_server import RedisProcess, layer_settings

GROUP = "restart-probe"


@pytest.fixture(params=["pubsub", "core"])
def layer_redis(request, settings):
    """The channel layer on a private Redis, running."""
    with RedisProcess() as redis:
        redis.start()
        settings.CHANNEL_LAYERS = layer_settings(request.param, redis.url, f"restart{os.getpid()}")
        yield redis


def publish(n: int) -> None:
    realtime.group_send_many([(GROUP, {"type": "probe", "n": n})])
    assert realtime.flush()


async def next_probe(receiver: PatientReceiver, channel: str) -> int | None:
    message = await receiver.next(channel, timeout=3)
    return None if message is None else message["n"]


async def listen(layer) -> tuple[PatientReceiver, str]:
    channel = await layer.new_channel()
    await layer.group_add(GROUP, channel)
    return PatientReceiver(layer), channel


@pytest.mark.asyncio
async def test_the_first_event_after_a_redis_restart_is_delivered(layer_redis):
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    receiver, channel = await listen(layer)
    try:
        await asyncio.to_thread(publish, 1)  # the publisher now holds pooled connections
        assert await next_probe(receiver, channel) == 1
    finally:
        receiver.close()
        await layer_close(layer)

    await asyncio.to_thread(layer_redis.kill)
    await asyncio.to_thread(layer_redis.start)

    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    receiver, channel = await listen(layer)
    try:
        await asyncio.to_thread(publish, 2)
        assert await next_probe(receiver, channel) == 2
    finally:
        receiver.close()
        await layer_close(layer)
