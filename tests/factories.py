"""Factories for the test suite: plain functions that create valid objects with
sensible defaults; pass keyword arguments to override."""

import itertools

from django.contrib.auth.models import Group, User

from chat.models import BotClient, Channel, ChannelKind, Customer, Interaction
from chat.services.bot_clients import bot_client_create
from chat.services.customers import customer_snapshot
from config.users import Role
from routing.models import CSRStatus, IntentRule, Offer, OfferStatus, Queue, QueueMembership
from routing.services.engine import route_queue
from routing.services.presence import csr_profile_ensure

_counter = itertools.count(1)


def _n() -> int:
    return next(_counter)


def queue_factory(**overrides) -> Queue:
    n = _n()
    fields = {"name": f"Queue {n}", "slug": f"queue-{n}"}
    fields.update(overrides)
    return Queue.objects.create(**fields)


def intent_rule_factory(*, intent: str, queue: Queue) -> IntentRule:
    return IntentRule.objects.create(intent=intent, queue=queue)


def channel_factory(**overrides) -> Channel:
    n = _n()
    fields = {"name": f"Channel {n}", "slug": f"channel-{n}", "kind": ChannelKind.WEB_MESSAGING}
    fields.update(overrides)
    if "default_queue" not in overrides:
        fields["default_queue"] = queue_factory()
    return Channel.objects.create(**fields)


def bot_client_factory(
    *, channels: list[Channel] | None = None, active: bool = True, name: str | None = None
) -> tuple[BotClient, str]:
    """A bot client and its clear-text token."""
    return bot_client_create(name=name or f"Bot {_n()}", channels=channels, active=active)


def customer_factory(**overrides) -> Customer:
    n = _n()
    fields = {"name": f"Customer {n}", "external_id": f"cust-{n}"}
    fields.update(overrides)
    return Customer.objects.create(**fields)


def interaction_factory(**overrides) -> Interaction:
    """An interaction keeping its customer's details as escalation does (overrides win)."""
    channel = overrides.pop("channel", None) or channel_factory()
    customer = overrides.pop("customer", None) or customer_factory()
    verified = customer.verified_identity if overrides.get("authenticated") else ""
    fields = {
        "channel": channel,
        "queue": overrides.pop("queue", None) or channel.default_queue or queue_factory(),
        "customer": customer,
        **customer_snapshot(customer=customer, verified_identity=verified),
    }
    fields.update(overrides)
    return Interaction.objects.create(**fields)


def user_factory(*, role: Role | None = None, password: str = "pass-word-123", **overrides) -> User:
    n = _n()
    fields = {"username": f"user{n}", "first_name": f"User{n}"}
    fields.update(overrides)
    user = User.objects.create_user(password=password, **fields)
    if role is not None:
        group, _ = Group.objects.get_or_create(name=role.value)
        user.groups.add(group)
        if role is Role.ADMINISTRATOR:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
    return user


def csr_factory(
    *,
    queues: list[Queue],
    status: str = CSRStatus.AVAILABLE,
    joined: bool = True,
    capacity: int | None = None,
    **fields,
) -> User:
    """A CSR (Available unless told otherwise) who is a member of `queues`, joined unless
    told otherwise; `fields` go to the user."""
    user = user_factory(role=Role.CSR, **fields)
    profile = csr_profile_ensure(user=user)
    profile.status = status
    profile.capacity = capacity
    profile.save()
    for queue in queues:
        QueueMembership.objects.create(user=user, queue=queue, joined=joined)
    return user


def route_chat(*, interaction_id: int) -> Offer | None:
    """Route the chat's queue as its routing run would, and return the chat's offer
    (None when it got none). Earlier chats of the queue are routed first."""
    queue_id = Interaction.objects.values_list("queue_id", flat=True).get(pk=interaction_id)
    route_queue(queue_id=queue_id)
    return Offer.objects.filter(interaction_id=interaction_id, status=OfferStatus.PENDING).first()
