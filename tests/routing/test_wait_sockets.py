"""The long-wait choice on the customer's socket /ws/customer/<id>/: offered on connect
while it stands (a server restart loses nothing), answered with `wait.choice`, each
answer idempotent, bad frames refused with a typed error on a socket that stays open."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.utils import timezone

from chat.events import interaction_group
from chat.models import Interaction, InteractionStatus
from chat.signals import customer_chat_payloads
from config.users import Role
from routing import schemas
from routing.models import LongWait, LongWaitChoice
from routing.services.waits import long_wait_offer
from tests.chat.conftest import (
    CUSTOMER_HEADERS,
    assert_shape,
    chat_socket,
    make_live_chat,
    publish_to_group,
)
from tests.factories import user_factory
from tests.routing.conftest import login_headers

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def _long_waiting_chat(*, offered: bool = True):
    chat = make_live_chat(
        status=InteractionStatus.QUEUED, queued_at=timezone.now() - timedelta(seconds=700)
    )
    queue = chat.interaction.queue
    queue.max_wait_seconds = 600
    queue.save()
    if offered:
        assert long_wait_offer(interaction_id=chat.id)
    return chat


async def _answer(customer) -> dict:
    """The direct answer to a `wait.choice` (the one with `duplicate`); the broadcast
    `wait.chosen` every customer socket of the chat gets may come before it."""
    while True:
        frame = await customer.receive_type("wait.chosen")
        if "duplicate" in frame:
            return frame


async def test_a_customer_who_waited_past_the_maximum_gets_the_choice_on_every_connect():
    chat = await sync_to_async(_long_waiting_chat)()
    for _ in range(2):  # as after a server restart: the choice is read from the database
        async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
            position = await customer.receive()
            assert (position["type"], position["position"]) == ("queue.position", 1)
            options = await customer.receive()
            assert_shape(options, schemas.WaitOptionsPayload)
            assert options["choices"] == ["keep_waiting", "leave_message", "end"]
            assert options["waited_seconds"] >= 700


async def test_keep_waiting_is_answered_and_a_retry_is_a_duplicate():
    chat = await sync_to_async(_long_waiting_chat)()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await customer.receive_type("wait.options")
        await customer.send(type="wait.choice", choice="keep_waiting")
        assert await _answer(customer) == {
            "type": "wait.chosen",
            "interaction_id": chat.id,
            "choice": "keep_waiting",
            "duplicate": False,
        }
        await customer.send(type="wait.choice", choice="keep_waiting")
        assert (await _answer(customer))["duplicate"] is True
    # The choice was made: a socket opening now is not offered it again.
    interaction = await database_sync_to_async(Interaction.objects.get)(pk=chat.id)
    opening = await database_sync_to_async(customer_chat_payloads)(interaction=interaction)
    assert [p["type"] for p in opening] == ["queue.position"]
    wait = await database_sync_to_async(LongWait.objects.get)()
    assert wait.choice == LongWaitChoice.KEEP_WAITING


async def test_leaving_a_message_ends_the_chat_for_the_customer():
    chat = await sync_to_async(_long_waiting_chat)()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await customer.receive_type("wait.options")
        await customer.send(type="wait.choice", choice="leave_message", text="Call me back")
        frames = await customer.until_type("interaction.status")
        assert frames[-1]["status"] == "abandoned"
        texts = [f["text"] for f in frames if f["type"] == "message"]
        assert "Call me back" in texts
        # A retry (the answer was lost with the connection) gets the same answer.
        await customer.send(type="wait.choice", choice="leave_message", text="Call me back")
        answer = await _answer(customer)
        while not answer["duplicate"]:  # the first answer, to the first send
            answer = await _answer(customer)
        assert answer["choice"] == "leave_message"
    wait = await database_sync_to_async(LongWait.objects.get)()
    assert wait.follow_up_text == "Call me back"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "wait.choice"}, "bad_json"),
        ({"type": "wait.choice", "choice": 3}, "bad_json"),
        ({"type": "wait.choice", "choice": "leave_message"}, "bad_json"),
        ({"type": "wait.choice", "choice": "leave_message", "text": ["hi"]}, "bad_json"),
        ({"type": "wait.choice", "choice": "later"}, "bad_wait_choice"),
        ({"type": "wait.choice", "choice": "leave_message", "text": " "}, "empty"),
        ({"type": "wait.choice", "choice": "leave_message", "text": "\ud800"}, "bad_text"),
    ],
)
async def test_bad_choice_frames_get_a_typed_error_and_the_socket_stays_open(frame, code):
    chat = await sync_to_async(_long_waiting_chat)()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await customer.receive_type("wait.options")
        await customer.communicator.send_json_to(frame)
        error = await customer.receive_type("error")
        assert error["code"] == code
        await customer.send(type="heartbeat")
        assert (await customer.receive_type("heartbeat.ack"))["type"] == "heartbeat.ack"
    wait = await database_sync_to_async(LongWait.objects.get)()
    assert wait.choice == LongWaitChoice.PENDING


async def test_a_choice_before_one_is_offered_is_refused():
    chat = await sync_to_async(_long_waiting_chat)(offered=False)
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await customer.receive_type("queue.position")
        await customer.send(type="wait.choice", choice="end")
        assert (await customer.receive_type("error"))["code"] == "no_wait_choice"
    interaction = chat.interaction
    await database_sync_to_async(interaction.refresh_from_db)()
    assert interaction.status == InteractionStatus.QUEUED


async def test_the_choice_is_the_customers_only():
    """CSR managers watching do not get the choice, and cannot make it."""
    chat = await sync_to_async(_long_waiting_chat)()
    manager = await database_sync_to_async(user_factory)(role=Role.CSR_MANAGER)
    headers = await database_sync_to_async(login_headers)(manager)
    async with chat_socket(chat.csr_path(), headers) as observer:
        await publish_to_group(
            interaction_group(chat.id),
            {"type": "wait.chosen", "interaction_id": chat.id, "choice": "end"},
        )
        assert await observer.nothing()
        await observer.send(type="wait.choice", choice="end")
        assert (await observer.receive_type("error"))["code"] == "unknown_type"


async def test_wait_choices_count_against_the_customers_sends():
    """leave_message stores a message, so choices share the party's send allowance: past
    it a choice is refused with rate_limited and retry_after, and the socket stays open."""
    from chat.consumers import SEND_BURST, SEND_WINDOW_SECONDS
    from tests.sockets.test_limits import fresh_window

    chat = await sync_to_async(_long_waiting_chat)()
    fresh_window()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await customer.receive_type("wait.options")
        for _ in range(SEND_BURST):
            await customer.send(type="wait.choice", choice="keep_waiting")
            await _answer(customer)
        await customer.send(type="wait.choice", choice="keep_waiting")
        refusal = await customer.receive_type("error")
        assert refusal["code"] == "rate_limited"
        assert 1 <= refusal["retry_after"] <= SEND_WINDOW_SECONDS
        await customer.send(type="ping")
        assert (await customer.receive_type("error"))["code"] != "rate_limited"
