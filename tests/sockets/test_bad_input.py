"""Frames that used to kill a socket get a typed error instead, and the socket stays
open: strings the database cannot store (a lone surrogate, NUL), ids beyond any row
(≥ 2**63) or of the wrong type, numbers Python will not parse, nested objects."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from chat.models import Message
from config.asgi import application
from config.users import Role
from routing.models import CSRStatus
from routing.services.presence import csr_profile_ensure
from tests.chat.conftest import CUSTOMER_HEADERS, make_live_chat
from tests.factories import user_factory
from tests.sockets.helpers import logged_in, open_socket

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

LONE_SURROGATE = "\\ud800"  # as JSON carries it: decodes to an unpaired surrogate
NUL = "\\u0000"


async def new_chat():
    return await sync_to_async(make_live_chat)()


async def stored_texts(chat) -> list[str]:
    query = Message.objects.filter(interaction_id=chat.id).values_list("text", flat=True)
    return await sync_to_async(list)(query)


@pytest.mark.parametrize(
    ("text", "client_msg_id", "echoed"),
    [
        (f"hi {LONE_SURROGATE}", "m-1", True),
        (f"hi {NUL} there", "m-1", True),
        ("hi", f"m-{LONE_SURROGATE}", False),
        ("hi", f"m-{NUL}", False),
    ],
)
async def test_unstorable_text_in_a_send_gets_bad_text(text, client_msg_id, echoed):
    chat = await new_chat()
    async with open_socket(chat.customer_path(), CUSTOMER_HEADERS, until="replay.done") as sock:
        frame = f'{{"type": "send", "client_msg_id": "{client_msg_id}", "text": "{text}"}}'
        await sock.send_raw(frame)
        error = await sock.receive_type("error")
        assert error["code"] == "bad_text"
        assert ("client_msg_id" in error) is echoed
        assert await sock.alive()
        # The same socket still sends.
        await sock.send(type="send", client_msg_id="m-2", text="fine")
        assert (await sock.receive_type("ack"))["client_msg_id"] == "m-2"
    assert await stored_texts(chat) == ["fine"]


async def test_a_surrogate_pair_is_text_like_any_other():
    """Escaped surrogate pairs decode to one character (an emoji): stored as sent."""
    chat = await new_chat()
    async with open_socket(chat.customer_path(), CUSTOMER_HEADERS, until="replay.done") as sock:
        await sock.send_raw('{"type": "send", "client_msg_id": "e", "text": "ok \\ud83d\\ude00"}')
        assert (await sock.receive_type("ack"))["client_msg_id"] == "e"
    assert await stored_texts(chat) == ["ok \U0001f600"]


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "send", "client_msg_id": {"nested": [1, 2]}, "text": "x"},
        {"type": "send", "client_msg_id": "n-1", "text": {"nested": {"deeper": [1]}}},
        {"type": "send"},
        {"type": "resume", "last_seq": 2**200},
        {"type": "resume", "last_seq": -1},
        {"type": "resume", "last_seq": "3"},
        {"type": "read", "seq": 2**200},
        {"type": "read", "seq": 1.5},
        {"type": "typing", "active": "yes"},
        {"type": "typing"},
        {"type": "authenticate", "token": {"customer_id": 2**200, "expires_at": 2**200}},
        {"type": "authenticate", "token": {"expires_at": -(2**70), "signature": None}},
        {"type": ["send"]},
        {"type": "heartbeat", "extra": {"a": [{"b": None}]}},
    ],
)
async def test_odd_frames_on_the_customer_socket_never_close_it(frame):
    chat = await new_chat()
    async with open_socket(chat.customer_path(), CUSTOMER_HEADERS, until="replay.done") as sock:
        await sock.send(**frame)
        assert await sock.alive()


async def test_a_number_python_will_not_parse_is_bad_json():
    chat = await new_chat()
    async with open_socket(chat.customer_path(), CUSTOMER_HEADERS, until="replay.done") as sock:
        await sock.send_raw('{"type": "resume", "last_seq": ' + "9" * 5000 + "}")
        assert (await sock.receive_type("error"))["code"] == "bad_json"
        assert await sock.alive()


async def test_a_huge_last_seq_in_the_url_asks_for_a_resync():
    chat = await new_chat()
    path = chat.customer_path() + "&last_seq=" + "9" * 5000
    communicator = WebsocketCommunicator(application, path, headers=CUSTOMER_HEADERS)
    try:
        assert (await communicator.connect(timeout=5))[0]
        assert (await communicator.receive_json_from(timeout=5))["type"] == "hello"
        assert (await communicator.receive_json_from(timeout=5))["type"] == "resync.required"
    finally:
        await communicator.disconnect()


@pytest.mark.parametrize("prefix", ["/ws/customer/", "/ws/chat/"])
async def test_an_interaction_id_beyond_any_row_is_refused_like_an_unknown_one(prefix):
    chat = await new_chat()
    headers = CUSTOMER_HEADERS
    if prefix == "/ws/chat/":
        _, headers = await logged_in(chat.csr)
    path = f"{prefix}{2**64}/?token={chat.token}"
    communicator = WebsocketCommunicator(application, path, headers=headers)
    try:
        assert (await communicator.connect(timeout=5))[0]
        error = await communicator.receive_json_from(timeout=5)
        assert error["code"] in ("not_party", "not_found")
        assert (await communicator.receive_output(timeout=5))["code"] == 4403
    finally:
        await communicator.disconnect()


# --- /ws/agent/ -------------------------------------------------------------------------


async def new_csr():
    def make():
        user = user_factory(role=Role.CSR)
        profile = csr_profile_ensure(user=user)
        profile.status = CSRStatus.AVAILABLE
        profile.save()
        return user

    return await sync_to_async(make)()


@pytest.mark.parametrize("kind", ["accept", "decline"])
@pytest.mark.parametrize("offer_id", [2**63, 2**64, 2**200, 0, -1, "7", 1.5, True, None, [1]])
async def test_an_offer_id_that_names_no_row_gets_bad_offer_id(kind, offer_id):
    csr = await new_csr()
    _, headers = await logged_in(csr)
    async with open_socket("/ws/agent/", headers, until="state") as agent:
        await agent.send(type=kind, offer_id=offer_id)
        error = await agent.receive_type("error")
        assert error["code"] == "bad_offer_id"
        assert await agent.alive()


async def test_the_largest_possible_offer_id_is_just_unavailable():
    csr = await new_csr()
    _, headers = await logged_in(csr)
    async with open_socket("/ws/agent/", headers, until="state") as agent:
        await agent.send(type="accept", offer_id=2**63 - 1)
        assert (await agent.receive_type("error"))["code"] == "offer_unavailable"


@pytest.mark.parametrize(
    "frame",
    [
        f'{{"type": "decline", "offer_id": 5, "reason": "{NUL}"}}',
        f'{{"type": "set_status", "status": "away", "reason": "lunch{LONE_SURROGATE}"}}',
        f'{{"type": "set_status", "status": "{NUL}"}}',
        f'{{"type": "heartbeat", "{LONE_SURROGATE}": 1}}',
    ],
)
async def test_unstorable_text_on_the_agent_socket_gets_bad_text(frame):
    csr = await new_csr()
    _, headers = await logged_in(csr)
    async with open_socket("/ws/agent/", headers, until="state") as agent:
        await agent.send_raw(frame)
        assert (await agent.receive_type("error"))["code"] == "bad_text"
        assert await agent.alive()


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "set_status", "status": {"a": 1}},
        {"type": "set_status", "status": "away", "reason": 2**70},
        {"type": "set_status", "status": "away", "reason": "x" * 100_000},
        {"type": "set_status"},
        {"type": "decline", "offer_id": 5, "reason": ["x"]},
        {"type": "accept"},
    ],
)
async def test_odd_frames_on_the_agent_socket_get_an_error_and_never_close_it(frame):
    csr = await new_csr()
    _, headers = await logged_in(csr)
    async with open_socket("/ws/agent/", headers, until="state") as agent:
        await agent.send(**frame)
        assert (await agent.receive_type("error"))["type"] == "error"
        assert await agent.alive()
