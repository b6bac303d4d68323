"""Internal notes over real sockets: the CSR's `note` is acknowledged like a send and
reaches the panel whole and marked internal; the customer's socket gets only its place
in the sequence (live and on replay) and has no `note` to send; a manager watching may
note; refusals are clear and carry the client_msg_id."""

import pytest
from asgiref.sync import sync_to_async

from chat.consumers import SEND_BURST
from chat.models import InteractionStatus, Message, SenderKind, SystemEvent
from chat.services.messages import message_send
from config.users import Role
from tests.chat.conftest import (
    CUSTOMER_HEADERS,
    chat_socket,
    make_live_chat,
    send_until_refused,
)
from tests.factories import user_factory
from tests.routing.conftest import login_headers

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

SECRET = "Second contact about the same refund: be patient with them"


async def test_a_csr_note_is_acked_marked_internal_and_hidden_from_the_customer():
    chat = await sync_to_async(make_live_chat)()
    csr_headers = await sync_to_async(login_headers)(chat.csr)
    async with (
        chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer,
        chat_socket(chat.csr_path(), csr_headers) as panel,
    ):
        await panel.send(type="note", text=SECRET, client_msg_id="note-1")
        ack = await panel.receive_type("ack")
        assert ack["client_msg_id"] == "note-1" and ack["duplicate"] is False
        (frame,) = [f for f in await panel.until_seq(ack["seq"]) if f.get("seq") == ack["seq"]]
        assert frame["text"] == SECRET and frame["internal"] is True and frame["event"] == "note"
        # A retry is acknowledged as a duplicate, stored once.
        await panel.send(type="note", text=SECRET, client_msg_id="note-1")
        again = await panel.receive_type("ack")
        assert again["seq"] == ack["seq"] and again["duplicate"] is True
        await sync_to_async(message_send)(
            interaction_id=chat.id,
            sender_kind=SenderKind.CUSTOMER,
            text="Any news?",
            client_msg_id="c-1",
        )
        frames = await customer.until_seq(ack["seq"] + 1)
        assert [f for f in frames if f.get("seq") == ack["seq"]] == [
            {"type": "message", "interaction_id": chat.id, "seq": ack["seq"], "hidden": True}
        ]
        assert SECRET not in str(frames)
        assert frames[-1]["text"] == "Any news?"
    async with chat_socket(chat.customer_path(last_seq=0), CUSTOMER_HEADERS) as again_customer:
        assert SECRET not in str(again_customer.opening)
        assert ack["seq"] in again_customer.opening_seqs()
    count = await sync_to_async(
        Message.objects.filter(interaction_id=chat.id, event=SystemEvent.NOTE).count
    )()
    assert count == 1


async def test_the_customer_has_no_note_to_send():
    chat = await sync_to_async(make_live_chat)()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await customer.send(type="note", text=SECRET, client_msg_id="c-note")
        error = await customer.receive_type("error")
        assert error["code"] == "unknown_type" and "'note'" in error["message"]
    assert not await sync_to_async(
        Message.objects.filter(interaction_id=chat.id, event=SystemEvent.NOTE).exists
    )()


async def test_a_manager_watching_adds_a_note_the_csr_sees():
    chat = await sync_to_async(make_live_chat)()
    manager = await sync_to_async(user_factory)(role=Role.CSR_MANAGER, first_name="Jordan")
    manager_headers = await sync_to_async(login_headers)(manager)
    csr_headers = await sync_to_async(login_headers)(chat.csr)
    async with (
        chat_socket(chat.csr_path(), csr_headers) as panel,
        chat_socket(chat.csr_path(), manager_headers) as watching,
    ):
        assert watching.hello["role"] == "observer"
        # Writing to the customer stays refused...
        await watching.send(type="send", text="Hi", client_msg_id="s-1")
        assert (await watching.receive_type("error"))["code"] == "read_only"
        # ...a note is the contact center's own.
        await watching.send(type="note", text=SECRET, client_msg_id="m-note")
        ack = await watching.receive_type("ack")
        seen = [f for f in await panel.until_seq(ack["seq"]) if f.get("seq") == ack["seq"]]
        assert seen[0]["text"] == SECRET and seen[0]["internal"] is True
        assert seen[0]["author_name"].startswith("Jordan")


async def test_a_note_in_an_ended_chat_is_refused_with_its_client_id():
    chat = await sync_to_async(make_live_chat)()
    csr_headers = await sync_to_async(login_headers)(chat.csr)
    async with chat_socket(chat.csr_path(), csr_headers) as panel:
        await sync_to_async(type(chat.interaction).objects.filter(pk=chat.id).update)(
            status=InteractionStatus.ENDED
        )
        await panel.send(type="note", text=SECRET, client_msg_id="late-1")
        error = await panel.receive_type("error")
        assert error["code"] == "chat_ended" and error["client_msg_id"] == "late-1"
        await panel.send(type="note", text="   ", client_msg_id="late-2")
        error = await panel.receive_type("error")
        assert error["code"] == "empty" and error["client_msg_id"] == "late-2"


async def test_notes_count_against_the_send_limit():
    """Notes are metered with the sends (20 per 10 s window per party): a burst of notes
    is refused with rate_limited long before the socket's own frame limit. (A burst across
    the turn of a window may store up to 20 more before the first refusal.)"""
    chat = await sync_to_async(make_live_chat)()
    csr_headers = await sync_to_async(login_headers)(chat.csr)
    async with chat_socket(chat.csr_path(), csr_headers) as panel:
        acked, reply = await send_until_refused(
            panel, "note", id_prefix="n", text="note", most=3 * SEND_BURST
        )
        assert SEND_BURST <= acked <= 2 * SEND_BURST
        assert reply["code"] == "rate_limited" and reply["client_msg_id"] == f"n-{acked}"
