"""The live chat sockets /ws/customer/<id>/ and /ws/chat/<id>/, through the real ASGI
stack and the real Redis channel layer: every message reaches both sides once and in
order, across reconnects, resumes and dropped layer events; who may connect and write."""

import asyncio
import itertools
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chat import consumers, events, schemas
from chat.consumers import (
    CLOSE_FORBIDDEN,
    CLOSE_GONE,
    CLOSE_UNAUTHENTICATED,
    SEND_BURST,
    SEND_WINDOW_SECONDS,
)
from chat.events import interaction_group
from chat.models import Interaction, InteractionStatus, Message, SenderKind, SystemEvent
from chat.services.interactions import interaction_end
from chat.services.messages import MAX_MESSAGE_CHARS, message_create, message_send
from config.ratelimit import TokenBucket
from config.sockets import LIVE_DELAYED_MESSAGE, LIVE_RESTORED_MESSAGE
from config.users import Role
from routing.models import CSRStatus, Offer, OfferStatus, QueueMembership
from routing.services.answers import offer_accept
from routing.services.presence import csr_profile_ensure
from routing.services.transfers import interaction_transfer_to_csr
from tests.chat.conftest import (
    CUSTOMER_HEADERS,
    assert_shape,
    chat_socket,
    customer_token_add,
    make_live_chat,
    publish_to_group,
    refused_socket,
    send_until_refused,
)
from tests.factories import interaction_factory, user_factory
from tests.layers import layer_forget_groups
from tests.reliability.redis_server import OUTAGE_SECONDS
from tests.routing.conftest import HOST_HEADER, ORIGIN_HEADER, login_headers

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

_client_ids = itertools.count(1)


def store(chat, n, kind=SenderKind.CUSTOMER):
    """n messages through message_send (published after commit, as in production)."""
    for _ in range(n):
        message_send(
            interaction_id=chat.id,
            sender_kind=kind,
            text=f"stored {next(_client_ids)}",
            client_msg_id=f"s-{next(_client_ids)}",
            user=chat.csr if kind == SenderKind.CSR else None,
        )


def store_unpublished(chat, n):
    """n messages stored whose live events never leave: what a full or failing channel
    layer does to group_send."""
    original = events.message_created
    events.message_created = lambda **kwargs: None
    try:
        with transaction.atomic():
            interaction = Interaction.objects.get(pk=chat.id)
            for _ in range(n):
                message_create(
                    interaction=interaction, sender_kind=SenderKind.BOT, text="lost in transit"
                )
    finally:
        events.message_created = original


async def open_pair(chat, *, customer_last_seq=None, csr_last_seq=None):
    csr_headers = await database_sync_to_async(login_headers)(chat.csr)
    return (
        chat_socket(chat.customer_path(last_seq=customer_last_seq), CUSTOMER_HEADERS),
        chat_socket(chat.csr_path(last_seq=csr_last_seq), csr_headers),
    )


def message_seqs(frames):
    return [f["seq"] for f in frames if f["type"] == "message"]


async def new_chat(**kwargs):
    return await sync_to_async(make_live_chat)(**kwargs)


async def headers_for(user):
    return await database_sync_to_async(login_headers)(user)


async def refresh(interaction):
    await database_sync_to_async(interaction.refresh_from_db)()
    return interaction


# --- Opening a socket -----------------------------------------------------------------


async def test_hello_then_the_whole_history_then_replay_done():
    """On connect: `hello` with the role and the chat's state, every stored message in
    order, then `replay.done` with the last seq sent."""
    chat = await new_chat()
    await sync_to_async(store)(chat, 3)
    customer_socket, csr_socket = await open_pair(chat)
    async with customer_socket as customer, csr_socket as csr:
        for socket, role in ((customer, "customer"), (csr, "csr")):
            hello = socket.hello
            assert_shape(hello, schemas.HelloPayload)
            assert_shape(hello["interaction"], schemas.HelloInteraction)
            assert hello["role"] == role
            assert hello["interaction"] == {
                "id": chat.id,
                "status": "active",
                "assigned_csr": chat.csr.get_full_name(),
                "authenticated": False,
                "channel": await sync_to_async(lambda: chat.interaction.channel.name)(),
                "queue": await sync_to_async(lambda: chat.interaction.queue.name)(),
                "last_seq": 3,
                "customer_read_seq": 0,
                "csr_read_seq": 0,
                "typing_preview": False,
            }
            assert hello["attachments"]["enabled"] is True
            assert socket.opening_seqs() == [1, 2, 3]
            for frame in socket.opening[1:-1]:
                assert_shape(frame, schemas.MessagePayload)
            assert socket.opening[-1] == {"type": "replay.done", "last_seq": 3}


async def test_a_long_history_is_replayed_whole_in_pages():
    """More than two pages of history (500 per query) arrive whole and in order."""
    chat = await new_chat()

    def long_history():
        Message.objects.bulk_create(
            Message(interaction=chat.interaction, seq=seq, sender_kind=SenderKind.BOT, text="x")
            for seq in range(1, 1203)
        )
        Interaction.objects.filter(pk=chat.id).update(last_seq=1202)

    await database_sync_to_async(long_history)()
    async with chat_socket(chat.customer_path(last_seq=100), CUSTOMER_HEADERS) as customer:
        assert customer.opening_seqs() == list(range(101, 1203))
        assert customer.opening[-1]["last_seq"] == 1202


# --- Every message, once, in order ----------------------------------------------------


async def test_both_sides_receive_every_message_in_order():
    """Customer and CSR alternate sends; both sockets see the same contiguous seqs, each
    sender gets an ack per message, and texts arrive unaltered."""
    chat = await new_chat()
    customer_socket, csr_socket = await open_pair(chat)
    async with customer_socket as customer, csr_socket as csr:
        sent = []
        for i in range(4):
            for socket, who in ((customer, "customer"), (csr, "csr")):
                text = f"<i>{who} {i}</i> & 'quotes'"
                client_msg_id = f"{who}-{i}"
                await socket.send(type="send", client_msg_id=client_msg_id, text=text)
                ack = await socket.receive_type("ack")
                assert_shape(ack, schemas.AckPayload)
                assert ack["client_msg_id"] == client_msg_id
                assert ack["duplicate"] is False
                sent.append((ack["seq"], who, text))
        assert [seq for seq, _, _ in sent] == list(range(1, 9))
        for socket in (customer, csr):
            frames = await socket.until_seq(8)
            received = [f for f in frames if f["type"] == "message"]
            assert [(f["seq"], f["sender_kind"], f["text"]) for f in received] == sent
        assert await customer.nothing()
        # The CSR's panel also gets what follows a customer's message once it is stored
        # (its scoring, the assist app's suggestions), whenever that work ends: with
        # eager tasks, right after the acks.
        while not await csr.nothing():
            assert (await csr.receive())["type"] in ("sentiment", "assist.suggestions")


async def test_reconnect_with_last_seq_replays_exactly_the_missing_messages():
    """Messages sent while the customer was away arrive on reconnect, after last_seq,
    nothing twice; then the socket is live."""
    chat = await new_chat()
    await sync_to_async(store)(chat, 2)
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        assert customer.opening_seqs() == [1, 2]
    await sync_to_async(store)(chat, 3, SenderKind.CSR)
    async with chat_socket(chat.customer_path(last_seq=2), CUSTOMER_HEADERS) as customer:
        assert customer.opening_seqs() == [3, 4, 5]
        assert customer.opening[-1] == {"type": "replay.done", "last_seq": 5}
        await sync_to_async(store)(chat, 1, SenderKind.CSR)
        assert message_seqs(await customer.until_seq(6)) == [6]


async def test_resume_mid_connection_replays_after_the_given_seq():
    """`resume` {last_seq} replays what follows it, then `replay.done`; live messages
    continue after it without repeats."""
    chat = await new_chat()
    await sync_to_async(store)(chat, 4)
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await customer.send(type="resume", last_seq=1)
        frames = await customer.until_type("replay.done")
        assert message_seqs(frames) == [2, 3, 4]
        assert frames[-1] == {"type": "replay.done", "last_seq": 4}
        await sync_to_async(store)(chat, 1)
        assert message_seqs(await customer.until_seq(5)) == [5]
        assert await customer.nothing()


@pytest.mark.parametrize("last_seq", [-1, "3", None, True, 1.5])
async def test_resume_with_a_bad_last_seq_is_an_error(last_seq):
    chat = await new_chat()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await customer.send(type="resume", last_seq=last_seq)
        error = await customer.receive()
        assert (error["type"], error["code"]) == ("error", "bad_json")


@pytest.mark.parametrize("last_seq", ["abc", "-1", "%C2%B2", ""])
async def test_a_malformed_last_seq_replays_everything(last_seq):
    """A last_seq that is not a non-negative integer counts as 0."""
    chat = await new_chat()
    await sync_to_async(store)(chat, 2)
    path = f"/ws/customer/{chat.id}/?token={chat.token}&last_seq={last_seq}"
    async with chat_socket(path, CUSTOMER_HEADERS) as customer:
        assert customer.opening_seqs() == [1, 2]


async def test_a_client_ahead_of_the_server_is_told_to_resync():
    """A last_seq beyond the chat's newest message (a copy from elsewhere): the server
    says `resync.required` and replays everything from the first message."""
    chat = await new_chat()
    await sync_to_async(store)(chat, 3)
    async with chat_socket(chat.customer_path(last_seq=50), CUSTOMER_HEADERS) as customer:
        resync = customer.opening[1]
        assert_shape(resync, schemas.ResyncRequiredPayload)
        assert resync["last_seq"] == 3
        assert resync["message"]
        assert customer.opening_seqs() == [1, 2, 3]
        await customer.send(type="resume", last_seq=9)
        frames = await customer.until_type("replay.done")
        assert frames[0]["type"] == "resync.required"
        assert message_seqs(frames) == [1, 2, 3]


async def test_messages_published_while_connecting_are_not_sent_twice():
    """Messages stored and published while the socket connects and replays are each
    sent exactly once, in order, whether they came by replay or live."""
    chat = await new_chat()
    total = 40

    async def publisher():
        for _ in range(total):
            await sync_to_async(store)(chat, 1)
            await asyncio.sleep(0)

    task = asyncio.ensure_future(publisher())
    try:
        await asyncio.sleep(0.05)
        async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
            await task
            seqs = customer.opening_seqs()
            if not seqs or seqs[-1] < total:
                seqs += message_seqs(await customer.until_seq(total))
            assert seqs == list(range(1, total + 1))
            assert await customer.nothing()
    finally:
        await task


# --- Dropped layer events -------------------------------------------------------------


async def test_a_dropped_message_event_is_filled_from_the_database():
    """Seq n+1 stored but never published: when n+2 arrives live the socket first sends
    n+1 from the database, then n+2."""
    chat = await new_chat()
    await sync_to_async(store)(chat, 2)
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await database_sync_to_async(store_unpublished)(chat, 2)
        assert await customer.nothing()  # the layer lost them
        await sync_to_async(store)(chat, 1, SenderKind.CSR)
        frames = await customer.until_seq(5)
        assert message_seqs(frames) == [3, 4, 5]
        assert [f["text"] for f in frames[:2]] == ["lost in transit"] * 2
        assert await customer.nothing()


async def test_a_message_published_out_of_band_brings_the_missing_ones_first():
    """A live payload for seq n+2 when the client has n: n+1 is read and sent first; the
    late event for n+1 is then dropped as already sent."""
    chat = await new_chat()
    await sync_to_async(store)(chat, 1)
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await database_sync_to_async(store_unpublished)(chat, 2)
        stored = await database_sync_to_async(
            lambda: [events.message_payload(m) for m in Message.objects.filter(seq__gt=1)]
        )()
        group = interaction_group(chat.id)
        await publish_to_group(group, dict(stored[1]))  # seq 3 first
        await publish_to_group(group, dict(stored[0]))  # then the late seq 2
        assert message_seqs(await customer.until_seq(3)) == [2, 3]
        assert await customer.nothing()


async def test_a_status_event_brings_the_messages_it_follows():
    """`interaction.status` carries last_seq: messages up to it that the layer dropped
    are sent before the status."""
    chat = await new_chat()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await database_sync_to_async(store_unpublished)(chat, 1)
        interaction = await refresh(chat.interaction)
        payload = await sync_to_async(events.interaction_status_payload)(interaction)
        await publish_to_group(interaction_group(chat.id), dict(payload))
        frames = await customer.until_type("interaction.status")
        assert [f["type"] for f in frames] == ["message", "interaction.status"]
        assert frames[0]["seq"] == 1


# --- Sending --------------------------------------------------------------------------


async def test_a_retried_client_msg_id_is_stored_once_and_acked_with_the_first_seq():
    """The same client_msg_id twice: acked twice with the same seq, duplicate=true the
    second time; one row, one `message` broadcast."""
    chat = await new_chat()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await customer.send(type="send", client_msg_id="once", text="hello")
        first = await customer.receive_type("ack")
        assert message_seqs(await customer.until_seq(1)) == [1]
        await customer.send(type="send", client_msg_id="once", text="hello")
        second = await customer.receive_type("ack")
        assert (first["seq"], first["duplicate"]) == (1, False)
        assert (second["seq"], second["duplicate"]) == (1, True)
        assert second["created_at"] == first["created_at"]
        assert await customer.nothing()
    count = await database_sync_to_async(
        Message.objects.filter(interaction_id=chat.id, client_msg_id="once").count
    )()
    assert count == 1


@pytest.mark.parametrize(
    ("text", "client_msg_id", "code"),
    [
        ("x" * (MAX_MESSAGE_CHARS + 1), "long", "too_long"),
        ("", "empty", "empty"),
        ("  ", "blank", "empty"),
        (None, "none", "empty"),
        ("hi", "", "bad_client_msg_id"),
        ("hi", "i" * 65, "bad_client_msg_id"),
    ],
)
async def test_bad_sends_are_refused_with_their_code_and_nothing_is_stored(
    text, client_msg_id, code
):
    chat = await new_chat()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await customer.send(type="send", client_msg_id=client_msg_id, text=text)
        error = await customer.receive()
        assert_shape(error, schemas.ChatErrorPayload)
        assert (error["type"], error["code"]) == ("error", code)
        assert error["client_msg_id"] == client_msg_id
        assert error["message"]
        assert await customer.nothing()
    assert not await database_sync_to_async(Message.objects.filter(interaction_id=chat.id).exists)()


async def test_sends_beyond_the_rate_limit_are_refused_and_not_stored():
    """A burst of 20 sends is stored; sending on without pause is soon refused with
    rate_limited and retry_after, and a refused send is not stored. (A burst across the
    turn of a 10 s window may store up to 20 more before the first refusal.)"""
    chat = await new_chat()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        acked, reply = await send_until_refused(
            customer, "send", id_prefix="burst", text="spam", most=10 * SEND_BURST
        )
        assert acked >= SEND_BURST
        assert reply["code"] == "rate_limited"
        assert reply["client_msg_id"] == f"burst-{acked}"
        assert isinstance(reply["retry_after"], int)
        assert reply["retry_after"] >= 1
    stored = await database_sync_to_async(Message.objects.filter(interaction_id=chat.id).count)()
    assert stored == acked


async def test_the_send_bucket_allows_20_per_10_seconds():
    """20 at once, then one more every half second; the wait is reported."""
    now = [100.0]
    bucket = TokenBucket(capacity=SEND_BURST, per_seconds=SEND_WINDOW_SECONDS, clock=lambda: now[0])
    assert [bucket.take() for _ in range(SEND_BURST)] == [0.0] * SEND_BURST
    assert bucket.take() == pytest.approx(0.5)
    now[0] += 0.25
    assert bucket.take() == pytest.approx(0.25)
    now[0] += 0.25
    assert bucket.take() == 0.0
    now[0] += 60
    assert [bucket.take() for _ in range(SEND_BURST)] == [0.0] * SEND_BURST
    assert bucket.take() > 0


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"text_data": '{"type": "dance"}'}, "unknown_type"),
        ({"text_data": '{"text": "no type"}'}, "unknown_type"),
        ({"text_data": "{not json"}, "bad_json"),
        ({"text_data": '["send"]'}, "bad_json"),
        ({"bytes_data": b"\x00"}, "bad_json"),
        ({"text_data": '{"type": "typing", "active": "yes"}'}, "bad_json"),
        ({"text_data": '{"type": "read", "seq": -2}'}, "bad_json"),
    ],
)
async def test_bad_frames_get_an_error_and_the_socket_stays_open(frame, code):
    chat = await new_chat()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await customer.communicator.send_to(**frame)
        error = await customer.receive()
        assert (error["type"], error["code"]) == ("error", code)
        await customer.send(type="heartbeat")
        ack = await customer.receive()
        assert ack["type"] == "heartbeat.ack"
        assert ack["at"]


# --- Who may connect, read and write --------------------------------------------------


async def test_a_wrong_token_is_refused_with_4403():
    chat = await new_chat()
    async with refused_socket(chat.customer_path(token="cus_wrong"), CUSTOMER_HEADERS) as sock:
        error = await sock.receive()
        assert (error["type"], error["code"]) == ("error", "not_party")
        assert await sock.closed_with() == CLOSE_FORBIDDEN


async def test_a_missing_token_is_refused_with_4403():
    chat = await new_chat()
    path = f"/ws/customer/{chat.id}/"
    async with refused_socket(path, CUSTOMER_HEADERS) as sock:
        assert await sock.closed_with() == CLOSE_FORBIDDEN


async def test_the_token_of_another_interaction_is_refused_with_4403():
    chat, other = await new_chat(), await new_chat()
    async with refused_socket(chat.customer_path(token=other.token), CUSTOMER_HEADERS) as sock:
        assert await sock.closed_with() == CLOSE_FORBIDDEN


async def test_any_of_the_interactions_tokens_opens_it():
    """An idempotent escalation replay mints a second token; both work."""
    chat = await new_chat()
    second = await database_sync_to_async(customer_token_add)(chat.interaction)
    async with chat_socket(chat.customer_path(token=second), CUSTOMER_HEADERS) as customer:
        assert customer.hello["role"] == "customer"


async def test_an_unknown_interaction_is_refused_like_a_wrong_token():
    chat = await new_chat()
    path = f"/ws/customer/{chat.id + 1000}/?token={chat.token}"
    async with refused_socket(path, CUSTOMER_HEADERS) as sock:
        assert (await sock.receive())["code"] == "not_party"
        assert await sock.closed_with() == CLOSE_FORBIDDEN


async def test_an_unauthenticated_csr_socket_is_closed_with_4401():
    chat = await new_chat()
    async with refused_socket(chat.csr_path(), [ORIGIN_HEADER, HOST_HEADER]) as sock:
        assert await sock.closed_with() == CLOSE_UNAUTHENTICATED


@pytest.mark.parametrize("role", [Role.CSR, Role.ADMINISTRATOR, None])
async def test_a_user_who_is_not_handling_the_chat_is_refused_with_4403(role):
    """Another CSR, an administrator, a user without a role: 4403 after an error."""
    chat = await new_chat()
    other = await database_sync_to_async(user_factory)(role=role)
    async with refused_socket(chat.csr_path(), await headers_for(other)) as sock:
        error = await sock.receive()
        assert (error["type"], error["code"]) == ("error", "not_party")
        assert await sock.closed_with() == CLOSE_FORBIDDEN


async def test_a_csr_manager_watches_read_only():
    """A CSR manager gets role observer, every message live, and read_only for `send`,
    `typing`, `read` and `end`; nothing changes."""
    chat = await new_chat()
    await sync_to_async(store)(chat, 1)
    manager = await database_sync_to_async(user_factory)(role=Role.CSR_MANAGER)
    async with chat_socket(chat.csr_path(), await headers_for(manager)) as observer:
        assert observer.hello["role"] == "observer"
        assert observer.opening_seqs() == [1]
        # After the replay: the customer's sentiment, which the contact center sees.
        assert (await observer.receive())["type"] == "sentiment"
        await observer.send(type="send", client_msg_id="m-1", text="I'm the boss")
        error = await observer.receive()
        assert (error["code"], error["client_msg_id"]) == ("read_only", "m-1")
        for content in ({"type": "typing", "active": True}, {"type": "read", "seq": 1}):
            await observer.send(**content)
            assert (await observer.receive())["code"] == "read_only"
        await observer.send(type="end")
        assert (await observer.receive())["code"] == "read_only"
        await sync_to_async(store)(chat, 1, SenderKind.CSR)
        assert message_seqs(await observer.until_seq(2)) == [2]
    interaction = await refresh(chat.interaction)
    assert (interaction.last_seq, interaction.status, interaction.csr_read_seq) == (2, "active", 0)


async def test_an_ended_chat_reads_but_refuses_sends_inside_the_grace_period():
    """After the end both sides may still open the chat and read it; sends get
    chat_ended."""
    chat = await new_chat(status=InteractionStatus.ENDED, csr=None)
    await database_sync_to_async(user_factory)(role=Role.CSR)
    csr = await database_sync_to_async(user_factory)(role=Role.CSR)
    await database_sync_to_async(Interaction.objects.filter(pk=chat.id).update)(assigned_csr=csr)
    for path, headers in (
        (chat.customer_path(), CUSTOMER_HEADERS),
        (chat.csr_path(), await headers_for(csr)),
    ):
        async with chat_socket(path, headers) as socket:
            assert socket.hello["interaction"]["status"] == "ended"
            await socket.send(type="send", client_msg_id="after-end", text="hello?")
            assert (await socket.receive())["code"] == "chat_ended"


@pytest.mark.parametrize("status", [InteractionStatus.ENDED, InteractionStatus.ABANDONED])
async def test_a_chat_closed_longer_than_the_grace_is_refused_with_4410(status):
    grace = settings.PORTAL["CUSTOMER_TOKEN_GRACE_SECONDS"]
    chat = await new_chat(status=status, ended_at=timezone.now() - timedelta(seconds=grace + 5))
    async with refused_socket(chat.customer_path(), CUSTOMER_HEADERS) as sock:
        error = await sock.receive()
        assert (error["type"], error["code"]) == ("error", "chat_ended")
        assert await sock.closed_with() == CLOSE_GONE


async def test_an_open_customer_socket_is_closed_with_4410_when_the_grace_ends(settings):
    """A socket open when the chat ends reads the end, then is closed when the token
    stops opening the chat: it must not outlive what a reconnect would be refused."""
    settings.PORTAL = {**settings.PORTAL, "CUSTOMER_TOKEN_GRACE_SECONDS": 1}
    chat = await new_chat()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await database_sync_to_async(interaction_end)(
            interaction_id=chat.id, by=SenderKind.CUSTOMER
        )
        frames = await customer.until_type("interaction.status")
        assert frames[-1]["status"] == "ended"
        assert (await customer.receive())["type"] == "csat.request"  # the survey follows
        assert await customer.nothing(timeout=0.6)  # still open inside the grace
        error = await customer.receive_type("error")
        assert error["code"] == "chat_ended"
        assert await customer.closed_with() == CLOSE_GONE


async def test_a_customer_socket_opened_inside_the_grace_closes_when_it_ends(settings):
    settings.PORTAL = {**settings.PORTAL, "CUSTOMER_TOKEN_GRACE_SECONDS": 1}
    chat = await new_chat(
        status=InteractionStatus.ENDED, ended_at=timezone.now() - timedelta(seconds=0.4)
    )
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        assert customer.hello["interaction"]["status"] == "ended"
        assert (await customer.receive_type("error"))["code"] == "chat_ended"
        assert await customer.closed_with() == CLOSE_GONE


# --- Typing, read receipts, queue positions --------------------------------------------


async def test_typing_reaches_the_other_side_only_and_is_throttled():
    """`typing` goes to the other side (not back to the typist), at most once per 2 s
    while active; `active: false` always goes."""
    chat = await new_chat()
    customer_socket, csr_socket = await open_pair(chat)
    async with customer_socket as customer, csr_socket as csr:
        await customer.send(type="typing", active=True)
        typing = await csr.receive()
        assert_shape(typing, schemas.TypingPayload)
        assert (typing["from"], typing["active"]) == ("customer", True)
        assert typing["name"] == await sync_to_async(lambda: chat.interaction.customer.name)()
        await customer.send(type="typing", active=True)  # within 2 s: not published
        await customer.send(type="typing", active=False)
        assert (await csr.receive())["active"] is False
        assert await customer.nothing()
        await csr.send(type="typing", active=True)
        typing = await customer.receive()
        assert (typing["from"], typing["name"]) == ("csr", chat.csr.get_full_name())
        assert await csr.nothing()


async def test_read_receipts_are_stored_and_published_to_both_sides():
    """`read` {seq} stores the side's mark (capped at the newest message) and both
    sockets get `read`; a mark that does not move is not published."""
    chat = await new_chat()
    await sync_to_async(store)(chat, 3)
    customer_socket, csr_socket = await open_pair(chat)
    async with customer_socket as customer, csr_socket as csr:
        assert (await csr.receive())["type"] == "sentiment"  # after the CSR's replay
        await customer.send(type="read", seq=2)
        expected = {"type": "read", "interaction_id": chat.id, "by": "customer", "seq": 2}
        assert await csr.receive() == expected
        assert await customer.receive() == expected
        await customer.send(type="read", seq=1)
        await csr.send(type="read", seq=99)
        receipt = await customer.receive()
        assert (receipt["by"], receipt["seq"]) == ("csr", 3)
        assert await csr.receive() == receipt
        assert await customer.nothing()
    interaction = await refresh(chat.interaction)
    assert (interaction.customer_read_seq, interaction.csr_read_seq) == (2, 3)


async def test_queue_positions_go_to_the_customer_only():
    chat = await new_chat(status=InteractionStatus.QUEUED)
    manager = await database_sync_to_async(user_factory)(role=Role.CSR_MANAGER)
    customer_socket = chat_socket(chat.customer_path(), CUSTOMER_HEADERS)
    observer_socket = chat_socket(chat.csr_path(), await headers_for(manager))
    async with customer_socket as customer, observer_socket as observer:
        # The customer's place is sent on connect, after the replay.
        assert (await customer.receive())["position"] == 1
        payload = {
            "type": "queue.position",
            "interaction_id": chat.id,
            "position": 2,
            "estimated_wait_seconds": None,
        }
        await publish_to_group(interaction_group(chat.id), payload)
        assert await customer.receive() == payload
        assert await observer.nothing()


# --- Ending and losing the chat -------------------------------------------------------


async def assert_ended_for_both(customer, csr, *, by):
    for socket, data in ((customer, {}), (csr, {"by": by})):  # data is never the customer's
        frames = await socket.until_type("interaction.status")
        ended = [f for f in frames if f["type"] == "message"][-1]
        assert (ended["event"], ended["data"]) == (SystemEvent.ENDED, data)
        status = frames[-1]
        assert (status["status"], status["ended_by"], status["last_seq"]) == (
            "ended",
            by,
            ended["seq"],
        )


def csr_in_queue_with_capacity_one(chat):
    profile = csr_profile_ensure(user=chat.csr)
    profile.status, profile.capacity = CSRStatus.AVAILABLE, 1
    profile.save()
    QueueMembership.objects.create(user=chat.csr, queue=chat.interaction.queue, joined=True)


async def test_the_csr_ends_the_chat_for_both_and_gets_the_next_waiting_one():
    """`end` from the CSR: both sides get the ENDED message and the status; the CSR's
    capacity is freed and the waiting chat is offered to them."""
    chat = await new_chat()
    await database_sync_to_async(csr_in_queue_with_capacity_one)(chat)
    waiting = await database_sync_to_async(interaction_factory)(
        status=InteractionStatus.QUEUED,
        channel=await sync_to_async(lambda: chat.interaction.channel)(),
        queue=await sync_to_async(lambda: chat.interaction.queue)(),
    )
    customer_socket, csr_socket = await open_pair(chat)
    async with customer_socket as customer, csr_socket as csr:
        await csr.send(type="end")
        await assert_ended_for_both(customer, csr, by="csr")
        await customer.send(type="send", client_msg_id="too-late", text="wait!")
        assert (await customer.receive_type("error"))["code"] == "chat_ended"
    interaction = await refresh(chat.interaction)
    assert (interaction.status, interaction.ended_by) == ("ended", "csr")
    offered = await database_sync_to_async(
        Offer.objects.filter(interaction=waiting, csr=chat.csr, status=OfferStatus.PENDING).exists
    )()
    assert offered


async def test_the_customer_ends_the_chat_for_both():
    chat = await new_chat()
    customer_socket, csr_socket = await open_pair(chat)
    async with customer_socket as customer, csr_socket as csr:
        await customer.send(type="end")
        await assert_ended_for_both(customer, csr, by="customer")
        await csr.send(type="end")
        assert (await csr.receive_type("error"))["code"] == "chat_ended"
    interaction = await refresh(chat.interaction)
    assert (interaction.status, interaction.ended_by) == ("ended", "customer")


async def test_a_csr_socket_opening_as_the_chat_ends_learns_of_the_end(monkeypatch):
    """A chat that ends as the CSR's panel connects: ended before the socket opens, the
    `hello` says so (no status event follows: it went out before anyone listened);
    ended just after the socket read the chat for its `hello`, the status event follows
    the replay, with the end message in it."""
    ended_before = await new_chat()
    await database_sync_to_async(interaction_end)(
        interaction_id=ended_before.id, by=SenderKind.CUSTOMER
    )
    headers = await headers_for(ended_before.csr)
    async with chat_socket(ended_before.csr_path(), headers) as csr:
        assert csr.hello["interaction"]["status"] == "ended"
        assert csr.opening[-2]["event"] == SystemEvent.ENDED

    ended_after = await new_chat()
    read_access = consumers._user_access

    async def access_then_end(interaction_id, user):
        access = await read_access(interaction_id, user)
        await database_sync_to_async(interaction_end)(
            interaction_id=interaction_id, by=SenderKind.CUSTOMER
        )
        return access

    monkeypatch.setattr(consumers, "_user_access", access_then_end)
    headers = await headers_for(ended_after.csr)
    async with chat_socket(ended_after.csr_path(), headers) as csr:
        assert csr.hello["interaction"]["status"] == "active"
        status = await csr.receive_type("interaction.status")
        assert status["status"] == "ended"
        assert SystemEvent.ENDED in [f.get("event") for f in csr.opening + csr.skipped]


async def test_the_customer_leaving_a_queued_chat_abandons_it():
    chat = await new_chat(status=InteractionStatus.QUEUED)
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await customer.send(type="end")
        frames = await customer.until_type("interaction.status")
        assert [f["event"] for f in frames if f["type"] == "message"] == ["abandoned"]
        assert frames[-1]["status"] == "abandoned"


async def test_a_csr_who_loses_the_chat_to_a_transfer_is_revoked_and_closed():
    """Once another CSR accepts the transfer, the old CSR's chat socket gets
    `chat.revoked` and is closed with 4403; reconnecting is refused; the new CSR writes."""
    chat = await new_chat()

    def available_csr():
        user = user_factory(role=Role.CSR)
        profile = csr_profile_ensure(user=user)
        profile.status = CSRStatus.AVAILABLE
        profile.save()
        return user

    target = await database_sync_to_async(available_csr)()
    old_headers = await headers_for(chat.csr)
    async with chat_socket(chat.csr_path(), old_headers) as old:
        offer = await database_sync_to_async(interaction_transfer_to_csr)(
            interaction_id=chat.id, user=chat.csr, target=target, note="billing"
        )
        # Until the transfer is accepted the old CSR still writes.
        await old.send(type="send", client_msg_id="bridge", text="One moment")
        assert (await old.receive_type("ack"))["seq"] == 2
        await database_sync_to_async(offer_accept)(offer_id=offer.pk, user=target)
        revoked = await old.receive_type("chat.revoked")
        assert revoked["interaction_id"] == chat.id
        assert revoked["reason"]
        assert await old.closed_with() == CLOSE_FORBIDDEN
    async with refused_socket(chat.csr_path(), old_headers) as again:
        assert await again.closed_with() == CLOSE_FORBIDDEN
    async with chat_socket(chat.csr_path(last_seq=3), await headers_for(target)) as new:
        assert new.hello["role"] == "csr"
        await new.send(type="send", client_msg_id="hi", text="I'm taking over")
        assert (await new.receive_type("ack"))["duplicate"] is False


async def test_a_csr_whose_revocation_was_lost_is_closed_on_the_next_send():
    """If the layer dropped `chat.revoked`, the next `send` is refused (not_party) and the
    socket closes with 4403."""
    chat = await new_chat()
    other = await database_sync_to_async(user_factory)(role=Role.CSR)
    async with chat_socket(chat.csr_path(), await headers_for(chat.csr)) as csr:
        await database_sync_to_async(Interaction.objects.filter(pk=chat.id).update)(
            assigned_csr=other
        )
        await csr.send(type="send", client_msg_id="orphan", text="hello?")
        error = await csr.receive()
        assert (error["code"], error["client_msg_id"]) == ("not_party", "orphan")
        assert await csr.closed_with() == CLOSE_FORBIDDEN
    assert not await database_sync_to_async(Message.objects.filter(interaction_id=chat.id).exists)()


async def test_the_customer_never_receives_contact_center_details():
    """A transfer note travels in the system message's `data`: the CSR's panel gets it,
    the customer's socket gets the message with empty `data` (live and replayed)."""
    chat = await new_chat()
    target = await database_sync_to_async(user_factory)(role=Role.CSR)

    def make_target_available():
        profile = csr_profile_ensure(user=target)
        profile.status = CSRStatus.AVAILABLE
        profile.save()

    await database_sync_to_async(make_target_available)()
    customer_socket, csr_socket = await open_pair(chat)
    async with customer_socket as customer, csr_socket as csr:
        await database_sync_to_async(interaction_transfer_to_csr)(
            interaction_id=chat.id, user=chat.csr, target=target, note="VIP, angry about fees"
        )
        for socket, expected_data in ((csr, True), (customer, False)):
            message = await socket.receive_type("message")
            assert message["event"] == SystemEvent.TRANSFERRED
            assert "VIP" not in message["text"]
            assert ("VIP, angry about fees" in str(message["data"])) is expected_data
    async with chat_socket(chat.customer_path(last_seq=0), CUSTOMER_HEADERS) as replayed:
        frames = [f for f in replayed.opening if f["type"] == "message"]
        assert frames and all(f["data"] == {} for f in frames)


async def test_a_heartbeat_delivers_the_newest_message_the_layer_dropped():
    """When the layer drops the newest message nothing later reveals the gap: the next
    heartbeat sends it, and its ack carries the last seq."""
    chat = await new_chat()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await sync_to_async(store_unpublished)(chat, 2)
        assert await customer.nothing()
        await customer.send(type="heartbeat")
        frames = await customer.until_type("heartbeat.ack")
        assert message_seqs(frames) == [1, 2]
        assert frames[-1]["last_seq"] == 2


# RedisPubSubChannelLayer's receive loop waits 1 s after a lost connection.
PUBSUB_RECONNECT_SECONDS = 1.5


async def test_a_heartbeat_rejoins_the_groups_a_redis_restart_forgot():
    """Group membership lives in Redis: after a heartbeat the socket is back in its
    interaction's group even if Redis lost it (the core layer's group set is gone; the
    pub/sub layer's connection was dropped and needs up to a second to re-subscribe)."""
    chat = await new_chat()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await layer_forget_groups(get_channel_layer(), interaction_group(chat.id))
        await asyncio.sleep(PUBSUB_RECONNECT_SECONDS)
        await customer.send(type="heartbeat")
        await customer.until_type("heartbeat.ack")
        await sync_to_async(store)(chat, 1)
        message = await customer.receive_type("message")
        assert message["seq"] == 1


# --- While Redis is down --------------------------------------------------------------
# The fixture layer_redis (tests/conftest.py): a private Redis for the channel layer,
# killed and started again on the same port; both channels_redis layers.


async def receive_until(socket, frame_type, timeout=OUTAGE_SECONDS):
    """Every frame up to and including the next one of `frame_type`."""
    frames = []
    while True:
        frames.append(await socket.receive(timeout=timeout))
        if frames[-1]["type"] == frame_type:
            return frames


async def test_sockets_opened_while_redis_is_down_replay_and_say_live_updates_are_delayed(
    layer_redis,
):
    """With the channel layer unreachable both sockets still open: hello, the replay
    from the database, then `live.delayed`. Sends are stored and acknowledged. Once
    Redis is back each socket says `live.restored`, sends what was stored meanwhile
    (each message once) and the chat's state, and live messages flow again."""
    chat = await new_chat()
    await sync_to_async(store)(chat, 2)
    customer_socket, csr_socket = await open_pair(chat)
    async with customer_socket as customer, csr_socket as csr:
        for socket in (customer, csr):
            assert socket.hello["type"] == "hello"
            assert socket.opening_seqs() == [1, 2]
            # (The CSR's panel gets the stored sentiment first.)
            frames = await receive_until(socket, "live.delayed")
            assert frames[-1] == {"type": "live.delayed", "message": LIVE_DELAYED_MESSAGE}
            assert message_seqs(frames) == []
        await customer.send(type="send", client_msg_id="while-down", text="Anyone there?")
        assert (await customer.receive_type("ack"))["seq"] == 3
        await sync_to_async(store)(chat, 1, SenderKind.CSR)

        await sync_to_async(layer_redis.start)()
        for socket in (customer, csr):
            frames = await receive_until(socket, "interaction.status")
            assert [f["type"] for f in frames if f["type"] != "sentiment"] == [
                "live.restored",
                "message",
                "message",
                "interaction.status",
            ]
            assert frames[0] == {"type": "live.restored", "message": LIVE_RESTORED_MESSAGE}
            assert message_seqs(frames) == [3, 4]
            assert (frames[-1]["status"], frames[-1]["last_seq"]) == ("active", 4)
        await sync_to_async(store)(chat, 1)
        for socket in (customer, csr):
            assert message_seqs(await socket.until_seq(5)) == [5]
        assert await customer.nothing()


async def test_a_redis_restart_under_an_open_socket_is_no_server_error(layer_redis):
    """Redis killed under open sockets: heartbeats are still answered (no 1011), the
    socket says `live.delayed` when the layer tells it (the core layer's receive fails;
    the pub/sub layer keeps its subscriptions and re-subscribes by itself), and after
    the restart every message stored meanwhile and after arrives once, in order, live."""
    await sync_to_async(layer_redis.start)()
    chat = await new_chat()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        assert await customer.nothing()
        await sync_to_async(layer_redis.kill)()
        await sync_to_async(store)(chat, 1, SenderKind.CSR)
        await customer.send(type="heartbeat")
        frames = await receive_until(customer, "heartbeat.ack")
        assert message_seqs(frames) == [1]
        assert frames[-1]["last_seq"] == 1
        if get_channel_layer().__class__.__name__ == "RedisChannelLayer":
            if "live.delayed" not in [f["type"] for f in frames]:
                frames += await receive_until(customer, "live.delayed")
            assert {"type": "live.delayed", "message": LIVE_DELAYED_MESSAGE} in frames

        await sync_to_async(layer_redis.start)()
        # Stored after the restart: once the layer is back these arrive live (a gap
        # left by an event lost while it reconnected is filled from the database).
        deadline = asyncio.get_running_loop().time() + OUTAGE_SECONDS
        seqs = []
        while not seqs:
            assert asyncio.get_running_loop().time() < deadline, "no live message came"
            await sync_to_async(store)(chat, 1, SenderKind.CSR)
            if not await customer.nothing(timeout=1):
                seqs = message_seqs(await receive_until(customer, "message"))
        while not await customer.nothing(timeout=1):
            seqs += message_seqs([await customer.receive()])
        assert seqs == list(range(2, 2 + len(seqs)))
        await sync_to_async(store)(chat, 1, SenderKind.CSR)
        assert message_seqs(await customer.until_seq(seqs[-1] + 1)) == [seqs[-1] + 1]
        await customer.send(type="heartbeat")
        assert message_seqs(await receive_until(customer, "heartbeat.ack")) == []


async def test_a_socket_closed_while_redis_is_down_closes_cleanly(layer_redis):
    """Leaving the groups fails while Redis is down (core layer): the socket still
    closes without an error."""
    await sync_to_async(layer_redis.start)()
    chat = await new_chat()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS):
        await sync_to_async(layer_redis.kill)()
    # chat_socket's disconnect() re-raises whatever the consumer raised on the way out.
