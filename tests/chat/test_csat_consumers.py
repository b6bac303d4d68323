"""The satisfaction survey on the chat sockets: `csat.request` to the customer's widget
when the chat ends and again on reconnect, `csat.answer` with its answer."""

import pytest
from asgiref.sync import sync_to_async

from chat import schemas
from chat.models import SatisfactionRating, SenderKind, SystemEvent
from chat.services.interactions import interaction_end
from tests.chat.conftest import (
    CUSTOMER_HEADERS,
    assert_shape,
    chat_socket,
    make_live_chat,
)
from tests.routing.conftest import login_headers

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def open_pair(chat):
    csr_headers = await sync_to_async(login_headers)(chat.csr)
    return (
        chat_socket(chat.customer_path(), CUSTOMER_HEADERS),
        chat_socket(chat.csr_path(), csr_headers),
    )


async def drain(socket, seconds: float = 0.5) -> list[dict]:
    """Every frame the socket gets until none arrives for `seconds`."""
    frames = list(socket.skipped)
    socket.skipped.clear()
    while not await socket.communicator.receive_nothing(timeout=seconds):
        frames.append(await socket.communicator.receive_json_from())
    return frames


async def test_the_widget_is_asked_when_the_csr_ends_the_chat_and_the_csr_is_not():
    """After the end the customer's socket gets `interaction.status` then `csat.request`
    (question, five labelled choices); the CSR's socket never gets it."""
    chat = await sync_to_async(make_live_chat)()
    customer_socket, csr_socket = await open_pair(chat)
    async with customer_socket as customer, csr_socket as csr:
        await csr.send(type="end")
        request = await customer.receive_type("csat.request")
        assert_shape(request, schemas.CsatRequestPayload)
        assert request["interaction_id"] == chat.id
        assert [c["label"] for c in request["choices"]][::4] == [
            "Very dissatisfied",
            "Very satisfied",
        ]
        assert any(f["type"] == "interaction.status" for f in customer.skipped)
        await csr.receive_type("interaction.status")
        seen = [frame["type"] for frame in await drain(csr)]
        assert seen and not any(kind.startswith("csat") for kind in seen)


async def test_an_answer_is_acknowledged_once_and_the_csr_sees_the_rating():
    """`csat.answer` → `csat.answered` to the customer; the CSR's panel gets the internal
    message "Customer rated this chat 4/5: …"; a second answer is an error frame."""
    chat = await sync_to_async(make_live_chat)()
    customer_socket, csr_socket = await open_pair(chat)
    async with customer_socket as customer, csr_socket as csr:
        await csr.send(type="end")
        await customer.receive_type("csat.request")
        await customer.send(type="csat.answer", rating=4, comment="Thanks, Alex")
        answered = await customer.receive_type("csat.answered")
        assert answered == {"type": "csat.answered", "interaction_id": chat.id, "rating": 4}
        while True:
            frame = await csr.receive_type("message")
            if frame["event"] == SystemEvent.CSAT_ANSWERED:
                break
        assert frame["text"] == "Customer rated this chat 4/5: “Thanks, Alex”"
        assert frame["internal"] is True
        await customer.send(type="csat.answer", rating=1)
        error = await customer.receive_type("error")
        assert error["code"] == "csat_answered"
    row = await sync_to_async(SatisfactionRating.objects.get)(interaction_id=chat.id)
    assert (row.rating, row.answered_via) == (4, "widget")


@pytest.mark.parametrize(
    "content, code",
    [
        ({"rating": 9}, "bad_rating"),
        ({"rating": "4"}, "bad_rating"),
        ({}, "bad_json"),
        ({"rating": 4, "comment": 5}, "bad_json"),
        ({"rating": 4, "comment": "x" * 1001}, "comment_too_long"),
    ],
)
async def test_bad_answers_are_refused(content, code):
    chat = await sync_to_async(make_live_chat)()
    await sync_to_async(interaction_end)(interaction_id=chat.id, by=SenderKind.CSR, user=chat.csr)
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await customer.receive_type("csat.request")
        await customer.send(type="csat.answer", **content)
        assert (await customer.receive_type("error"))["code"] == code
    row = await sync_to_async(SatisfactionRating.objects.get)(interaction_id=chat.id)
    assert row.rating is None


async def test_a_reconnecting_widget_is_asked_again_until_it_answers():
    """A socket opened after the end gets `csat.request` after its replay while the
    survey is unanswered; not once it is answered; an open chat's socket never."""
    chat = await sync_to_async(make_live_chat)()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        assert await customer.nothing(0.3)
    await sync_to_async(interaction_end)(interaction_id=chat.id, by=SenderKind.CUSTOMER, user=None)
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        request = await customer.receive()
        assert request["type"] == "csat.request"
        await customer.send(type="csat.answer", rating=5)
        await customer.receive_type("csat.answered")
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        # (the live csat.answered of the socket before may still arrive)
        assert "csat.request" not in [frame["type"] for frame in await drain(customer)]


async def test_the_widget_cannot_answer_while_the_chat_is_open():
    chat = await sync_to_async(make_live_chat)()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await customer.send(type="csat.answer", rating=5)
        assert (await customer.receive_type("error"))["code"] == "csat_not_asked"
