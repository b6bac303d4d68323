"""Queue selection for escalations."""

import pytest
from django.core.exceptions import ValidationError

from routing.selectors import queue_for_escalation
from tests.factories import channel_factory, intent_rule_factory, queue_factory

pytestmark = pytest.mark.django_db


def field_messages(error: ValidationError, field: str) -> list[str]:
    return [message for item in error.error_dict[field] for message in item.messages]


def test_explicit_queue_wins_over_intent_and_default():
    """A named queue is used even when an intent rule and a default queue exist."""
    channel = channel_factory()
    billing = queue_factory(slug="billing")
    intent_rule_factory(intent="billing.refund", queue=queue_factory())

    queue = queue_for_escalation(channel=channel, queue_slug="billing", intent="billing.refund")

    assert queue == billing


def test_unknown_queue_slug_is_an_error_on_queue():
    """An unknown slug is refused on `queue`, not silently rerouted."""
    with pytest.raises(ValidationError) as caught:
        queue_for_escalation(channel=channel_factory(), queue_slug="nope", intent="")

    assert field_messages(caught.value, "queue") == [
        "There is no queue 'nope': use the slug of a queue set up in the admin, or leave "
        "`queue` out to route by intent."
    ]


def test_inactive_queue_slug_is_an_error_on_queue():
    """An inactive queue takes no escalations."""
    queue_factory(slug="closed", active=False)

    with pytest.raises(ValidationError) as caught:
        queue_for_escalation(channel=channel_factory(), queue_slug="closed", intent="")

    assert field_messages(caught.value, "queue") == [
        "Queue 'closed' is inactive and takes no escalations."
    ]


def test_intent_rule_matches_without_regard_to_case():
    """Without a queue, the intent rule decides, whatever the case of the intent."""
    refunds = queue_factory()
    intent_rule_factory(intent="Billing.Refund", queue=refunds)

    queue = queue_for_escalation(
        channel=channel_factory(), queue_slug=None, intent="BILLING.REFUND"
    )

    assert queue == refunds


def test_rule_with_an_inactive_queue_falls_back_to_the_channel_default():
    """An intent rule pointing at an inactive queue is skipped."""
    channel = channel_factory()
    intent_rule_factory(intent="billing.refund", queue=queue_factory(active=False))

    queue = queue_for_escalation(channel=channel, queue_slug=None, intent="billing.refund")

    assert queue == channel.default_queue


def test_channel_default_queue_without_intent():
    """No queue and no intent: the channel's default queue."""
    channel = channel_factory()

    assert queue_for_escalation(channel=channel, queue_slug="", intent="") == channel.default_queue


def test_no_queue_names_the_ways_out():
    """No queue, no matching rule, no default queue: an error that says what to do."""
    channel = channel_factory(slug="web", default_queue=None)

    with pytest.raises(ValidationError) as caught:
        queue_for_escalation(channel=channel, queue_slug=None, intent="small.talk")

    assert caught.value.messages == [
        "No queue for this escalation: name a queue, add an intent rule for 'small.talk', or "
        "give channel 'web' a default queue."
    ]
    assert caught.value.code == "no_queue"


def test_inactive_default_queue_is_no_queue():
    """An inactive default queue is not used."""
    channel = channel_factory(slug="web", default_queue=queue_factory(active=False))

    with pytest.raises(ValidationError, match="give channel 'web' a default queue"):
        queue_for_escalation(channel=channel, queue_slug=None, intent="")
