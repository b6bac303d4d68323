"""Every frame is metered: sends and resumes per chat party (all the party's sockets,
every process: counted in Redis), heartbeats and frames of any kind per socket. A frame
over a limit gets `rate_limited` with `retry_after`; the socket stays open. While Redis
is down a socket falls back to limits of its own."""

import time
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from chat.consumers import CLOSE_TOO_MANY, CONNECT_BURST, RESUME_BURST, SEND_BURST
from chat.models import Message
from config.asgi import application
from config.ratelimit import SharedLimit
from config.sockets import FRAME_BURST, HEARTBEAT_BURST
from tests.chat.conftest import CUSTOMER_HEADERS, make_live_chat
from tests.sockets.helpers import Socket, logged_in, open_socket

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

WINDOW = 10  # the send and resume windows, clock-aligned


def fresh_window(needed: float = 4.0) -> None:
    """Wait for a new 10 s window when fewer than `needed` seconds are left of this one,
    so a test's burst is counted in one window."""
    left = WINDOW - time.time() % WINDOW
    if left < needed:
        time.sleep(left + 0.05)


async def new_chat():
    return await sync_to_async(make_live_chat)()


async def send_until_refused(socket, prefix: str, attempts: int) -> tuple[int, dict | None]:
    """Send up to `attempts` messages; the number acknowledged and the first refusal."""
    for i in range(attempts):
        await socket.send(type="send", client_msg_id=f"{prefix}-{i}", text="hello")
        while True:
            reply = await socket.receive()
            if reply["type"] == "ack":
                break
            if reply["type"] == "error":
                return i, reply
    return attempts, None


async def test_sends_are_limited_per_party_across_its_sockets():
    """Two sockets on one customer token share the customer's 20 sends per window; the
    CSR, another party, still sends."""
    chat = await new_chat()
    _, csr_headers = await logged_in(chat.csr)
    fresh_window()
    path = chat.customer_path()
    async with (
        open_socket(path, CUSTOMER_HEADERS, until="replay.done") as first,
        open_socket(path, CUSTOMER_HEADERS, until="replay.done") as second,
        open_socket(chat.csr_path(), csr_headers, until="replay.done") as csr,
    ):
        half = SEND_BURST // 2
        assert await send_until_refused(first, "a", half) == (half, None)
        acked, refusal = await send_until_refused(second, "b", SEND_BURST)
        assert acked == SEND_BURST - half
        assert refusal["code"] == "rate_limited"
        assert refusal["client_msg_id"] == f"b-{acked}"
        assert 1 <= refusal["retry_after"] <= WINDOW
        _, refusal = await send_until_refused(first, "c", 1)
        assert refusal["code"] == "rate_limited"
        assert await second.alive()
        assert await send_until_refused(csr, "csr", 3) == (3, None)
    customer_messages = Message.objects.filter(interaction_id=chat.id, sender_kind="customer")
    assert await sync_to_async(customer_messages.count)() == SEND_BURST


async def test_resumes_are_limited_per_party():
    """A resume replays the chat: a few per window per party, then rate_limited (no
    replay), on any of the party's sockets."""
    chat = await new_chat()
    fresh_window()
    path = chat.customer_path()
    async with (
        open_socket(path, CUSTOMER_HEADERS, until="replay.done") as first,
        open_socket(path, CUSTOMER_HEADERS, until="replay.done") as second,
    ):
        for _ in range(RESUME_BURST):
            await first.send(type="resume", last_seq=0)
            assert (await first.receive_type("replay.done"))["type"] == "replay.done"
        await second.send(type="resume", last_seq=0)
        refusal = await second.receive()
        assert refusal["type"] == "error"
        assert refusal["code"] == "rate_limited"
        assert refusal["retry_after"] >= 1
        assert await second.alive()
        assert await second.communicator.receive_nothing(timeout=0.2)


@pytest.mark.parametrize("path", ["/ws/agent/", "chat"])
async def test_heartbeats_beyond_a_few_per_ten_seconds_are_refused(path):
    chat = await new_chat()
    _, headers = await logged_in(chat.csr)
    until = "state" if path == "/ws/agent/" else "replay.done"
    async with open_socket(
        chat.csr_path() if path == "chat" else path, headers, until=until
    ) as socket:
        for _ in range(HEARTBEAT_BURST):
            assert await socket.alive()
        await socket.send(type="heartbeat")
        refusal = await socket.receive_type("error")
        assert refusal["code"] == "rate_limited"
        assert refusal["retry_after"] >= 1
        await socket.send(type="dance")  # other frames are still handled
        assert (await socket.receive_type("error"))["code"] == "unknown_type"


async def test_any_frame_beyond_the_sockets_budget_is_refused():
    """A flood of frames no limit of their own covers (read marks) is cut off."""
    chat = await new_chat()
    async with open_socket(chat.customer_path(), CUSTOMER_HEADERS, until="replay.done") as sock:
        for _ in range(FRAME_BURST + 20):
            await sock.send(type="read", seq=0)
        refusal = await sock.receive_type("error")
        assert refusal["code"] == "rate_limited"
        assert "messages" in refusal["message"]


async def test_while_redis_is_down_each_socket_has_its_own_limit(settings):
    """The shared counters cannot be reached: sends still work, limited per socket (two
    panels of one CSR may then send 20 each), and the sockets stay open."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"},
    }
    chat = await new_chat()
    _, headers = await logged_in(chat.csr)
    async with (
        open_socket(chat.csr_path(), headers, until="replay.done") as one,
        open_socket(chat.csr_path(), headers, until="replay.done") as two,
    ):
        for socket, prefix in ((one, "one"), (two, "two")):
            acked, refusal = await send_until_refused(socket, prefix, 3 * SEND_BURST)
            assert SEND_BURST <= acked < 2 * SEND_BURST
            assert refusal["code"] == "rate_limited"
            assert await socket.alive()


async def test_a_shared_limit_counts_for_every_holder_of_its_key():
    fresh_window(needed=1.0)
    key = f"test-shared:{uuid.uuid4().hex}"
    one, two = (SharedLimit(key, events=3, window_seconds=WINDOW) for _ in range(2))
    assert [one.take(), two.take(), one.take()] == [0, 0, 0]
    assert 1 <= two.take() <= WINDOW
    assert 1 <= one.take() <= WINDOW


async def test_connects_are_limited_per_party():
    """Each connect replays the chat: a party opening more than CONNECT_BURST sockets in
    a window gets rate_limited with retry_after and the close code 4429; another party
    still connects."""
    chat = await new_chat()
    _, csr_headers = await logged_in(chat.csr)
    fresh_window()
    path = chat.customer_path()
    for _ in range(CONNECT_BURST):
        async with open_socket(path, CUSTOMER_HEADERS, until="replay.done"):
            pass
    communicator = WebsocketCommunicator(application, path, headers=CUSTOMER_HEADERS)
    connected, _ = await communicator.connect()
    assert connected  # accepted, then closed: browsers see the code
    frames, code = await Socket(communicator).closed_with()
    assert code == CLOSE_TOO_MANY
    [refusal] = frames
    assert refusal["code"] == "rate_limited"
    assert 1 <= refusal["retry_after"] <= WINDOW
    async with open_socket(chat.csr_path(), csr_headers, until="replay.done") as csr:
        assert await csr.alive()
