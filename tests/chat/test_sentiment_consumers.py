"""The `sentiment` event on the live chat sockets, through the real ASGI stack and the
real Redis channel layer: the CSR's and the CSR manager's sockets get it, the
customer's socket (which shares the interaction's group) never does."""

import itertools

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from chat import events, schemas
from chat.events import interaction_group
from chat.models import Interaction, SenderKind
from chat.services.messages import message_send
from config.users import Role
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

_ids = itertools.count(1)


def customer_says(chat, text: str) -> int:
    """A customer message, committed: its scoring task runs (eagerly) and publishes."""
    return message_send(
        interaction_id=chat.id,
        sender_kind=SenderKind.CUSTOMER,
        text=text,
        client_msg_id=f"c-{next(_ids)}",
    ).message.seq


async def test_the_csr_gets_sentiment_and_the_customer_never_does():
    """After a customer message the CSR's socket gets the message, then `sentiment`
    for it; the customer's socket gets the message and nothing more."""
    chat = await sync_to_async(make_live_chat)()
    csr_headers = await database_sync_to_async(login_headers)(chat.csr)
    async with (
        chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer,
        chat_socket(chat.csr_path(), csr_headers) as csr,
    ):
        seq = await sync_to_async(customer_says)(chat, "This is useless!! 😡")
        frame = await csr.receive_type("sentiment")
        assert_shape(frame, schemas.SentimentPayload)
        assert frame["interaction_id"] == chat.id
        assert frame["seq"] == seq
        assert frame["label"] == "negative"
        assert [m["seq"] for m in frame["messages"]] == [seq]
        assert [f["seq"] for f in csr.skipped if f["type"] == "message"] == [seq]

        own = await customer.receive()
        assert (own["type"], own["seq"]) == ("message", seq)
        # The CSR had it, so the layer delivered it to the whole group: the customer's
        # socket dropped it.
        assert await customer.nothing(timeout=1.0)


async def test_a_sentiment_event_from_elsewhere_is_not_forwarded_to_the_customer():
    """Whoever publishes it, a `sentiment` payload on the group stops at the customer's
    socket; the next event still arrives."""
    chat = await sync_to_async(make_live_chat)()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        group = interaction_group(chat.id)
        fake = {"type": "sentiment", "interaction_id": chat.id, "seq": 0, "label": "negative"}
        await publish_to_group(group, fake)
        typing = {
            "type": "typing",
            "interaction_id": chat.id,
            "from": "csr",
            "active": True,
            "name": "Alex",
        }
        await publish_to_group(group, typing)
        assert (await customer.receive())["type"] == "typing"
        assert await customer.nothing(timeout=0.5)


async def test_a_csr_manager_watching_gets_sentiment():
    chat = await sync_to_async(make_live_chat)()
    manager = await sync_to_async(user_factory)(role=Role.CSR_MANAGER)
    headers = await database_sync_to_async(login_headers)(manager)
    async with chat_socket(chat.csr_path(), headers) as observer:
        assert observer.hello["role"] == "observer"
        seq = await sync_to_async(customer_says)(chat, "Thank you, that's perfect 😊")
        frame = await observer.receive_type("sentiment")
        assert (frame["seq"], frame["label"]) == (seq, "positive")


async def test_sentiment_arrives_after_the_message_it_scores():
    """If the layer dropped the message, the CSR's socket reads it from the database
    before forwarding its sentiment."""
    chat = await sync_to_async(make_live_chat)()
    csr_headers = await database_sync_to_async(login_headers)(chat.csr)
    async with chat_socket(chat.csr_path(), csr_headers) as csr:

        def stored_then_scored() -> int:
            original = events.message_created
            events.message_created = lambda **kwargs: None  # the layer loses the message
            try:
                customer_says(chat, "worst service ever")
            finally:
                events.message_created = original
            return Interaction.objects.get(pk=chat.id).sentiment_seq

        seq = await sync_to_async(stored_then_scored)()
        assert seq > 0
        frames = await csr.until_type("sentiment")
        assert [(f["type"], f.get("seq")) for f in frames] == [("message", seq), ("sentiment", seq)]


async def test_a_reconnecting_csr_socket_gets_the_stored_sentiment_after_the_replay():
    """A `sentiment` event is not replayed with the messages: a CSR socket that (re)
    connects gets the stored one right after `replay.done`; an unscored chat sends none."""
    chat = await sync_to_async(make_live_chat)()
    csr_headers = await database_sync_to_async(login_headers)(chat.csr)
    async with chat_socket(chat.csr_path(), csr_headers) as csr:
        assert csr.opening[-1]["type"] == "replay.done"
        assert await csr.nothing(timeout=0.5)
    seq = await sync_to_async(customer_says)(chat, "This is useless!! 😡")
    async with chat_socket(chat.csr_path(last_seq=seq), csr_headers) as csr:
        assert csr.opening[-1]["type"] == "replay.done"
        frame = await csr.receive()
        assert_shape(frame, schemas.SentimentPayload)
        assert (frame["type"], frame["seq"], frame["label"]) == ("sentiment", seq, "negative")
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        assert customer.opening[-1]["type"] == "replay.done"
        assert await customer.nothing(timeout=0.5)
