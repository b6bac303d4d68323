"""The CSR's socket /ws/agent/: who may open it, heartbeats, errors, and that it
survives being idle (redis-py 8's 5 s read timeout, channels_redis issue 422)."""

import asyncio
from datetime import datetime, timedelta

import pytest
from channels.db import database_sync_to_async
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from chat.events import csr_group as agent_group
from config.asgi import application
from config.users import Role
from routing.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from tests.factories import user_factory
from tests.layers import layer_close
from tests.routing.conftest import HOST_HEADER, ORIGIN_HEADER

PATH = "/ws/agent/"
IDLE_SECONDS = 12  # more than twice redis-py 8's default 5 s read timeout

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def close_code(communicator: WebsocketCommunicator) -> int | None:
    message = await communicator.receive_output(timeout=5)
    assert message["type"] == "websocket.close", message
    return message.get("code")


@pytest.mark.slow
async def test_idle_csr_socket_stays_open_and_still_receives_group_events(csr, csr_headers):
    """A CSR's socket idle for 12 s is still open, gets a group_send from another
    layer instance (another process, in production) and answers a heartbeat."""
    communicator = WebsocketCommunicator(application, PATH, headers=csr_headers)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "state"
    try:
        await asyncio.sleep(IDLE_SECONDS)
        if communicator.future.done():
            pytest.fail(f"the consumer stopped while idle: {communicator.future.exception()!r}")
        assert await communicator.receive_nothing(timeout=0.1)

        payload = {"type": "offer.test", "interaction_id": 7, "seq": 1}
        other_layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
        try:
            await other_layer.group_send(
                agent_group(csr.pk), {"type": "agent.event", "payload": payload}
            )
        finally:
            await layer_close(other_layer)
        assert await communicator.receive_json_from(timeout=5) == payload

        await communicator.send_json_to({"type": "heartbeat"})
        assert (await communicator.receive_json_from(timeout=5))["type"] == "heartbeat.ack"
    finally:
        await communicator.disconnect()


async def test_heartbeat_is_acknowledged_with_the_server_time(csr_headers):
    """`heartbeat` → `heartbeat.ack` carrying the server's time, timezone-aware."""
    communicator = WebsocketCommunicator(application, PATH, headers=csr_headers)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "state"
    try:
        await communicator.send_json_to({"type": "heartbeat"})
        reply = await communicator.receive_json_from(timeout=5)
        assert reply["type"] == "heartbeat.ack"
        at = datetime.fromisoformat(reply["at"])
        assert at.tzinfo is not None
        assert abs(timezone.now() - at) < timedelta(seconds=30)
    finally:
        await communicator.disconnect()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"text_data": '{"type": "dance"}'}, "unknown_type"),
        ({"text_data": '{"no_type": true}'}, "unknown_type"),
        ({"text_data": "{not json"}, "bad_json"),
        ({"text_data": "[1, 2]"}, "bad_json"),
        ({"bytes_data": b"\x00\x01"}, "bad_json"),
    ],
)
async def test_bad_messages_get_an_error_and_the_socket_stays_open(csr_headers, frame, code):
    """An unknown type or malformed frame is answered with an error; the socket lives on."""
    communicator = WebsocketCommunicator(application, PATH, headers=csr_headers)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "state"
    try:
        await communicator.send_to(**frame)
        reply = await communicator.receive_json_from(timeout=5)
        assert reply["type"] == "error"
        assert reply["code"] == code
        assert reply["message"]
        await communicator.send_json_to({"type": "heartbeat"})
        assert (await communicator.receive_json_from(timeout=5))["type"] == "heartbeat.ack"
    finally:
        await communicator.disconnect()


async def test_csr_manager_may_open_the_socket(headers_for):
    """CSR managers take chats too: their socket is accepted."""
    manager = await database_sync_to_async(user_factory)(role=Role.CSR_MANAGER)
    headers = await database_sync_to_async(headers_for)(manager)
    communicator = WebsocketCommunicator(application, PATH, headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "state"
    try:
        await communicator.send_json_to({"type": "heartbeat"})
        assert (await communicator.receive_json_from(timeout=5))["type"] == "heartbeat.ack"
    finally:
        await communicator.disconnect()


async def test_unauthenticated_socket_is_closed_with_4401():
    """No session → the socket is closed with 4401 before anything is sent."""
    communicator = WebsocketCommunicator(application, PATH, headers=[ORIGIN_HEADER, HOST_HEADER])
    try:
        await communicator.connect()
        assert await close_code(communicator) == CLOSE_UNAUTHENTICATED
    finally:
        await communicator.disconnect()


@pytest.mark.parametrize("role", [None, Role.ADMINISTRATOR])
async def test_user_without_a_csr_role_is_closed_with_4403(headers_for, role):
    """Logged in but neither CSR nor CSR manager → closed with 4403."""
    user = await database_sync_to_async(user_factory)(role=role)
    headers = await database_sync_to_async(headers_for)(user)
    communicator = WebsocketCommunicator(application, PATH, headers=headers)
    try:
        await communicator.connect()
        assert await close_code(communicator) == CLOSE_FORBIDDEN
    finally:
        await communicator.disconnect()


async def test_socket_without_origin_is_refused(csr, csr_headers):
    """Without an Origin header the handshake is refused, even with a valid session."""
    cookie_only = [header for header in csr_headers if header[0] != b"origin"]
    communicator = WebsocketCommunicator(application, PATH, headers=cookie_only)
    try:
        connected, _ = await communicator.connect()
        assert not connected
    finally:
        await communicator.disconnect()


async def test_socket_from_a_foreign_origin_is_refused(csr_headers):
    """An Origin outside ALLOWED_HOSTS is refused like a missing one."""
    headers = [h for h in csr_headers if h[0] != b"origin"] + [(b"origin", b"http://evil.test")]
    communicator = WebsocketCommunicator(application, PATH, headers=headers)
    try:
        connected, _ = await communicator.connect()
        assert not connected
    finally:
        await communicator.disconnect()
