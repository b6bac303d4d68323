"""Queue counts and customers' positions are published, only when they change."""

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from chat.events import interaction_group
from chat.models import InteractionStatus
from routing.events import queue_group, queue_state_publish
from tests.layers import PatientReceiver

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def _subscribe(group: str) -> tuple:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    return layer, channel


_receivers: dict[int, PatientReceiver] = {}  # id(layer) → its receiver


async def _drain(layer, channel, timeout=0.5) -> list[dict]:
    """What arrived on `channel` until nothing more came for `timeout` seconds."""
    receiver = _receivers.setdefault(id(layer), PatientReceiver(layer))
    received = []
    while (event := await receiver.next(channel, timeout)) is not None:
        received.append(event["payload"])
    return received


@pytest_asyncio.fixture(autouse=True)
async def _stop_receiving():
    yield
    for receiver in _receivers.values():
        receiver.close()
    _receivers.clear()


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
