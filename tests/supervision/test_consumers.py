"""/ws/supervision/: managers only; a snapshot, then the rows that changed."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from chat.models import InteractionStatus
from config.asgi import application
from supervision import events
from tests.routing.conftest import login_headers

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def _connect(user, view="queues"):
    headers = await sync_to_async(login_headers)(user)
    communicator = WebsocketCommunicator(
        application, f"/ws/supervision/?view={view}", headers=headers
    )
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def test_a_csr_is_refused_with_4403(make_csr):
    csr = await sync_to_async(make_csr)()
    socket = await _connect(csr)
    try:
        error = await socket.receive_json_from(timeout=5)
        assert error["type"] == "error" and error["code"] == "forbidden"
        closed = await socket.receive_output(timeout=5)
        assert closed["type"] == "websocket.close" and closed["code"] == 4403
    finally:
        await socket.disconnect()


async def test_an_anonymous_socket_is_refused_with_4401():
    socket = WebsocketCommunicator(
        application,
        "/ws/supervision/",
        headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")],
    )
    connected, _ = await socket.connect(timeout=5)
    try:
        assert connected
        await socket.receive_json_from(timeout=5)
        assert (await socket.receive_output(timeout=5))["code"] == 4401
    finally:
        await socket.disconnect()


async def test_the_queues_view_gets_a_snapshot_then_the_changed_queue(
    manager, make_csr, make_chat, queue
):
    await sync_to_async(make_csr)()
    socket = await _connect(manager)
    try:
        snapshot = await socket.receive_json_from(timeout=5)
        assert snapshot["type"] == "supervision.snapshot"
        assert [q["waiting"] for q in snapshot["queues"]] == [0]
        await sync_to_async(events.live_tick)()  # the baseline digests
        while not await socket.receive_nothing(timeout=0.3):
            await socket.receive_json_from()
        # An escalation: the tick publishes the queue's row (eager: at commit).
        await sync_to_async(make_chat)(status=InteractionStatus.QUEUED)
        await sync_to_async(events.live_tick)()
        update = await socket.receive_json_from(timeout=5)
        while update["type"] != "supervision.update" or not update.get("queues"):
            update = await socket.receive_json_from(timeout=5)
        assert update["queues"][0]["id"] == queue.pk and update["queues"][0]["waiting"] == 1
        assert "chats" not in update  # only this view's rows
    finally:
        await socket.disconnect()
