"""Queue selection for escalations."""

import pytest
from django.core.exceptions import ValidationError

from routing.models import RoutingStrategy
from routing.selectors.queues import queue_for_escalation
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


def test_the_members_state_says_what_routing_needs_of_every_member():
    """One read of a queue's members, in every state: busy, offered, not joined, away,
    disabled, without a profile (Offline, the default capacity); members of another
    queue left out; each with their place in the strategy's order."""
    from datetime import timedelta

    from django.utils import timezone

    from chat.models import InteractionStatus
    from chat.selectors.settings import app_studio_settings_get
    from config.users import Role
    from routing.models import CSRProfile, CSRStatus, Offer, QueueMembership
    from routing.selectors.candidates import queue_members_state
    from tests.factories import interaction_factory, user_factory

    queue, other = queue_factory(), queue_factory()
    now = timezone.now()
    users = [user_factory(role=Role.CSR) for _ in range(6)]
    for n, user in enumerate(users[:5]):  # the sixth has no profile
        CSRProfile.objects.create(
            user=user,
            status=[CSRStatus.AVAILABLE, CSRStatus.AWAY][n % 2],
            capacity=[None, 3][n % 2],
            idle_since=now - timedelta(minutes=n),
        )
    for n, user in enumerate(users):
        QueueMembership.objects.create(
            user=user, queue=queue, joined=n != 2, last_offered_at=now if n == 1 else None
        )
    QueueMembership.objects.create(user=user_factory(role=Role.CSR), queue=other, joined=True)
    users[3].is_active = False
    users[3].save()
    for _ in range(2):
        interaction_factory(queue=queue, status=InteractionStatus.ACTIVE, assigned_csr=users[0])
    interaction_factory(queue=queue, status=InteractionStatus.ENDED, assigned_csr=users[0])
    offered = interaction_factory(queue=queue, status=InteractionStatus.OFFERED)
    Offer.objects.create(
        interaction=offered, csr=users[1], queue=queue, expires_at=now + timedelta(seconds=30)
    )
    default = app_studio_settings_get().default_csr_capacity

    # Round robin: the least recently offered first; never offered before offered.
    members = queue_members_state(queue_id=queue.pk, strategy=RoutingStrategy.ROUND_ROBIN)

    in_id_order = sorted(members, key=lambda m: m.user_id)
    assert [m.user_id for m in in_id_order] == [user.pk for user in users]
    assert [m.username for m in in_id_order] == [user.username for user in users]
    assert [m.joined for m in in_id_order] == [True, True, False, True, True, True]
    assert [m.is_active for m in in_id_order] == [True, True, True, False, True, True]
    assert [m.status for m in in_id_order] == ["available", "away"] * 2 + ["available", None]
    assert [m.capacity for m in in_id_order] == [default, 3, default, 3, default, default]
    assert [m.busy for m in in_id_order] == [2, 0, 0, 0, 0, 0]
    assert [m.has_pending_offer for m in in_id_order] == [False, True] + [False] * 4
    assert [m.rank for m in members] == list(range(6))
    assert members[-1].user_id == users[1].pk  # the one offered a chat comes last


def test_each_strategy_orders_the_members_as_it_prefers_them():
    """Longest idle: the earliest idle_since first (no profile: first). Least busy: the
    fewest active chats, then the longest idle. Round robin: the least recently offered,
    never offered first. Ties by user id."""
    from datetime import timedelta

    from django.utils import timezone

    from chat.models import InteractionStatus
    from config.users import Role
    from routing.models import CSRProfile, CSRStatus, QueueMembership
    from routing.selectors.candidates import queue_members_state
    from tests.factories import interaction_factory, user_factory

    queue = queue_factory()
    now = timezone.now()
    idle_minutes = [5, 30, 10]
    users = [user_factory(role=Role.CSR) for _ in idle_minutes]
    for user, minutes in zip(users, idle_minutes, strict=True):
        CSRProfile.objects.create(
            user=user, status=CSRStatus.AVAILABLE, idle_since=now - timedelta(minutes=minutes)
        )
    offered_minutes = [None, 1, 20]
    for user, minutes in zip(users, offered_minutes, strict=True):
        QueueMembership.objects.create(
            user=user,
            queue=queue,
            joined=True,
            last_offered_at=None if minutes is None else now - timedelta(minutes=minutes),
        )
    interaction_factory(queue=queue, status=InteractionStatus.ACTIVE, assigned_csr=users[1])
    first, second, third = users

    def order(strategy):
        return [m.user_id for m in queue_members_state(queue_id=queue.pk, strategy=strategy)]

    assert order(RoutingStrategy.LONGEST_IDLE) == [second.pk, third.pk, first.pk]
    assert order(RoutingStrategy.LEAST_BUSY) == [third.pk, first.pk, second.pk]
    assert order(RoutingStrategy.ROUND_ROBIN) == [first.pk, third.pk, second.pk]


def test_the_waiting_page_is_the_waiting_line_in_routing_order():
    """queue_waiting_page lists what waiting_interactions does for one queue, in the
    same order, within its limit and without the ids left out."""
    from datetime import timedelta

    from django.utils import timezone

    from chat.models import InteractionStatus
    from routing.selectors.queues import queue_waiting_page, waiting_interactions
    from tests.factories import interaction_factory

    queue, other = queue_factory(), queue_factory()
    now = timezone.now()
    chats = [
        interaction_factory(queue=queue, queued_at=now - timedelta(minutes=5)),
        interaction_factory(queue=queue, queued_at=now - timedelta(minutes=1), priority=5),
        interaction_factory(queue=queue, queued_at=now, at_front=True),
        interaction_factory(queue=queue, queued_at=now - timedelta(minutes=9)),
        interaction_factory(queue=queue, queued_at=now - timedelta(minutes=9)),  # tie: by id
    ]
    interaction_factory(queue=queue, status=InteractionStatus.OFFERED)
    interaction_factory(queue=other, queued_at=now - timedelta(hours=1))

    expected = list(waiting_interactions(queue_ids=[queue.pk]).values_list("id", flat=True))

    assert expected == [chats[2].pk, chats[1].pk, chats[3].pk, chats[4].pk, chats[0].pk]
    assert queue_waiting_page(queue_id=queue.pk, limit=10) == expected
    assert queue_waiting_page(queue_id=queue.pk, limit=2) == expected[:2]
    assert queue_waiting_page(queue_id=queue.pk, limit=10, exclude=expected[:3]) == expected[3:]
    queue.active = False
    queue.save()
    assert queue_waiting_page(queue_id=queue.pk, limit=10) == []
