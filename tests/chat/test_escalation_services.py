"""Escalation services and selectors: the atomic write, idempotency, the queue position,
last_used_at, and the routing task's entry point."""

from datetime import timedelta

import pytest
from django.db import DataError, connection
from django.utils import timezone

from chat.errors import IdempotencyKeyConflict
from chat.models import BotClient, Customer, CustomerToken, Interaction, InteractionStatus, Message
from chat.selectors.interactions import interaction_queue_position
from chat.services.bot_clients import bot_client_touch
from routing.models import RoutingDecision
from routing.services.escalations import escalation_create, escalation_fingerprint
from routing.tasks import route_queue
from tests.factories import (
    bot_client_factory,
    channel_factory,
    customer_factory,
    interaction_factory,
    queue_factory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_and_channel():
    channel = channel_factory(slug="web")
    client, _ = bot_client_factory(channels=[channel])
    return client, channel


def escalate(client, **overrides):
    arguments = {
        "client": client,
        "channel_slug": "web",
        "customer": {"external_id": "cust-1", "name": "Dana"},
        "transcript": [
            {"sender": "customer", "text": "Hello"},
            {"sender": "bot", "text": "Hi, how can I help?"},
        ],
    }
    arguments.update(overrides)
    return escalation_create(**arguments)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL refuses NUL characters in text"
)
def test_a_failure_while_writing_the_transcript_writes_nothing(
    client_and_channel, django_capture_on_commit_callbacks
):
    """When the database refuses a transcript line, the whole escalation is rolled back:
    no customer (nor change to a known one), interaction, message or token, and no
    routing task."""
    client, _ = client_and_channel
    known = customer_factory(external_id="cust-known", name="Before", metadata={"a": 1})
    transcript = [
        {"sender": "customer", "text": "fine"},
        {"sender": "bot", "text": "the database refuses \x00 this"},
        {"sender": "customer", "text": "never stored"},
    ]

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(DataError):
        escalate(
            client,
            customer={"external_id": "cust-new", "name": "New"},
            transcript=transcript,
        )
    with pytest.raises(DataError):
        escalate(
            client,
            customer={"external_id": "cust-known", "name": "After", "metadata": {"b": 2}},
            transcript=transcript,
        )

    assert list(Customer.objects.all()) == [known]
    known.refresh_from_db()
    assert (known.name, known.metadata) == ("Before", {"a": 1})
    assert not Interaction.objects.exists()
    assert not Message.objects.exists()
    assert not CustomerToken.objects.exists()
    assert callbacks == []


def test_escalation_create_returns_the_interaction_and_a_token(client_and_channel):
    """A new escalation is created, queued, with the transcript then the notice."""
    client, channel = client_and_channel

    result = escalate(client, idempotency_key="k1", fingerprint="f" * 64)

    assert result.created is True
    assert result.interaction.status == InteractionStatus.QUEUED
    assert result.interaction.queue == channel.default_queue
    assert result.customer_token.startswith("cus_")
    assert list(result.interaction.messages.values_list("seq", "pre_escalation")) == [
        (1, True),
        (2, True),
        (3, False),
    ]


def test_replay_and_conflict_in_the_service(client_and_channel):
    """Same key and fingerprint: the same interaction, not created, a new token. Same key,
    other fingerprint: IdempotencyKeyConflict."""
    client, _ = client_and_channel
    first = escalate(client, idempotency_key="k1", fingerprint="a" * 64)

    again = escalate(client, idempotency_key="k1", fingerprint="a" * 64)
    with pytest.raises(IdempotencyKeyConflict, match="'k1' was already used"):
        escalate(client, idempotency_key="k1", fingerprint="b" * 64)

    assert again.created is False
    assert again.interaction.pk == first.interaction.pk
    assert again.customer_token != first.customer_token
    assert Interaction.objects.count() == 1
    assert CustomerToken.objects.filter(interaction=first.interaction).count() == 2


def test_fingerprint_ignores_key_order_but_not_content():
    """The fingerprint is over canonical JSON."""
    assert escalation_fingerprint(body={"a": 1, "b": [1, 2]}) == escalation_fingerprint(
        body={"b": [1, 2], "a": 1}
    )
    assert escalation_fingerprint(body={"a": 1}) != escalation_fingerprint(body={"a": 2})


def test_bot_client_touch_writes_at_most_once_a_minute(django_assert_num_queries):
    """A recent last_used_at costs no query; an old one is updated once."""
    client, _ = bot_client_factory()

    assert bot_client_touch(client=client) is True
    with django_assert_num_queries(0):
        assert bot_client_touch(client=client) is False

    stale = timezone.now() - timedelta(minutes=2)
    BotClient.objects.filter(pk=client.pk).update(last_used_at=stale)
    twin = BotClient.objects.get(pk=client.pk)
    other_twin = BotClient.objects.get(pk=client.pk)
    assert bot_client_touch(client=twin) is True
    # A second process that read the old value does not write again.
    assert bot_client_touch(client=other_twin) is False


def test_queue_position_follows_routing_order():
    """Position counts the waiting chats of the same queue ahead: re-queued first, then
    higher priority, then older, then lower id; other queues and finished chats do not
    count; a chat that is not waiting has no position."""
    queue = queue_factory()
    now = timezone.now()

    def waiting(**fields):
        return interaction_factory(queue=queue, queued_at=fields.pop("queued_at", now), **fields)

    old = waiting(queued_at=now - timedelta(minutes=5))
    new = waiting()
    new_twin = waiting()
    urgent = waiting(priority=5)
    requeued = waiting(at_front=True, queued_at=now + timedelta(minutes=1))
    offered = waiting(status=InteractionStatus.OFFERED, queued_at=now - timedelta(minutes=9))
    active = waiting(status=InteractionStatus.ACTIVE, queued_at=now - timedelta(hours=1))
    interaction_factory(queue=queue_factory(), queued_at=now - timedelta(hours=1))

    positions = {
        name: interaction_queue_position(interaction=interaction)
        for name, interaction in {
            "requeued": requeued,
            "urgent": urgent,
            "offered": offered,
            "old": old,
            "new": new,
            "new_twin": new_twin,
            "active": active,
        }.items()
    }

    assert positions == {
        "requeued": 1,
        "urgent": 2,
        "offered": 3,
        "old": 4,
        "new": 5,
        "new_twin": 6,
        "active": None,
    }


def test_routing_task_routes_the_queue(client_and_channel):
    """The task runs the routing engine on the queue, which records its decision; a
    vanished queue is ignored."""
    client, _ = client_and_channel
    interaction = escalate(client).interaction

    route_queue(interaction.queue_id)
    route_queue(interaction.queue_id + 1000)

    assert RoutingDecision.objects.filter(interaction=interaction).count() == 1
