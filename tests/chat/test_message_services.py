"""The live chat's services: message_send, interaction_end, interaction_mark_read,
interaction_typing, and the messages_after selector the sockets replay with."""

import itertools
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat import schemas
from chat.errors import ChatError
from chat.events import interaction_group
from chat.models import InteractionStatus, Message, SenderKind, SystemEvent
from chat.selectors.messages import REPLAY_PAGE_SIZE, messages_after
from chat.services.interactions import interaction_end
from chat.services.messages import (
    MAX_MESSAGE_CHARS,
    interaction_mark_read,
    interaction_typing,
    message_send,
)
from config.users import Role
from routing.models import CSRStatus, Offer, OfferStatus
from routing.services.answers import offer_accept
from routing.services.presence import csr_profile_ensure
from routing.services.transfers import interaction_transfer_to_csr, interaction_transfer_to_queue
from tests.chat.conftest import assert_shape, group_listener, make_live_chat
from tests.factories import queue_factory, user_factory

pytestmark = pytest.mark.django_db

# message_send on PostgreSQL: lock the interaction (reading whether it holds the
# client_msg_id in the same statement), take the seq (UPDATE) and INSERT the message —
# 3 statements, plus the SAVEPOINT / RELEASE pair of its atomic block (a savepoint here
# because the test runs inside a transaction).
MESSAGE_SEND_QUERIES = 3
MESSAGE_SEND_SAVEPOINT_QUERIES = 2


_client_ids = itertools.count(1)


def send(chat, kind=SenderKind.CUSTOMER, text="Hello", client_msg_id=None, user=None):
    return message_send(
        interaction_id=chat.id,
        sender_kind=kind,
        text=text,
        client_msg_id=client_msg_id or f"c-{next(_client_ids)}",
        user=user if user is not None else (chat.csr if kind == SenderKind.CSR else None),
    )


def refused(code, fn, **kwargs):
    with pytest.raises(ChatError) as caught:
        fn(**kwargs)
    assert caught.value.code == code
    assert caught.value.message
    return caught.value


def available_csr(**profile_fields):
    user = user_factory(role=Role.CSR)
    profile = csr_profile_ensure(user=user)
    profile.status = CSRStatus.AVAILABLE
    for field, value in profile_fields.items():
        setattr(profile, field, value)
    profile.save()
    return user


# --- message_send ---------------------------------------------------------------------


def test_messages_get_consecutive_seqs_and_their_authors_names():
    """Customer and CSR messages are numbered 1, 2, 3…; the CSR's carry the CSR as
    author, the customer's the customer's name; the text is stored as sent."""
    chat = make_live_chat()
    texts = ["<b>hi</b> & bye", "  spaced  ", "third"]
    first = send(chat, text=texts[0]).message
    second = send(chat, SenderKind.CSR, text=texts[1]).message
    third = send(chat, text=texts[2]).message
    assert [first.seq, second.seq, third.seq] == [1, 2, 3]
    assert [m.text for m in (first, second, third)] == texts
    assert first.author is None
    assert first.author_name == chat.interaction.customer.name
    assert second.author == chat.csr
    assert second.author_name == chat.csr.get_full_name()
    chat.interaction.refresh_from_db()
    assert chat.interaction.last_seq == 3


def test_customer_may_write_while_waiting_for_a_csr():
    """A queued chat takes the customer's messages (the CSR will see them)."""
    chat = make_live_chat(status=InteractionStatus.QUEUED)
    assert send(chat, text="still there?").created


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("   \n\t", "empty"),
        (None, "empty"),
        (42, "empty"),
        ("x" * (MAX_MESSAGE_CHARS + 1), "too_long"),
    ],
)
def test_bad_text_is_refused_and_nothing_is_stored(text, code):
    """Empty, blank, non-text and 5,001-character messages are refused; none is stored."""
    chat = make_live_chat()
    refused(
        code,
        message_send,
        interaction_id=chat.id,
        sender_kind=SenderKind.CUSTOMER,
        text=text,
        client_msg_id="c-1",
    )
    assert not Message.objects.filter(interaction=chat.interaction).exists()


def test_the_longest_allowed_message_is_stored_whole():
    """5,000 characters is the limit, inclusive."""
    chat = make_live_chat()
    message = send(chat, text="y" * MAX_MESSAGE_CHARS).message
    assert len(Message.objects.get(pk=message.pk).text) == MAX_MESSAGE_CHARS


@pytest.mark.parametrize("client_msg_id", ["", None, 7, "x" * 65])
def test_a_missing_or_overlong_client_msg_id_is_refused(client_msg_id):
    """Every send needs a client_msg_id of at most 64 characters."""
    chat = make_live_chat()
    refused(
        "bad_client_msg_id",
        message_send,
        interaction_id=chat.id,
        sender_kind=SenderKind.CUSTOMER,
        text="hi",
        client_msg_id=client_msg_id,
    )


def test_a_retried_send_is_stored_once_with_its_original_seq():
    """The same client_msg_id twice: one row, the second call returns it (created=False),
    even when other messages came in between."""
    chat = make_live_chat()
    first = send(chat, text="once", client_msg_id="retry-me")
    send(chat, SenderKind.CSR, text="in between")
    again = send(chat, text="once", client_msg_id="retry-me")
    assert first.created and not again.created
    assert again.message.pk == first.message.pk
    assert again.message.seq == 1
    assert (
        Message.objects.filter(interaction=chat.interaction, client_msg_id="retry-me").count() == 1
    )
    assert Message.objects.filter(interaction=chat.interaction).count() == 2


def test_a_retry_that_arrives_after_the_end_still_gets_its_ack():
    """A send that was stored before the chat ended is acknowledged again on retry."""
    chat = make_live_chat()
    first = send(chat, client_msg_id="late-retry")
    interaction_end(interaction_id=chat.id, by=SenderKind.CSR, user=chat.csr)
    again = send(chat, client_msg_id="late-retry")
    assert not again.created
    assert again.message.seq == first.message.seq


def test_client_msg_ids_are_per_interaction():
    """Two chats may use the same client_msg_id."""
    one, two = make_live_chat(), make_live_chat()
    assert send(one, client_msg_id="same").created
    assert send(two, client_msg_id="same").created


def test_only_the_handling_csr_may_write():
    """Another CSR, a CSR on a chat nobody holds, and bots/system through this service
    are refused with not_party."""
    chat = make_live_chat()
    other = user_factory(role=Role.CSR)
    refused("not_party", send, chat=chat, kind=SenderKind.CSR, user=other)
    queued = make_live_chat(status=InteractionStatus.QUEUED)
    refused("not_party", send, chat=queued, kind=SenderKind.CSR, user=other)
    refused("not_party", send, chat=chat, kind=SenderKind.SYSTEM)
    refused("not_party", send, chat=chat, kind=SenderKind.BOT)


@pytest.mark.parametrize("status", [InteractionStatus.ENDED, InteractionStatus.ABANDONED])
def test_nobody_writes_to_a_closed_chat(status):
    """Ended and abandoned chats refuse both sides with chat_ended."""
    csr = user_factory(role=Role.CSR)
    chat = make_live_chat(status=status, csr=csr)
    refused("chat_ended", send, chat=chat)
    refused("chat_ended", send, chat=chat, kind=SenderKind.CSR)


def test_an_unknown_chat_is_not_found():
    refused(
        "not_found",
        message_send,
        interaction_id=987654,
        sender_kind=SenderKind.CUSTOMER,
        text="hi",
        client_msg_id="c",
    )


def test_transfer_keeps_the_old_csr_writing_until_another_accepts():
    """Transferred to a queue or offered to a CSR, the chat stays with its CSR, who keeps
    writing; once another CSR accepts, only the new one writes."""
    chat = make_live_chat()
    interaction_transfer_to_queue(
        interaction_id=chat.id, user=chat.csr, queue=queue_factory(), note="VIP"
    )
    chat.interaction.refresh_from_db()
    assert chat.interaction.status == InteractionStatus.QUEUED
    assert send(chat, SenderKind.CSR, text="Someone will be with you shortly").created

    chat.interaction.status = InteractionStatus.ACTIVE
    chat.interaction.save(update_fields=["status"])
    target = available_csr()
    offer = interaction_transfer_to_csr(interaction_id=chat.id, user=chat.csr, target=target)
    assert send(chat, SenderKind.CSR, text="Handing you over").created  # still offered

    offer_accept(offer_id=offer.pk, user=target)
    refused("not_party", send, chat=chat, kind=SenderKind.CSR)
    assert send(chat, SenderKind.CSR, user=target, text="Hi, I'm taking over").created


@pytest.mark.parametrize("kind", [SenderKind.CUSTOMER, SenderKind.CSR])
def test_message_send_query_count_is_pinned(django_assert_num_queries, kind):
    """A send costs 3 statements (the locking read of the chat with its customer, the
    UPDATE that takes the seq, the insert) plus the savepoint of its one atomic block,
    for the customer and the CSR alike (whether a CSR's message is due to a webhook is
    read once a second per process: the first send here reads it). A retried send costs
    2 (the locking read finds that the chat holds the id, then the stored message is
    read; nothing is written)."""
    chat = make_live_chat()
    send(chat, kind, client_msg_id="first")
    with django_assert_num_queries(MESSAGE_SEND_QUERIES + MESSAGE_SEND_SAVEPOINT_QUERIES):
        send(chat, kind, client_msg_id="counted")
    with CaptureQueriesContext(connection) as retried:
        send(chat, kind, client_msg_id="counted")
    statements = [q["sql"] for q in retried.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 2


# --- interaction_end ------------------------------------------------------------------


def test_csr_ends_the_chat_with_a_system_message():
    """Ending: status ended, who ended it and when, and an ENDED system message last."""
    chat = make_live_chat()
    send(chat)
    ended = interaction_end(interaction_id=chat.id, by=SenderKind.CSR, user=chat.csr)
    assert ended.status == InteractionStatus.ENDED
    assert ended.ended_by == SenderKind.CSR
    assert ended.ended_at is not None
    last = Message.objects.filter(interaction=chat.interaction).latest("seq")
    assert (last.seq, last.sender_kind, last.event) == (2, SenderKind.SYSTEM, SystemEvent.ENDED)
    assert last.data == {"by": "csr"}
    assert chat.csr.get_full_name() in last.text


def test_customer_ends_an_active_chat():
    chat = make_live_chat()
    ended = interaction_end(interaction_id=chat.id, by=SenderKind.CUSTOMER)
    assert (ended.status, ended.ended_by) == (InteractionStatus.ENDED, SenderKind.CUSTOMER)
    last = Message.objects.filter(interaction=chat.interaction).latest("seq")
    assert last.text == "The customer ended the chat"


@pytest.mark.parametrize("status", [InteractionStatus.QUEUED, InteractionStatus.OFFERED])
def test_customer_ending_before_a_csr_joined_abandons_the_chat(status):
    """Leaving while queued (or offered) abandons the chat and withdraws the offer."""
    chat = make_live_chat(status=status)
    offer = None
    if status == InteractionStatus.OFFERED:
        offer = Offer.objects.create(
            interaction=chat.interaction,
            csr=available_csr(),
            queue=chat.interaction.queue,
            expires_at=timezone.now() + timedelta(seconds=30),
        )
    result = interaction_end(interaction_id=chat.id, by=SenderKind.CUSTOMER)
    assert result.status == InteractionStatus.ABANDONED
    assert result.ended_at is not None
    last = Message.objects.filter(interaction=chat.interaction).latest("seq")
    assert last.event == SystemEvent.ABANDONED
    if offer is not None:
        offer.refresh_from_db()
        assert offer.status == OfferStatus.WITHDRAWN


def test_end_refusals():
    """Another CSR may not end the chat; nobody ends it twice; an unknown chat is not
    found."""
    chat = make_live_chat()
    other = user_factory(role=Role.CSR)
    refused("not_party", interaction_end, interaction_id=chat.id, by=SenderKind.CSR, user=other)
    refused("not_party", interaction_end, interaction_id=chat.id, by=SenderKind.CSR)
    interaction_end(interaction_id=chat.id, by=SenderKind.CUSTOMER)
    refused("chat_ended", interaction_end, interaction_id=chat.id, by=SenderKind.CSR, user=chat.csr)
    refused("chat_ended", interaction_end, interaction_id=chat.id, by=SenderKind.CUSTOMER)
    refused("not_found", interaction_end, interaction_id=987654, by=SenderKind.CUSTOMER)


# --- interaction_mark_read ------------------------------------------------------------


def read_marks(chat):
    chat.interaction.refresh_from_db()
    return chat.interaction.customer_read_seq, chat.interaction.csr_read_seq


def test_read_marks_are_per_side_monotonic_and_capped_at_the_newest_message():
    """Each side's mark only moves forward and never past last_seq."""
    chat = make_live_chat()
    for _ in range(4):
        send(chat)
    assert interaction_mark_read(interaction_id=chat.id, by=SenderKind.CUSTOMER, seq=2) == 2
    assert read_marks(chat) == (2, 0)
    assert interaction_mark_read(interaction_id=chat.id, by=SenderKind.CUSTOMER, seq=1) == 2
    assert read_marks(chat) == (2, 0)
    assert (
        interaction_mark_read(interaction_id=chat.id, by=SenderKind.CSR, seq=99, user=chat.csr) == 4
    )
    assert read_marks(chat) == (2, 4)


def test_read_mark_refusals():
    """Only the handling CSR marks the CSR side; bots have no mark; unknown chats are not
    found."""
    chat = make_live_chat()
    send(chat)
    other = user_factory(role=Role.CSR)
    refused(
        "not_party",
        interaction_mark_read,
        interaction_id=chat.id,
        by=SenderKind.CSR,
        seq=1,
        user=other,
    )
    refused("not_party", interaction_mark_read, interaction_id=chat.id, by=SenderKind.BOT, seq=1)
    refused(
        "not_found", interaction_mark_read, interaction_id=987654, by=SenderKind.CUSTOMER, seq=1
    )
    assert read_marks(chat) == (0, 0)


def test_the_customer_may_mark_an_ended_chat_read():
    """Reading the last messages after the end still moves the customer's mark."""
    chat = make_live_chat()
    send(chat)
    interaction_end(interaction_id=chat.id, by=SenderKind.CSR, user=chat.csr)
    assert interaction_mark_read(interaction_id=chat.id, by=SenderKind.CUSTOMER, seq=2) == 2


# --- interaction_typing ---------------------------------------------------------------


def test_typing_refusals():
    """Typing follows the rules of sending: not to an ended chat, not by another CSR."""
    chat = make_live_chat()
    other = user_factory(role=Role.CSR)
    refused(
        "not_party",
        interaction_typing,
        interaction_id=chat.id,
        by=SenderKind.CSR,
        active=True,
        user=other,
    )
    interaction_end(interaction_id=chat.id, by=SenderKind.CUSTOMER)
    customer = {"by": SenderKind.CUSTOMER, "active": True}
    refused("chat_ended", interaction_typing, interaction_id=chat.id, **customer)
    refused("not_found", interaction_typing, interaction_id=987654, **customer)


# --- messages_after -------------------------------------------------------------------


def test_messages_after_reads_one_bounded_page_in_order():
    """At most REPLAY_PAGE_SIZE messages per call whatever the limit asked, oldest first,
    after after_seq and up to until_seq."""
    chat = make_live_chat()
    Message.objects.bulk_create(
        Message(interaction=chat.interaction, seq=seq, sender_kind=SenderKind.BOT, text=str(seq))
        for seq in range(1, REPLAY_PAGE_SIZE + 12)
    )
    page = messages_after(interaction_id=chat.id, after_seq=3, limit=10_000)
    assert [m.seq for m in page] == list(range(4, REPLAY_PAGE_SIZE + 4))
    window = messages_after(interaction_id=chat.id, after_seq=3, limit=50, until_seq=6)
    assert [m.seq for m in window] == [4, 5, 6]


# --- What is published ----------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_published_payloads_match_their_schemas():
    """After commit, both sides' group gets: the message, its sentiment score (a
    customer message), the read mark (only when it moves), typing, then on end the
    ENDED message and the status — each shaped as its TypedDict in chat.schemas."""
    chat = await sync_to_async(make_live_chat)()
    async with group_listener(interaction_group(chat.id)) as next_payload:
        await database_sync_to_async(send)(chat, text="hi")
        message = await next_payload()
        assert_shape(message, schemas.MessagePayload)
        assert (message["seq"], message["text"]) == (1, "hi")
        scored = await next_payload()
        assert_shape(scored, schemas.SentimentPayload)
        assert (scored["type"], scored["seq"]) == ("sentiment", 1)

        mark = database_sync_to_async(interaction_mark_read)
        await mark(interaction_id=chat.id, by=SenderKind.CUSTOMER, seq=1)
        read = await next_payload()
        assert_shape(read, schemas.ReadPayload)
        assert read == {"type": "read", "interaction_id": chat.id, "by": "customer", "seq": 1}
        await mark(interaction_id=chat.id, by=SenderKind.CUSTOMER, seq=1)  # no move: silent

        await database_sync_to_async(interaction_typing)(
            interaction_id=chat.id, by=SenderKind.CSR, active=True, user=chat.csr
        )
        typing = await next_payload()
        assert_shape(typing, schemas.TypingPayload)
        assert (typing["from"], typing["active"], typing["name"]) == (
            "csr",
            True,
            chat.csr.get_full_name(),
        )

        await database_sync_to_async(interaction_end)(
            interaction_id=chat.id, by=SenderKind.CUSTOMER
        )
        ended = await next_payload()
        assert (ended["type"], ended["event"], ended["seq"]) == ("message", "ended", 2)
        status = await next_payload()
        assert_shape(status, schemas.InteractionStatusPayload)
        assert status["status"] == "ended"
        assert (status["ended_by"], status["last_seq"]) == ("customer", 2)


def test_a_client_msg_id_of_the_other_side_is_refused_not_returned():
    """Ids are unique per chat: the customer reusing the CSR's id gets an error, never
    the CSR's message back as if it were theirs."""
    chat = make_live_chat()
    send(chat, SenderKind.CSR, client_msg_id="shared-id", text="from the CSR")
    with pytest.raises(ChatError) as caught:
        send(chat, SenderKind.CUSTOMER, client_msg_id="shared-id", text="from the customer")
    assert caught.value.code == "bad_client_msg_id"
    assert Message.objects.filter(interaction_id=chat.id, client_msg_id="shared-id").count() == 1
