"""Group commit: the sends of many sockets stored in one transaction
(chat.services.messages.message_send_many, chat.group_commit), each answered as if it
had been stored alone."""

import asyncio
import itertools
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from chat import group_commit
from chat.errors import ChatError
from chat.group_commit import SendBatcher
from chat.models import Interaction, InteractionStatus, Message, SenderKind
from chat.services.messages import SendRequest, SendResult, message_send_many
from chat.signals import customer_message_stored
from config.ratelimit import SharedLimit
from tests.chat.conftest import CUSTOMER_HEADERS, chat_socket, make_live_chat
from tests.routing.conftest import login_headers

_ids = itertools.count(1)


def customer_send(chat, client_msg_id=None, text="Hello"):
    return SendRequest(
        interaction_id=chat.id,
        sender_kind=SenderKind.CUSTOMER,
        text=text,
        client_msg_id=client_msg_id or f"g-{next(_ids)}",
    )


def csr_send(chat, client_msg_id=None, user=None):
    return SendRequest(
        interaction_id=chat.id,
        sender_kind=SenderKind.CSR,
        text="Hi, how can I help?",
        client_msg_id=client_msg_id or f"g-{next(_ids)}",
        user=user or chat.csr,
    )


def stored(chat):
    return list(
        Message.objects.filter(interaction_id=chat.id).values_list(
            "seq", "sender_kind", "client_msg_id"
        )
    )


# --- message_send_many ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_refused_send_takes_nothing_from_its_batch_mates():
    """One batch: sends to two open chats, to an ended chat, by a CSR who does not handle
    the chat, to a chat that does not exist and with no text. The good ones are stored
    and numbered; each refusal gets its own code and uses no sequence number."""
    one, two = make_live_chat(), make_live_chat()
    ended = make_live_chat(status=InteractionStatus.ENDED)
    requests = [
        customer_send(one, "a"),
        customer_send(ended, "b"),
        csr_send(two, "c"),
        csr_send(one, "d", user=two.csr),
        SendRequest(
            interaction_id=2**62, sender_kind=SenderKind.CUSTOMER, text="?", client_msg_id="e"
        ),
        customer_send(two, "f", text="   "),
        customer_send(one, "g"),
    ]
    outcomes = message_send_many(requests)
    assert [o.code if isinstance(o, ChatError) else "stored" for o in outcomes] == [
        "stored",
        "chat_ended",
        "stored",
        "not_party",
        "not_found",
        "empty",
        "stored",
    ]
    assert stored(one) == [(1, "customer", "a"), (2, "customer", "g")]
    assert stored(two) == [(1, "csr", "c")]
    assert stored(ended) == []
    assert Interaction.objects.get(pk=one.id).last_seq == 2
    assert Interaction.objects.get(pk=two.id).last_seq == 1
    assert [o.message.seq for o in outcomes if isinstance(o, SendResult)] == [1, 1, 2]
    assert all(o.created for o in outcomes if isinstance(o, SendResult))


@pytest.mark.django_db
def test_a_batch_costs_three_statements_whatever_its_size(django_assert_num_queries):
    """Ten customer sends to five chats: the locking read of the chats, one UPDATE of
    their sequence numbers and one INSERT (plus the savepoint pair of the test's
    transaction)."""
    chats = [make_live_chat() for _ in range(5)]
    requests = [customer_send(chat) for chat in chats for _ in range(2)]
    with django_assert_num_queries(3 + 2):
        outcomes = message_send_many(requests)
    assert all(isinstance(o, SendResult) and o.created for o in outcomes)
    for chat in chats:
        assert [seq for seq, _, _ in stored(chat)] == [1, 2]
        assert Interaction.objects.get(pk=chat.id).last_seq == 2


@pytest.mark.django_db
def test_a_retry_inside_a_batch_and_across_batches_is_stored_once():
    """The same client_msg_id twice in one batch: one row, the second answered with it
    (created=False). Sent again in a later batch: the same answer, nothing stored. The
    other side using that id is refused."""
    chat = make_live_chat()
    first, again = message_send_many([customer_send(chat, "same"), customer_send(chat, "same")])
    assert isinstance(first, SendResult) and isinstance(again, SendResult)
    assert (first.created, again.created) == (True, False)
    assert again.message.seq == first.message.seq == 1
    later, other_side = message_send_many([customer_send(chat, "same"), csr_send(chat, "same")])
    assert isinstance(later, SendResult)
    assert (later.created, later.message.pk) == (False, first.message.pk)
    assert isinstance(other_side, ChatError)
    assert other_side.code == "bad_client_msg_id"
    assert stored(chat) == [(1, "customer", "same")]
    assert Interaction.objects.get(pk=chat.id).last_seq == 1


@pytest.mark.django_db
def test_a_database_failure_of_one_send_fails_only_that_send():
    """A row no check foresaw makes the batch's INSERT fail (here: a message stored
    behind the services' back holds the chat's next number). The batch is rolled back
    and each send tried alone: the others are stored, the failing one gets its error."""
    good, broken = make_live_chat(), make_live_chat()
    Message.objects.create(
        interaction=broken.interaction, seq=1, sender_kind=SenderKind.BOT, text="stray"
    )
    outcomes = message_send_many(
        [customer_send(good, "x"), customer_send(broken, "y"), customer_send(good, "z")]
    )
    assert isinstance(outcomes[0], SendResult) and isinstance(outcomes[2], SendResult)
    assert isinstance(outcomes[1], Exception) and not isinstance(outcomes[1], ChatError)
    assert stored(good) == [(1, "customer", "x"), (2, "customer", "z")]
    assert Message.objects.filter(interaction_id=broken.id, client_msg_id="y").count() == 0


@pytest.mark.django_db
def test_the_limits_of_a_batch_are_counted_together():
    """SharedLimit.take_many counts each send against its party's limit in one round
    trip: the second send of a party allowed one is refused, another party's is not."""
    key = f"test-group-commit:{next(_ids)}"
    one = SharedLimit(f"{key}:a", events=1, window_seconds=10)
    other = SharedLimit(f"{key}:b", events=1, window_seconds=10)
    waits = SharedLimit.take_many([one, one, other])
    assert waits[0] == 0 and waits[2] == 0
    assert 1 <= waits[1] <= 10


# --- the batcher, through the sockets ------------------------------------------------


class GatedBatches:
    """Records the size of each batch; the first waits until `open()`, so that the sends
    arriving meanwhile make up the second."""

    def __init__(self):
        self.sizes: list[int] = []
        self.gate = threading.Event()

    def __call__(self, requests, **kwargs):
        self.sizes.append(len(requests))
        if len(self.sizes) == 1:
            assert self.gate.wait(10)
        return message_send_many(requests, **kwargs)


async def until(condition) -> None:
    for _ in range(250):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_batch_with_a_refused_send_acks_the_others_and_errs_that_one(monkeypatch):
    """While a batch is being stored, sends from four customers (one of an ended chat)
    wait and are stored as the next batch: three acks with their seqs, and one
    chat_ended error carrying its client_msg_id; every live message reaches its CSR."""
    batcher = SendBatcher(max_in_flight=1)
    monkeypatch.setitem(group_commit._batchers, asyncio.get_running_loop(), batcher)
    gated = GatedBatches()
    monkeypatch.setattr(group_commit, "message_send_many", gated)
    chats = [await sync_to_async(make_live_chat)() for _ in range(4)]
    ended = await sync_to_async(make_live_chat)(status=InteractionStatus.ENDED)
    sockets = [chat_socket(c.customer_path(), CUSTOMER_HEADERS) for c in [*chats, ended]]
    csr_headers = await database_sync_to_async(login_headers)(chats[1].csr)
    async with (
        sockets[0] as first,
        sockets[1] as a,
        sockets[2] as b,
        sockets[3] as c,
        sockets[4] as late,
        chat_socket(chats[1].csr_path(), csr_headers) as csr,
    ):
        await first.send(type="send", client_msg_id="first", text="first")
        await until(lambda: gated.sizes == [1])  # the first batch is being stored
        for n, socket in enumerate((a, late, b, c)):
            await socket.send(type="send", client_msg_id=f"m{n}", text=f"message {n}")
        await until(lambda: len(batcher.waiting) == 4)
        gated.gate.set()
        assert (await first.receive_type("ack"))["seq"] == 1
        acks = [await socket.receive_type("ack") for socket in (a, b, c)]
        assert [(ack["client_msg_id"], ack["seq"], ack["duplicate"]) for ack in acks] == [
            ("m0", 1, False),
            ("m2", 1, False),
            ("m3", 1, False),
        ]
        error = await late.receive_type("error")
        assert (error["code"], error["client_msg_id"]) == ("chat_ended", "m1")
        live = await csr.receive_type("message")
        assert (live["seq"], live["text"]) == (1, "message 0")
    assert gated.sizes == [1, 4]
    assert await database_sync_to_async(Message.objects.filter(interaction=ended.id).count)() == 0


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_concurrent_senders_of_many_chats_keep_each_chats_order():
    """Three chats, customer and CSR of each sending ten messages at once: each chat's
    messages are numbered 1…20 with no gap, each sender's in the order sent; the acks
    give those numbers, and both sockets of each chat receive all twenty in order."""
    chats = [await sync_to_async(make_live_chat)() for _ in range(3)]
    per_sender = 10

    async def sender(socket, prefix):
        acked = []
        for n in range(per_sender):
            await socket.send(type="send", client_msg_id=f"{prefix}-{n}", text=f"{prefix} {n}")
            ack = await socket.receive_type("ack")
            assert ack["client_msg_id"] == f"{prefix}-{n}"
            acked.append(ack["seq"])
        return acked

    async def conversation(chat):
        headers = await database_sync_to_async(login_headers)(chat.csr)
        async with (
            chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer,
            chat_socket(chat.csr_path(), headers) as csr,
        ):
            customer_acks, csr_acks = await asyncio.gather(
                sender(customer, f"c{chat.id}"), sender(csr, f"a{chat.id}")
            )
            received = []
            for socket in (customer, csr):
                frames = await socket.until_seq(2 * per_sender)
                received.append([(f["seq"], f["text"]) for f in frames if f["type"] == "message"])
            return customer_acks, csr_acks, received

    results = await asyncio.gather(*(conversation(chat) for chat in chats))
    for chat, (customer_acks, csr_acks, received) in zip(chats, results, strict=True):
        rows = await database_sync_to_async(stored)(chat)
        assert [seq for seq, _, _ in rows] == list(range(1, 2 * per_sender + 1))
        assert customer_acks == sorted(customer_acks) and csr_acks == sorted(csr_acks)
        assert sorted(customer_acks + csr_acks) == list(range(1, 2 * per_sender + 1))
        by_seq = {seq: client_msg_id for seq, _, client_msg_id in rows}
        assert [by_seq[s] for s in customer_acks] == [f"c{chat.id}-{n}" for n in range(per_sender)]
        texts = await database_sync_to_async(
            lambda chat=chat: list(
                Message.objects.filter(interaction_id=chat.id).values_list("seq", "text")
            )
        )()
        assert received[0] == received[1] == texts


@pytest.mark.django_db(transaction=True)
def test_senders_are_answered_once_committed_before_the_apps_hooks_run():
    """`answered` gets every outcome after the commit (the messages are in the
    database) and before the apps' customer_message_stored receivers run."""
    chat = make_live_chat()
    order = []

    def answered(outcomes):
        assert Message.objects.filter(interaction_id=chat.id).count() == 2
        order.append(("answered", [o.message.seq for o in outcomes]))

    def receiver(interaction_id, seq, **kwargs):
        order.append(("hook", seq))

    customer_message_stored.connect(receiver)
    try:
        message_send_many([customer_send(chat), customer_send(chat)], answered=answered)
    finally:
        customer_message_stored.disconnect(receiver)
    assert order == [("answered", [1, 2]), ("hook", 1), ("hook", 2)]
