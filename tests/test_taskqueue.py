"""config.taskqueue.enqueue: the message a worker gets, and eager mode."""

from datetime import UTC, datetime, timedelta

import pytest

from config.broker import Channel
from config.celery_app import app
from config.taskqueue import enqueue
from routing import tasks


@pytest.fixture
def through_the_broker():
    """Eager mode off (the tests' settings turn it on), and the broker's default queue
    emptied before (a task another test's process left there would be read first) and
    drained of this test's messages afterwards."""
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = False
    with app.connection_for_write() as broker:
        queue = broker.SimpleQueue(app.conf.task_default_queue)
        queue.clear()
        try:
            yield queue
        finally:
            app.conf.task_always_eager = saved
            queue.close()


def test_a_queued_task_reaches_the_broker_as_celery_sends_it(through_the_broker):
    enqueue(tasks.route_queue, 4242)

    message = through_the_broker.get(timeout=5)
    message.ack()
    args, kwargs, _ = message.decode()
    assert message.headers["task"] == tasks.route_queue.name
    assert (args, kwargs) == ([4242], {})
    # What a worker needs to run it and nothing to wait on: no result is stored.
    assert message.headers["ignore_result"] is True
    assert message.properties["reply_to"] == app.oid


def test_a_task_queued_with_a_countdown_carries_its_eta(through_the_broker):
    before = datetime.now(UTC)
    enqueue(tasks.route_queue, 4243, countdown=0.25)

    message = through_the_broker.get(timeout=5)
    message.ack()
    eta = datetime.fromisoformat(message.headers["eta"])
    assert before + timedelta(seconds=0.2) < eta < before + timedelta(seconds=5)


def test_in_eager_mode_the_task_runs_at_once(monkeypatch):
    assert app.conf.task_always_eager  # the tests' settings
    ran = []
    monkeypatch.setattr("routing.services.route_queue_run", lambda **kwargs: ran.append(kwargs))

    enqueue(tasks.route_queue, 7)

    assert ran == [{"queue_id": 7}]


def test_publishing_keeps_one_redis_client_per_channel(through_the_broker):
    with app.connection_for_write() as broker:
        channel = broker.default_channel
        assert isinstance(channel, Channel)  # settings: CELERY_BROKER_TRANSPORT
        client = channel._create_client()
        assert channel._create_client() is client
        assert channel._create_client(asynchronous=True) is not client  # the consumer's


def test_messages_published_on_the_kept_client_all_arrive_in_order(through_the_broker):
    for queue_id in (11, 12, 13):
        enqueue(tasks.route_queue, queue_id)
    # Its connections dropped (a Redis restart, an idle timeout): the next publish
    # reconnects through the same client.
    with app.producer_pool.acquire(block=True) as producer:  # the one that published
        client = producer.channel._create_client()
        client.connection_pool.disconnect()
    enqueue(tasks.route_queue, 14)
    with app.producer_pool.acquire(block=True) as producer:
        assert producer.channel._create_client() is client

    received = []
    for _ in range(4):
        message = through_the_broker.get(timeout=5)
        message.ack()
        received.append(message.decode()[0][0])
    assert received == [11, 12, 13, 14]
