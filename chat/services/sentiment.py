"""Customer sentiment: asking for a chat's scoring after each customer message, the
scoring runs, and storing and publishing the scores (docs/sentiment.md)."""

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from redis.exceptions import RedisError

from chat import events, schemas, sentiment
from chat.models import Interaction, Message
from chat.selectors.messages import customer_messages_newest, customer_messages_newest_many
from chat.selectors.settings import app_studio_settings_get
from config.oncommit import on_commit_robust
from config.redis import shared_cache, shared_redis
from config.tasks import task_enqueue

logger = logging.getLogger(__name__)

# Customer messages waiting to be scored: a Redis set of interaction ids, and a flag set
# while a scoring run is queued. Requests coalesce: however many messages arrive while a
# run waits for a worker, that run scores each chat once. A run that never starts (its
# worker died) holds the flag this long; the next request then queues another.
SENTIMENT_PENDING_KEY = "sentiment:pending"
SENTIMENT_QUEUED_KEY = "sentiment:queued"
SENTIMENT_QUEUED_SECONDS = 10
# A scoring run starts this long after the request that queued it, and takes every chat
# that asked meanwhile (a run per message would crowd routing out of the worker).
SENTIMENT_COALESCE_SECONDS = 0.1
# Chats one run reads at once, and at most per run (a run leaves the rest to the next,
# so a scoring burst never holds a worker from routing for long).
SENTIMENT_BATCH_SIZE = 100
SENTIMENT_RUN_LIMIT = 200


@dataclass(frozen=True)
class SentimentUpdate:
    """A score just stored: its result, and the event it published after commit."""

    result: sentiment.Sentiment
    payload: schemas.SentimentPayload


def sentiment_schedule(*, interaction_id: int) -> None:
    """Once the customer message commits, ask for its scoring (robust: a broker or
    cache failure never fails the send). App Studio's switch is read then, outside the
    transaction, so that a send holds the interaction row no longer."""
    sentiment_schedule_many(interaction_ids=[interaction_id])


def sentiment_schedule_many(*, interaction_ids: list[int]) -> None:
    """sentiment_schedule for the chats of the customer messages one transaction stored
    (a batch of sends): one request for them all."""
    on_commit_robust(sentiment_request_many, interaction_ids=interaction_ids)


def sentiment_request(*, interaction_id: int) -> None:
    """Add the chat to the pending set and queue a scoring run unless one is queued
    already: one Redis round trip per message, a Celery task only when none waits."""
    sentiment_request_many(interaction_ids=[interaction_id])


def sentiment_request_many(*, interaction_ids: list[int]) -> None:
    """sentiment_request for several chats, in the same one round trip."""
    if not app_studio_settings_get().sentiment_enabled:
        return
    try:
        # On the send path, in the socket's context: the process's one client, not a
        # cache backend per socket (config/redis.py).
        pipe = shared_redis().pipeline(transaction=False)
        pipe.sadd(shared_cache().make_key(SENTIMENT_PENDING_KEY), *interaction_ids)
        _queued_flag_set(pipe)
        _, first = pipe.execute()
    except RedisError:  # the cache is down: score each chat on its own
        logger.warning(
            "Sentiment request for chats %s not coalesced", interaction_ids, exc_info=True
        )
        for interaction_id in interaction_ids:
            task_enqueue("chat.tasks.interaction_sentiment_score", interaction_id)
        return
    if first:
        task_enqueue("chat.tasks.sentiment_score_pending", countdown=SENTIMENT_COALESCE_SECONDS)


def sentiment_score_pending() -> list[int]:
    """A scoring run: take the pending chats (up to SENTIMENT_RUN_LIMIT) and score each
    once; returns their ids. The queued flag is cleared first, so a message committed
    from then on queues the next run, and none is left waiting unseen."""
    client = shared_redis()
    client.delete(shared_cache().make_key(SENTIMENT_QUEUED_KEY))
    pending_key = shared_cache().make_key(SENTIMENT_PENDING_KEY)
    taken: list[int] = []
    while len(taken) < SENTIMENT_RUN_LIMIT:
        members = client.spop(pending_key, SENTIMENT_BATCH_SIZE)
        batch = sorted(int(member) for member in members or ())  # None: no set
        if not batch:
            return taken
        interactions_sentiment_update(interaction_ids=batch)
        taken.extend(batch)
    # The limit was reached: the rest is the next run's.
    if client.scard(pending_key) and _queued_flag_set(client):
        task_enqueue("chat.tasks.sentiment_score_pending")
    return taken


def _queued_flag_set(redis: Any) -> Any:
    """Set the "run queued" flag unless it is set: on a client, whether this call set it
    (and so must queue the run); on a pipeline, the queued command."""
    return redis.set(
        shared_cache().make_key(SENTIMENT_QUEUED_KEY), 1, nx=True, ex=SENTIMENT_QUEUED_SECONDS
    )


def interaction_sentiment_update(*, interaction_id: int) -> SentimentUpdate | None:
    """Score one chat now (see interactions_sentiment_update)."""
    return interactions_sentiment_update(interaction_ids=[interaction_id]).get(interaction_id)


def interactions_sentiment_update(*, interaction_ids: list[int]) -> dict[int, SentimentUpdate]:
    """Score each chat's last sentiment.WINDOW customer messages (chat.sentiment.score,
    the newest weighing most), store the result and publish it to the contact center
    after commit; returns the scores stored, by interaction id.

    A chat is skipped, with nothing written, when sentiment is off in App Studio, it has
    no customer message, or its newest customer message is already scored: a burst is
    scored once, by the first run after the last message committed."""
    if not interaction_ids or not app_studio_settings_get().sentiment_enabled:
        return {}
    scored = []
    for interaction_id, recent in customer_messages_newest_many(interaction_ids).items():
        if not recent or recent[-1].sentiment_score is not None:
            continue
        window = recent[-sentiment.WINDOW :]
        result = sentiment.score([message.text for message in window])
        scored.append(Scored(interaction_id, window, result, recent))
    return sentiments_save(scored)


@dataclass(frozen=True)
class Scored:
    """One chat's score, not stored yet."""

    interaction_id: int
    window: list[Message]  # the customer messages scored, oldest first
    result: sentiment.Sentiment
    recent: list[Message] | None  # the customer's last messages, ending with the window


def sentiments_save(scored: list[Scored]) -> dict[int, SentimentUpdate]:
    """Store each chat's score and its messages' scores, and publish it after commit,
    unless a score covering the same newest message or a later one is stored already
    (so two runs racing never move a score back to older messages, and only one of them
    publishes).

    Every send to a chat waits while its row is locked, so a run never holds the rows of
    many chats at once: the messages' scores are written first, in one transaction that
    locks no chat (a message's score depends on its text alone, so any run writes the
    same value), then each chat's score is a compare-and-set UPDATE in a transaction of
    its own, which holds that one row until it commits."""
    if not scored:
        return {}
    with transaction.atomic():
        for item in scored:
            for message, value in zip(item.window, item.result.scores, strict=True):
                if message.sentiment_score != value:
                    message.sentiment_score = value
                    Message.objects.filter(pk=message.pk).update(sentiment_score=value)
    updates = {}
    for item in sorted(scored, key=lambda item: item.interaction_id):
        newest = item.window[-1].seq
        with transaction.atomic():
            moved = Interaction.objects.filter(
                pk=item.interaction_id, sentiment_seq__lt=newest
            ).update(
                sentiment_label=item.result.label,
                sentiment_score=item.result.score,
                sentiment_seq=newest,
            )
            if not moved:
                continue
            recent = item.recent
            if recent is None or recent[-1].seq != newest:
                recent = customer_messages_newest(item.interaction_id, until_seq=newest)
            payload = events.sentiment_state_payload(
                interaction_id=item.interaction_id,
                label=item.result.label,
                score=item.result.score,
                seq=newest,
                recent=recent,
            )
            events.sentiment_changed(payload=payload)
        updates[item.interaction_id] = SentimentUpdate(result=item.result, payload=payload)
    return updates
