"""Scoring customer sentiment in a chat: queued after each customer message commits
(only while App Studio has it on), a burst scored once, never moved back to older
messages, stored on the interaction and the messages, published to the contact center,
and shown by the chat panel's data on load."""

import itertools

import pytest
from celery.signals import task_postrun
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_redis import get_redis_connection

from chat import schemas
from chat.models import (
    AppStudioSettings,
    Interaction,
    Message,
    SenderKind,
    SentimentLabel,
)
from chat.selectors.settings import app_studio_cache_invalidate, app_studio_settings_get
from chat.sentiment import TREND_LENGTH
from chat.services import sentiment as scoring
from chat.services.messages import message_create, message_send
from chat.services.sentiment import (
    SENTIMENT_COALESCE_SECONDS,
    SENTIMENT_PENDING_KEY,
    SENTIMENT_QUEUED_KEY,
    interaction_sentiment_update,
    interactions_sentiment_update,
    sentiment_request,
)
from chat.tasks import sentiment_score_pending
from portal.selectors import PanelMode, interaction_panel, portal_interaction_get
from tests.chat.conftest import assert_shape, make_live_chat

pytestmark = pytest.mark.django_db

ANGRY = "This is useless, I've been waiting for an hour 😡"
HAPPY = "Thank you so much, all fixed! 😊"
_ids = itertools.count(1)


def customer_says(chat, text: str) -> Message:
    return message_send(
        interaction_id=chat.id,
        sender_kind=SenderKind.CUSTOMER,
        text=text,
        client_msg_id=f"c-{next(_ids)}",
    ).message


def csr_says(chat, text: str) -> Message:
    return message_send(
        interaction_id=chat.id,
        sender_kind=SenderKind.CSR,
        text=text,
        client_msg_id=f"a-{next(_ids)}",
        user=chat.csr,
    ).message


def stored(chat) -> Interaction:
    return Interaction.objects.get(pk=chat.id)


@pytest.fixture
def scoring_tasks():
    """The ids of the interactions taken by scoring runs, in order (tasks run eagerly
    here: each request finds no run queued and runs one at once)."""
    ran: list[int] = []

    def record(task=None, retval=None, **kwargs):
        if task is not None and task.name == sentiment_score_pending.name:
            ran.extend(retval)

    task_postrun.connect(record, weak=False)
    yield ran
    task_postrun.disconnect(record)


@pytest.fixture(autouse=True)
def _app_studio_settings():
    """The settings record exists (as in any running portal), read through the cache."""
    app_studio_settings_get()


def sentiment_off() -> None:
    record = app_studio_settings_get()
    record.sentiment_enabled = False
    record.save()
    app_studio_cache_invalidate()  # what the save does on commit


# --- Queued after commit -------------------------------------------------------------


def test_a_customer_message_is_scored_once_it_commits(
    django_capture_on_commit_callbacks, scoring_tasks
):
    """After the send commits, the task scores it: label, score and the seq it covers on
    the interaction, the message's own score on the message."""
    chat = make_live_chat()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        message = customer_says(chat, ANGRY)
    assert stored(chat).sentiment_label == ""  # nothing before the commit
    assert scoring_tasks == []
    with django_capture_on_commit_callbacks(execute=True):
        for callback in queued:
            callback()
    assert scoring_tasks == [chat.id]
    interaction = stored(chat)
    assert interaction.sentiment_label == SentimentLabel.NEGATIVE
    assert interaction.sentiment_score < 0
    assert interaction.sentiment_seq == message.seq
    message.refresh_from_db()
    assert message.sentiment_score == interaction.sentiment_score  # one message: the same


def test_csr_and_system_messages_queue_no_scoring(
    django_capture_on_commit_callbacks, scoring_tasks
):
    chat = make_live_chat()
    with django_capture_on_commit_callbacks(execute=True):
        csr_says(chat, "This is terrible news, sorry")
        message_create(interaction=chat.interaction, sender_kind=SenderKind.SYSTEM, text="x")
    assert scoring_tasks == []
    assert stored(chat).sentiment_label == ""


def test_the_connector_api_path_is_scored_too(django_capture_on_commit_callbacks, bot):
    """A customer message relayed by a channel connector is scored like a widget's."""
    chat = make_live_chat(bot_client=bot.client, channel=bot.channel)
    with django_capture_on_commit_callbacks(execute=True):
        reply = bot.api.post(
            f"/api/v1/escalations/{chat.id}/messages/",
            {"client_msg_id": "wamid-1", "text": "worst service ever 👎"},
            format="json",
        )
    assert reply.status_code == 201, reply.content
    assert stored(chat).sentiment_label == SentimentLabel.NEGATIVE


def test_nothing_is_queued_while_sentiment_is_off_in_app_studio(
    django_capture_on_commit_callbacks, scoring_tasks
):
    """App Studio's switch off: no task is queued, nothing is stored; on again: scored."""
    sentiment_off()
    chat = make_live_chat()
    with django_capture_on_commit_callbacks(execute=True):
        customer_says(chat, ANGRY)
    assert scoring_tasks == []
    assert stored(chat).sentiment_label == ""
    assert interaction_sentiment_update(interaction_id=chat.id) is None  # a late task too

    record = AppStudioSettings.objects.get()
    record.sentiment_enabled = True
    record.save()
    app_studio_cache_invalidate()
    with django_capture_on_commit_callbacks(execute=True):
        happy = customer_says(chat, HAPPY)
    assert scoring_tasks == [chat.id]
    interaction = stored(chat)
    assert interaction.sentiment_seq == happy.seq
    # Both messages count (the angry one scored now too), the newest two thirds.
    assert Message.objects.filter(interaction_id=chat.id, sentiment_score__lt=0).count() == 1
    assert interaction.sentiment_label == SentimentLabel.POSITIVE


# --- Bursts and races -----------------------------------------------------------------


def test_a_burst_of_customer_messages_is_scored_once(
    django_capture_on_commit_callbacks, scoring_tasks
):
    """Three messages commit before their tasks run: the first task scores all three,
    the other two find the newest already scored and do nothing (one event)."""
    chat = make_live_chat()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        first = customer_says(chat, "hello?")
        customer_says(chat, "anyone there??")
        last = customer_says(chat, ANGRY)
    # Per message: its own event, its scoring, and the signal apps above listen to.
    assert len(queued) == 3 * 3
    with django_capture_on_commit_callbacks(execute=False) as published:
        for callback in queued:
            callback()
    assert scoring_tasks == [chat.id] * 3
    assert len(published) == 1  # one sentiment event for the three tasks
    interaction = stored(chat)
    assert interaction.sentiment_seq == last.seq
    scores = dict(
        Message.objects.filter(interaction_id=chat.id, seq__gte=first.seq).values_list(
            "seq", "sentiment_score"
        )
    )
    assert all(value is not None for value in scores.values())  # each message of the window


def test_a_task_finding_its_message_already_scored_does_nothing():
    chat = make_live_chat()
    customer_says(chat, ANGRY)
    assert interaction_sentiment_update(interaction_id=chat.id) is not None
    assert interaction_sentiment_update(interaction_id=chat.id) is None


def test_an_older_score_never_overwrites_a_newer_one():
    """Two workers race: the one that read the older window stores last, and its write
    is refused (conditional update), so the score stays on the newest messages."""
    chat = make_live_chat()
    customer_says(chat, HAPPY)
    older_window = list(Message.objects.filter(interaction_id=chat.id).order_by("seq"))
    from chat import sentiment

    older_result = sentiment.score([m.text for m in older_window])
    newest = customer_says(chat, ANGRY)
    newer = interaction_sentiment_update(interaction_id=chat.id)  # the faster worker
    assert newer is not None and newer.payload["seq"] == newest.seq
    before = stored(chat)

    late = scoring.sentiments_save([scoring.Scored(chat.id, older_window, older_result, None)])
    assert late == {}
    after = stored(chat)
    assert (after.sentiment_seq, after.sentiment_label, after.sentiment_score) == (
        before.sentiment_seq,
        before.sentiment_label,
        before.sentiment_score,
    )
    assert after.sentiment_seq == newest.seq


def test_an_unknown_interaction_is_ignored():
    assert interaction_sentiment_update(interaction_id=999_999) is None


def test_a_chat_without_customer_messages_is_not_scored():
    chat = make_live_chat()
    csr_says(chat, "Hello, how can I help?")
    assert interaction_sentiment_update(interaction_id=chat.id) is None
    assert stored(chat).sentiment_label == ""


# --- Coalesced scoring runs -----------------------------------------------------------


def redis():
    return get_redis_connection("default")


def pending_ids() -> set[int]:
    return {int(m) for m in redis().smembers(cache.make_key(SENTIMENT_PENDING_KEY))}


def test_messages_arriving_while_a_run_waits_join_it(
    django_capture_on_commit_callbacks, scoring_tasks
):
    """While a scoring run is queued, customer messages of any chat only join the
    pending set (no task each); the run scores each chat once and clears the flag, so
    the next message queues a run again."""
    chats = [make_live_chat() for _ in range(3)]
    redis().set(cache.make_key(SENTIMENT_QUEUED_KEY), 1)  # a run waits for a worker
    with django_capture_on_commit_callbacks(execute=True):
        for chat in chats:
            customer_says(chat, ANGRY)
        customer_says(chats[0], "still there?")
    assert scoring_tasks == []
    assert pending_ids() == {chat.id for chat in chats}

    assert sentiment_score_pending.delay() is not None  # the queued run starts
    assert sorted(scoring_tasks) == sorted(chat.id for chat in chats)
    assert pending_ids() == set()
    assert all(stored(chat).sentiment_label == SentimentLabel.NEGATIVE for chat in chats)
    assert stored(chats[0]).sentiment_seq == chats[0].interaction.last_seq + 2

    scoring_tasks.clear()
    with django_capture_on_commit_callbacks(execute=True):
        customer_says(chats[1], HAPPY)
    assert scoring_tasks == [chats[1].id]  # no run queued any more: this one ran at once


def test_a_run_is_queued_to_start_a_moment_later_gathering_what_asks_meanwhile(monkeypatch):
    """Through the broker: the request that finds no run queued sends one with an ETA
    SENTIMENT_COALESCE_SECONDS away; the ones after it only join the pending set."""
    from config.celery_app import app

    sent = []
    monkeypatch.setattr(
        app,
        "send_task",
        lambda name, args=None, kwargs=None, **options: sent.append((name, options)),
    )
    redis().delete(cache.make_key(SENTIMENT_QUEUED_KEY))
    chats = [make_live_chat() for _ in range(3)]
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        for chat in chats:
            sentiment_request(interaction_id=chat.id)
    finally:
        app.conf.task_always_eager = eager
    assert [name for name, _ in sent] == [sentiment_score_pending.name]
    assert sent[0][1]["countdown"] == SENTIMENT_COALESCE_SECONDS > 0
    assert pending_ids() == {chat.id for chat in chats}
    redis().delete(cache.make_key(SENTIMENT_QUEUED_KEY), cache.make_key(SENTIMENT_PENDING_KEY))


def test_a_run_leaves_what_is_over_its_limit_to_a_new_run(monkeypatch, scoring_tasks):
    """A run takes at most SENTIMENT_RUN_LIMIT chats and queues another for the rest."""
    monkeypatch.setattr(scoring, "SENTIMENT_RUN_LIMIT", 2)
    monkeypatch.setattr(scoring, "SENTIMENT_BATCH_SIZE", 2)
    chats = [make_live_chat() for _ in range(5)]
    for chat in chats:
        customer_says(chat, ANGRY)  # no on_commit: nothing requested yet
    redis().sadd(cache.make_key(SENTIMENT_PENDING_KEY), *[chat.id for chat in chats])
    sentiment_score_pending.delay()
    # 2 + (the run it queued) 2 + (the run that one queued) 1
    assert sorted(scoring_tasks) == sorted(chat.id for chat in chats)
    assert pending_ids() == set()
    assert all(stored(chat).sentiment_seq for chat in chats)


def test_with_the_cache_down_a_message_is_scored_on_its_own(
    monkeypatch, django_capture_on_commit_callbacks
):
    """No Redis for the pending set: the chat is scored by a task of its own, and the
    send is not failed."""
    import redis

    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    monkeypatch.setattr(scoring, "shared_redis", lambda: dead)
    chat = make_live_chat()
    with django_capture_on_commit_callbacks(execute=True):
        customer_says(chat, ANGRY)
    assert stored(chat).sentiment_label == SentimentLabel.NEGATIVE


def test_a_run_reads_every_chat_in_one_query(django_assert_num_queries):
    """Scoring several chats: one read for all of them; the new messages' scores in one
    atomic block (the savepoint pair, as the test runs in a transaction); then each
    chat's score in an atomic block of its own, a compare-and-set UPDATE. No chat row is
    locked by a read, nor held while another chat's score is written: every send to a
    chat waits while its row is locked."""
    chats = [make_live_chat() for _ in range(4)]
    for chat in chats:
        customer_says(chat, HAPPY)
    app_studio_settings_get()  # cached, as in a warm worker
    with django_assert_num_queries(1 + (2 + 4) + 4 * (2 + 1)) as run:
        updates = interactions_sentiment_update(interaction_ids=[chat.id for chat in chats])
    assert sorted(updates) == sorted(chat.id for chat in chats)
    statements = [query["sql"] for query in run.captured_queries]
    assert not any("FOR UPDATE" in sql for sql in statements)
    chat_updates = [
        n for n, sql in enumerate(statements) if sql.startswith('UPDATE "chat_interaction"')
    ]
    assert len(chat_updates) == 4
    for n in chat_updates:  # each alone between its block's savepoint and its release
        assert statements[n - 1].startswith("SAVEPOINT")
        assert statements[n + 1].startswith("RELEASE SAVEPOINT")
    with django_assert_num_queries(1):  # all covered already
        assert interactions_sentiment_update(interaction_ids=[c.id for c in chats]) == {}


# --- What is scored and published ---------------------------------------------------


def test_the_last_three_customer_messages_count_the_newest_most():
    """The window: the customer's last three messages (CSR ones skipped), oldest first,
    each with its own score and weight; angry-angry-happy moves towards happy."""
    chat = make_live_chat()
    customer_says(chat, "fine")
    customer_says(chat, ANGRY)
    csr_says(chat, "I'm so sorry, let me check")
    customer_says(chat, "still broken, this is terrible")
    last = customer_says(chat, HAPPY)
    update = interaction_sentiment_update(interaction_id=chat.id)
    assert update is not None
    payload = update.payload
    assert_shape(payload, schemas.SentimentPayload)
    for source in payload["messages"]:
        assert_shape(source, schemas.SentimentSource)
    texts = [source["text"] for source in payload["messages"]]
    assert texts == [ANGRY, "still broken, this is terrible", HAPPY]
    weights = [source["weight"] for source in payload["messages"]]
    assert weights == sorted(weights) and weights[-1] > 0.5
    assert payload["seq"] == last.seq
    assert payload["interaction_id"] == chat.id
    assert payload["label"] == update.result.label
    assert payload["score"] == update.result.score
    assert [point["seq"] for point in payload["trend"]] == [s["seq"] for s in payload["messages"]]


def test_bot_conversation_messages_of_the_customer_count():
    """The customer's messages to the bot before the escalation are theirs too: they
    fill the window until three live ones arrive."""
    chat = make_live_chat(last_seq=2)
    Message.objects.bulk_create(
        [
            Message(
                interaction=chat.interaction,
                seq=1,
                sender_kind=SenderKind.CUSTOMER,
                text="your bot is useless 😡",
                pre_escalation=True,
            ),
            Message(interaction=chat.interaction, seq=2, sender_kind=SenderKind.BOT, text="Sorry"),
        ]
    )
    customer_says(chat, "hi")
    update = interaction_sentiment_update(interaction_id=chat.id)
    assert [source["seq"] for source in update.payload["messages"]] == [1, 3]
    assert update.result.label == SentimentLabel.NEGATIVE


def test_the_trend_holds_the_last_ten_message_scores():
    chat = make_live_chat()
    for n in range(TREND_LENGTH + 3):
        customer_says(chat, HAPPY if n % 2 else ANGRY)
        interaction_sentiment_update(interaction_id=chat.id)
    payload = interaction_panel(
        interaction=portal_interaction_get(interaction_id=chat.id), mode=PanelMode.LIVE
    )["sentiment"]
    assert len(payload["trend"]) == TREND_LENGTH
    seqs = [point["seq"] for point in payload["trend"]]
    assert seqs == sorted(seqs) and seqs[-1] == stored(chat).sentiment_seq
    assert [point["score"] > 0 for point in payload["trend"]] == [
        bool(n % 2) for n in range(3, TREND_LENGTH + 3)
    ]


def test_excerpts_are_cut_to_200_characters():
    chat = make_live_chat()
    customer_says(chat, "terrible " * 100)
    update = interaction_sentiment_update(interaction_id=chat.id)
    assert len(update.payload["messages"][0]["text"]) == 200


def test_scoring_query_count_is_pinned(django_assert_num_queries):
    """A scoring: one read of the customer's recent messages (window and trend), the
    message's score, then the chat's compare-and-set update, each with the savepoint
    pair of its atomic block; a task finding its message scored reads once and writes
    nothing."""
    chat = make_live_chat()
    customer_says(chat, ANGRY)
    app_studio_settings_get()  # cached, as in a warm worker
    with django_assert_num_queries(1 + (2 + 1) + (2 + 1)):
        interaction_sentiment_update(interaction_id=chat.id)
    with django_assert_num_queries(1):  # already covered
        interaction_sentiment_update(interaction_id=chat.id)


# --- The chat panel's data on load --------------------------------------------------


def panel(chat) -> dict:
    interaction = portal_interaction_get(interaction_id=chat.id)
    return interaction_panel(interaction=interaction, mode=PanelMode.LIVE)


def test_the_panel_says_not_yet_scored_until_the_first_score():
    chat = make_live_chat()
    data = panel(chat)
    assert data["sentiment"] is None
    assert data["sentiment_enabled"] is True


def test_the_panel_carries_the_stored_sentiment_as_the_event_did():
    """On load (or reload) the panel shows what the last `sentiment` event showed."""
    chat = make_live_chat()
    customer_says(chat, ANGRY)
    update = interaction_sentiment_update(interaction_id=chat.id)
    assert panel(chat)["sentiment"] == update.payload


def test_the_panel_hides_sentiment_when_app_studio_turns_it_off():
    sentiment_off()
    assert panel(make_live_chat())["sentiment_enabled"] is False


def test_the_interaction_window_renders_the_label(client):
    """Server-rendered: the label and its colour hook are there before any script runs."""
    chat = make_live_chat()
    customer_says(chat, ANGRY)
    interaction_sentiment_update(interaction_id=chat.id)
    client.force_login(chat.csr)
    page = client.get(f"/interactions/{chat.id}/").content.decode()
    assert 'data-sentiment="negative"' in page
    assert '<span data-field="sentiment-label">Negative</span>' in page


def test_scoring_does_not_slow_the_send_path():
    """The send itself only registers an on-commit callback: no query is added."""
    chat = make_live_chat()
    with CaptureQueriesContext(connection) as queries:
        customer_says(chat, ANGRY)
    assert not any("chat_appstudiosettings" in q["sql"] for q in queries.captured_queries)


def test_an_escalation_with_customer_words_to_the_bot_is_scored_at_once(
    django_capture_on_commit_callbacks, scoring_tasks, bot
):
    """The CSR sees how the customer felt with the bot before the first live word; an
    escalation whose transcript holds no customer message queues no scoring."""
    from routing.services.escalations import escalation_create

    with django_capture_on_commit_callbacks(execute=True):
        angry = escalation_create(
            client=bot.client,
            channel_slug=bot.channel.slug,
            customer={"name": "Pat"},
            transcript=[
                {"sender": SenderKind.CUSTOMER, "text": ANGRY},
                {"sender": SenderKind.BOT, "text": "Let me find someone."},
            ],
        ).interaction
        quiet = escalation_create(
            client=bot.client,
            channel_slug=bot.channel.slug,
            customer={"name": "Lee"},
            transcript=[{"sender": SenderKind.BOT, "text": "Hello! How can I help?"}],
        ).interaction
    assert scoring_tasks == [angry.pk]
    angry.refresh_from_db()
    assert angry.sentiment_label == SentimentLabel.NEGATIVE
    assert angry.sentiment_seq == 1
    quiet.refresh_from_db()
    assert quiet.sentiment_label == ""


def test_one_run_stores_each_chat_its_own_score_and_leaves_newer_ones_alone():
    """The run's one UPDATE carries a score per chat; a chat whose stored score already
    covers a later message (another worker was faster) keeps it and is not published."""
    from chat import sentiment

    happy, angry, raced = make_live_chat(), make_live_chat(), make_live_chat()
    happy_line = customer_says(happy, HAPPY)
    angry_line = customer_says(angry, ANGRY)
    customer_says(raced, HAPPY)
    old_window = list(Message.objects.filter(interaction_id=raced.id).order_by("seq"))
    customer_says(raced, ANGRY)
    assert interaction_sentiment_update(interaction_id=raced.id) is not None  # the faster
    raced_before = stored(raced)

    def scored(chat, window):
        return scoring.Scored(chat.id, window, sentiment.score([m.text for m in window]), None)

    updates = scoring.sentiments_save(
        [scored(happy, [happy_line]), scored(angry, [angry_line]), scored(raced, old_window)]
    )

    assert set(updates) == {happy.id, angry.id}
    assert (stored(happy).sentiment_label, stored(happy).sentiment_seq) == (
        SentimentLabel.POSITIVE,
        happy_line.seq,
    )
    assert (stored(angry).sentiment_label, stored(angry).sentiment_seq) == (
        SentimentLabel.NEGATIVE,
        angry_line.seq,
    )
    happy_line.refresh_from_db()
    assert happy_line.sentiment_score == updates[happy.id].result.scores[0]
    raced_after = stored(raced)
    assert (raced_after.sentiment_seq, raced_after.sentiment_score) == (
        raced_before.sentiment_seq,
        raced_before.sentiment_score,
    )


def test_the_newest_messages_of_many_chats_are_read_as_for_each_chat_alone():
    """customer_messages_newest_many (one statement for a scoring run) returns, for each
    chat, what customer_messages_newest returns for it: the customer's last TREND_LENGTH
    messages, oldest first, scores included, CSR and system messages left out."""
    from chat.selectors.messages import customer_messages_newest, customer_messages_newest_many

    long_chat, short_chat, quiet_chat = make_live_chat(), make_live_chat(), make_live_chat()
    for n in range(TREND_LENGTH + 3):
        customer_says(long_chat, f"message {n}")
        message_create(
            interaction=long_chat.interaction, sender_kind=SenderKind.SYSTEM, text=f"note {n}"
        )
    scored = customer_says(short_chat, ANGRY)
    Message.objects.filter(pk=scored.pk).update(sentiment_score=-0.75)
    customer_says(short_chat, HAPPY)

    ids = [long_chat.interaction.pk, short_chat.interaction.pk, quiet_chat.interaction.pk]
    with CaptureQueriesContext(connection) as queries:
        many = customer_messages_newest_many(ids)
    assert len(queries.captured_queries) == 1

    def rows(messages):
        return [(m.pk, m.seq, m.text, m.sentiment_score) for m in messages]

    assert set(many) == {long_chat.interaction.pk, short_chat.interaction.pk}
    for chat in (long_chat, short_chat):
        assert rows(many[chat.interaction.pk]) == rows(
            customer_messages_newest(chat.interaction.pk)
        )
    assert [m.text for m in many[long_chat.interaction.pk]] == [
        f"message {n}" for n in range(3, TREND_LENGTH + 3)
    ]
    assert rows(many[short_chat.interaction.pk])[0][3] == -0.75
    assert customer_messages_newest_many([]) == {}
