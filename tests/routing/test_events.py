"""Queue counts and customers' positions are published, only when they change."""

import asyncio

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from chat.events import interaction_group
from chat.models import InteractionStatus
from routing.events import queue_group, queue_state_publish

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def _subscribe(group: str) -> tuple:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    return layer, channel


# channel → its receive in flight. A receive is never cancelled: the pub/sub layer
# takes a cancelled receive for a closing consumer and unsubscribes the channel.
_receiving: dict[str, asyncio.Task] = {}


async def _drain(layer, channel, timeout=0.5) -> list[dict]:
    """What arrived on `channel` until nothing more came for `timeout` seconds."""
    received = []
    while True:
        task = _receiving.get(channel)
        if task is None:
            task = _receiving[channel] = asyncio.ensure_future(layer.receive(channel))
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            return received
        del _receiving[channel]
        received.append(task.result()["payload"])


@pytest_asyncio.fixture(autouse=True)
async def _stop_receiving():
    yield
    for task in _receiving.values():
        task.cancel()
    _receiving.clear()


async def test_waiting_customers_get_their_position_once_per_change(make_interaction):
    first = await database_sync_to_async(make_interaction)()
    second = await database_sync_to_async(make_interaction)()
    layer, first_channel = await _subscribe(interaction_group(first.pk))
    _, second_channel = await _subscribe(interaction_group(second.pk))
    _, queue_channel = await _subscribe(queue_group(first.queue_id))

    await database_sync_to_async(queue_state_publish)(queue_id=first.queue_id)
    assert await _drain(layer, second_channel) == [
        {
            "type": "queue.position",
            "interaction_id": second.pk,
            "position": 2,
            "estimated_wait_seconds": None,
        }
    ]
    assert (await _drain(layer, first_channel))[0]["position"] == 1
    counts = await _drain(layer, queue_channel)
    assert counts[0]["queue"]["waiting"] == 2

    # Nothing changed: no position is sent again (the counts are).
    await database_sync_to_async(queue_state_publish)(queue_id=first.queue_id)
    assert await _drain(layer, second_channel) == []

    # The first one is taken: the second moves up.
    first.status = InteractionStatus.ACTIVE
    await database_sync_to_async(first.save)()
    await database_sync_to_async(queue_state_publish)(queue_id=first.queue_id)
    assert [p["position"] for p in await _drain(layer, second_channel)] == [1]
