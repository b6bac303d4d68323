"""The facts are kept as chats close: a chat taken through the real services (declined,
then missed, then accepted, answered, transferred to a queue, ended by the customer)
has its facts written by the task its close queues, and the scheduled rollup recomputes
a window of closed chats."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import Interaction, InteractionStatus, SenderKind
from chat.services.interactions import interaction_end
from chat.services.messages import message_send
from config.users import Role
from reports.models import ChatFact, EndedBy, OfferFact, OfferOutcome
from reports.services.rollup import facts_rollup, facts_rollup_recent
from reports.tasks import facts_rollup as facts_rollup_task
from routing.models import CSRStatus, Offer, OfferStatus, QueueMembership
from routing.services.answers import offer_accept, offer_decline, offer_expire
from routing.services.escalations import escalation_create
from routing.services.presence import csr_profile_ensure
from routing.services.transfers import interaction_transfer_to_queue
from tests.factories import (
    bot_client_factory,
    channel_factory,
    queue_factory,
    route_chat,
    user_factory,
)

pytestmark = pytest.mark.django_db


def available_csr(queue):
    user = user_factory(role=Role.CSR)
    profile = csr_profile_ensure(user=user)
    profile.status = CSRStatus.AVAILABLE
    profile.save()
    QueueMembership.objects.create(user=user, queue=queue, joined=True)
    return user


def test_a_chat_closed_through_the_services_gets_its_facts(django_capture_on_commit_callbacks):
    queue = queue_factory(slug="general", service_level_seconds=3600)
    other = queue_factory(slug="other")
    channel = channel_factory(default_queue=queue)
    client, _ = bot_client_factory(channels=[channel])
    csrs = [available_csr(queue) for _ in range(3)]
    interaction = escalation_create(
        client=client, channel_slug=channel.slug, customer={"name": "Ana", "external_id": "ana"}
    ).interaction

    first = route_chat(interaction_id=interaction.pk)
    offer_decline(offer_id=first.pk, user=first.csr, reason="Lunch")
    second = route_chat(interaction_id=interaction.pk)
    assert second.csr != first.csr
    assert offer_expire(offer_id=second.pk, now=second.expires_at + timedelta(seconds=1))
    third = route_chat(interaction_id=interaction.pk)
    assert third.csr not in (first.csr, second.csr)
    offer_accept(offer_id=third.pk, user=third.csr)
    message_send(
        interaction_id=interaction.pk,
        sender_kind=SenderKind.CSR,
        text="Hello",
        user=third.csr,
        client_msg_id="m1",
    )
    interaction_transfer_to_queue(interaction_id=interaction.pk, user=third.csr, queue=other)
    assert not ChatFact.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        interaction_end(interaction_id=interaction.pk, by=SenderKind.CUSTOMER)

    fact = ChatFact.objects.get(interaction_id=interaction.pk)
    assert fact.queue_id == queue.pk
    assert fact.answered and not fact.abandoned
    assert fact.within_service_level
    assert fact.ended_by == EndedBy.CUSTOMER
    assert fact.transfers_to_queue == 1 and fact.transfers_to_csr == 0
    assert fact.first_response_seconds is not None and fact.handle_seconds is not None
    assert fact.csr_id == third.csr.pk
    outcomes = dict(
        OfferFact.objects.filter(interaction_id=interaction.pk).values_list("csr_id", "outcome")
    )
    assert outcomes == {
        first.csr.pk: OfferOutcome.DECLINED,
        second.csr.pk: OfferOutcome.MISSED,
        third.csr.pk: OfferOutcome.ACCEPTED,
    }
    assert OfferFact.objects.get(offer_id=first.pk).reason == "Lunch"
    assert csrs  # three CSRs were needed: each one who passed is not offered it again


def test_an_abandoned_chat_gets_its_facts(django_capture_on_commit_callbacks):
    queue = queue_factory()
    channel = channel_factory(default_queue=queue)
    client, _ = bot_client_factory(channels=[channel])
    interaction = escalation_create(
        client=client, channel_slug=channel.slug, customer={"name": "Bo", "external_id": "bo"}
    ).interaction
    with django_capture_on_commit_callbacks(execute=True):
        interaction_end(interaction_id=interaction.pk, by=SenderKind.CUSTOMER)
    fact = ChatFact.objects.get(interaction_id=interaction.pk)
    assert fact.abandoned and not fact.answered
    assert fact.ended_by == EndedBy.CUSTOMER and fact.wait_seconds is None


def test_the_rollup_recomputes_the_chats_closed_in_its_window():
    queue = queue_factory()
    channel = channel_factory(default_queue=queue)
    client, _ = bot_client_factory(channels=[channel])
    ids = []
    for n in range(3):
        i = escalation_create(
            client=client,
            channel_slug=channel.slug,
            customer={"name": f"C{n}", "external_id": f"c{n}"},
        ).interaction
        interaction_end(interaction_id=i.pk, by=SenderKind.CUSTOMER)  # no commit: no task
        ids.append(i.pk)
    Interaction.objects.filter(pk=ids[0]).update(ended_at=timezone.now() - timedelta(days=2))
    open_one = escalation_create(
        client=client, channel_slug=channel.slug, customer={"name": "Open", "external_id": "open"}
    ).interaction
    assert not ChatFact.objects.exists()

    facts_rollup_task.apply()  # the beat entry: the last two hours
    assert sorted(ChatFact.objects.values_list("interaction_id", flat=True)) == ids[1:]
    now = timezone.now()
    assert facts_rollup(start=now - timedelta(days=3), end=now) == 3
    assert facts_rollup_recent() == 2  # again: replaced, not added
    assert ChatFact.objects.count() == 3
    assert not ChatFact.objects.filter(interaction_id=open_one.pk).exists()
    assert Interaction.objects.get(pk=open_one.pk).status == InteractionStatus.QUEUED
    assert not Offer.objects.filter(status=OfferStatus.ACCEPTED).exists()


def test_the_rollup_command_recomputes_a_range_of_days(capsys):
    from django.core.management import CommandError, call_command

    queue = queue_factory()
    channel = channel_factory(default_queue=queue)
    client, _ = bot_client_factory(channels=[channel])
    i = escalation_create(
        client=client, channel_slug=channel.slug, customer={"name": "D", "external_id": "d"}
    ).interaction
    interaction_end(interaction_id=i.pk, by=SenderKind.CUSTOMER)
    today = timezone.localdate().isoformat()
    call_command("reports_rollup", "--from", "2020-01-01", "--to", today)
    assert "Recomputed the facts of 1 chats" in capsys.readouterr().out
    assert ChatFact.objects.filter(interaction_id=i.pk, abandoned=True).exists()
    with pytest.raises(CommandError):
        call_command("reports_rollup", "--from", today, "--to", "2020-01-01")
