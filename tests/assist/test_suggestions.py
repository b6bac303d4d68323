"""Suggested replies: ranked with BM25 against the customer's words, learning from the
CSRs' picks per intent, and pushed to the handling CSR's chat socket (never to the
customer's, nor to a manager watching) after each customer message."""

import itertools

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from assist import events, selectors, services
from assist.demo import demo_assist_seed
from assist.models import Article, Phrase, SuggestionKind
from assist.ranking import Index, Item
from chat.models import SenderKind
from chat.services.messages import message_send
from config.users import Role
from tests.chat.conftest import CUSTOMER_HEADERS, assert_shape, chat_socket, make_live_chat
from tests.factories import user_factory
from tests.routing.conftest import login_headers

_ids = itertools.count(1)


def _entries():
    return [
        (
            Item(
                kind=SuggestionKind.ARTICLE,
                id=1,
                title="Lost card",
                intents=frozenset({"lost_card"}),
            ),
            "Report a lost or stolen card: block it",
        ),
        (
            Item(kind=SuggestionKind.ARTICLE, id=2, title="Freeze card"),
            "Freeze your card when you misplaced the card",
        ),
        (
            Item(kind=SuggestionKind.PHRASE, id=3, title="Mine", owner_id=7),
            "card blocked card card",
        ),
        (
            Item(kind=SuggestionKind.PHRASE, id=4, title="Billing only", queue_ids=frozenset({9})),
            "card card card refund",
        ),
    ]


def test_bm25_ranks_by_the_customer_s_words_and_says_which_matched():
    ranked = Index(_entries()).rank("I lost my card yesterday", user_id=None, queue_id=None)
    assert ranked[0].item.id == 1
    assert set(ranked[0].matched) == {"lost", "card"}


def test_a_csr_sees_only_their_own_personal_phrases_and_phrases_for_the_chat_s_queue():
    index = Index(_entries())
    assert 3 not in [r.item.id for r in index.rank("card", user_id=8, queue_id=None)]
    assert 3 in [r.item.id for r in index.rank("card", user_id=7, queue_id=None)]
    assert 4 not in [r.item.id for r in index.rank("card", user_id=None, queue_id=1)]
    assert 4 in [r.item.id for r in index.rank("card", user_id=None, queue_id=9)]


def test_a_suggestion_picked_for_an_intent_ranks_higher_for_that_intent_only():
    index = Index(_entries())
    query = "lost misplaced card"
    before = [r.item.id for r in index.rank(query, user_id=None, queue_id=None, intent="general")]
    assert before[:2] == [2, 1]
    picks = {(SuggestionKind.ARTICLE, 1): 20}
    after = index.rank(query, user_id=None, queue_id=None, intent="general", picks=picks)
    assert after[0].item.id == 1 and after[0].picks == 20
    # Nothing in common with the message: never suggested, however often picked.
    assert index.rank("opening hours", user_id=None, queue_id=None, picks=picks) == []


@pytest.mark.django_db
def test_picks_recorded_by_the_service_change_the_ranking_for_the_intent():
    demo_assist_seed()
    freeze = Article.objects.get(slug="freeze-card")

    def first(intent):
        ranked = selectors.suggestions_rank(
            text="I can't find my card", intent=intent, queue_id=None, user_id=None
        )
        return ranked[0].item.id

    assert first("misplaced") != freeze.pk
    for _ in range(10):
        services.suggestion_pick(intent="misplaced", kind=SuggestionKind.ARTICLE, item_id=freeze.pk)
    assert first("misplaced") == freeze.pk
    assert first("other") != freeze.pk


@pytest.mark.django_db
def test_the_index_follows_content_changes(django_capture_on_commit_callbacks):
    """Every process rebuilds its index once a change of content commits."""
    demo_assist_seed()
    assert not selectors.suggestions_rank(text="zeppelin", intent="", queue_id=None, user_id=None)
    with django_capture_on_commit_callbacks(execute=True):
        Phrase.objects.create(title="Zeppelin rides", text="We do not sell zeppelin rides.")
    ranked = selectors.suggestions_rank(text="zeppelin", intent="", queue_id=None, user_id=None)
    assert [r.item.title for r in ranked] == ["Zeppelin rides"]


async def frames_within(socket, seconds: float) -> list[dict]:
    """Every frame the socket gets within `seconds`."""
    frames = list(socket.skipped)
    socket.skipped.clear()
    while not await socket.communicator.receive_nothing(timeout=seconds):
        frames.append(await socket.communicator.receive_json_from())
    return frames


def customer_says(chat, text: str) -> int:
    return message_send(
        interaction_id=chat.id,
        sender_kind=SenderKind.CUSTOMER,
        text=text,
        client_msg_id=f"s-{next(_ids)}",
    ).message.seq


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_suggestions_are_pushed_to_the_handling_csr_s_socket_after_a_customer_message():
    """The CSR's chat socket gets `assist.suggestions` for the new message, the lost-card
    article first with its reasons; the customer's socket and a watching manager's get
    nothing of it."""
    await sync_to_async(demo_assist_seed)()
    chat = await sync_to_async(make_live_chat)(intent="lost_card", customer_name="Dana Reyes")
    manager = await sync_to_async(user_factory)(role=Role.CSR_MANAGER)
    csr_headers = await database_sync_to_async(login_headers)(chat.csr)
    manager_headers = await database_sync_to_async(login_headers)(manager)
    async with (
        chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer,
        chat_socket(chat.csr_path(), csr_headers) as csr,
        chat_socket(chat.csr_path(), manager_headers) as watching,
    ):
        seq = await sync_to_async(customer_says)(
            chat, "Hi, I think my card was stolen at the station"
        )
        frame = await csr.receive_type("assist.suggestions")
        assert_shape(frame, events.SuggestionsFrame)
        assert (frame["interaction_id"], frame["seq"]) == (chat.id, seq)
        first = frame["items"][0]
        assert (first["kind"], first["title"]) == ("article", "Report a lost or stolen card")
        assert "card" in first["why"]["words"] and first["why"]["intent"] == "lost_card"
        kinds = {item["kind"] for item in frame["items"]}
        assert kinds == {"article", "phrase"}
        phrase = next(item for item in frame["items"] if item["kind"] == "phrase")
        assert "{" not in phrase["text"]  # placeholders filled

        for socket in (watching, customer):
            frames = await socket.until_seq(seq) + await frames_within(socket, 0.5)
            assert all(f["type"] != "assist.suggestions" for f in frames)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_csr_s_other_chat_panel_does_not_get_this_chat_s_suggestions():
    await sync_to_async(demo_assist_seed)()
    chat = await sync_to_async(make_live_chat)(intent="billing")
    other = await sync_to_async(make_live_chat)(csr=chat.csr)
    headers = await database_sync_to_async(login_headers)(chat.csr)
    async with (
        chat_socket(other.csr_path(), headers) as other_panel,
        chat_socket(chat.csr_path(), headers) as panel,
    ):
        await sync_to_async(customer_says)(chat, "I was charged twice for one order")
        frame = await panel.receive_type("assist.suggestions")
        assert frame["items"][0]["title"] == "Charged twice for one purchase"
        frames = await frames_within(other_panel, 0.5)
        assert all(f["type"] != "assist.suggestions" for f in frames)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_burst_while_a_run_waits_gets_one_push_for_its_newest_message():
    """While a push run is queued, customer messages only note their chat's newest seq
    (no task each); the run pushes the chat's suggestions once, for the newest message,
    and clears the flag, so the next message is pushed at once again."""
    from django.core.cache import cache
    from django_redis import get_redis_connection

    redis = get_redis_connection("default")
    pending_key = cache.make_key(services.SUGGEST_PENDING_KEY)
    queued_key = cache.make_key(services.SUGGEST_QUEUED_KEY)
    await sync_to_async(demo_assist_seed)()
    chat = await sync_to_async(make_live_chat)(intent="lost_card")
    headers = await database_sync_to_async(login_headers)(chat.csr)
    async with chat_socket(chat.csr_path(), headers) as csr:
        await sync_to_async(redis.set)(queued_key, 1)  # a run waits for a worker
        try:
            seqs = [
                await sync_to_async(customer_says)(chat, text)
                for text in ("Hello", "I was charged twice", "my card was stolen")
            ]
            await csr.until_seq(seqs[-1])
            assert await sync_to_async(redis.hgetall)(pending_key) == {
                str(chat.id).encode(): str(seqs[-1]).encode()
            }
            assert all(f["type"] != "assist.suggestions" for f in await frames_within(csr, 0.3))

            assert await sync_to_async(services.suggestions_push_pending)() == [chat.id]
            frames = await frames_within(csr, 0.5)
            pushed = [f for f in frames if f["type"] == "assist.suggestions"]
            assert [f["seq"] for f in pushed] == [seqs[-1]]
            assert pushed[0]["items"][0]["title"] == "Report a lost or stolen card"
            assert not await sync_to_async(redis.exists)(pending_key, queued_key)

            seq = await sync_to_async(customer_says)(chat, "Can you block it?")
            assert (await csr.receive_type("assist.suggestions"))["seq"] == seq
        finally:
            await sync_to_async(redis.delete)(pending_key, queued_key)


def test_with_the_cache_down_a_message_gets_a_push_task_of_its_own(monkeypatch):
    """No Redis for the pending hash: the chat's suggestions are pushed by a task of
    their own, and nothing is raised to the send path."""
    import redis

    from config.celery_app import app

    sent = []
    monkeypatch.setattr(
        app, "send_task", lambda name, args=None, kwargs=None, **options: sent.append((name, args))
    )
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    monkeypatch.setattr(services, "shared_redis", lambda: dead)
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        services.suggestions_request(interaction_id=41, seq=7)
    finally:
        app.conf.task_always_eager = eager
    assert sent == [(services.SUGGEST_ONE_TASK, (41, 7))]


def test_a_large_index_is_rebuilt_in_the_background_while_the_old_one_answers():
    import threading

    from assist.ranking import IndexHolder

    release = threading.Event()
    old_entries, new_entries = _entries()[:2], _entries()

    def slow_build():
        release.wait(5)
        return new_entries

    holder = IndexHolder(inline_below=1)
    first = holder.get("v1", lambda: old_entries)
    assert len(first.items) == 2
    assert holder.get("v2", slow_build) is first  # answers at once with the old index
    assert holder.get("v2", slow_build) is first  # and starts one build, not two
    release.set()
    for _ in range(100):
        if holder.version == "v2":
            break
        threading.Event().wait(0.05)
    assert len(holder.get("v2", slow_build).items) == 4


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_csr_s_agent_socket_ignores_a_panel_push_and_stays_open():
    """`csr.push` reaches every socket on the CSR's group: /ws/agent/ lets it pass (no
    frame, no error) and keeps working."""
    from channels.layers import get_channel_layer
    from channels.testing import WebsocketCommunicator

    from assist.events import CSR_PUSH_HANDLER, suggestions_frame
    from chat.events import csr_group
    from config.asgi import application

    csr = await sync_to_async(user_factory)(role=Role.CSR)
    headers = await database_sync_to_async(login_headers)(csr)
    agent = WebsocketCommunicator(application, "/ws/agent/", headers=headers)
    connected, _ = await agent.connect()
    assert connected
    try:
        assert (await agent.receive_json_from(timeout=5))["type"] == "state"
        frame = dict(suggestions_frame(interaction_id=1, seq=1, items=[]))
        await get_channel_layer().group_send(
            csr_group(csr.pk), {"type": CSR_PUSH_HANDLER, "frame": frame}
        )
        frames = []
        while not await agent.receive_nothing(timeout=0.5):
            frames.append(await agent.receive_json_from())
        assert all(f["type"] not in ("assist.suggestions", "error") for f in frames)
        await agent.send_json_to({"type": "accept", "offer_id": "seven"})
        while (reply := await agent.receive_json_from(timeout=5))["type"] != "error":
            pass
        assert reply["code"] == "bad_offer_id"  # still answering
    finally:
        await agent.disconnect()
