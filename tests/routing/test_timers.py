"""Offers expire by a timer set when they are made, not by polling: each batch of offers
made together queues one expiry task through the broker, due when they are."""

import pytest
from django.db import transaction

from routing.models import Offer, OfferStatus
from routing.services.engine import route_queue
from routing.services.transfers import interaction_transfer_to_csr
from routing.tasks import offers_expire
from tests.factories import route_chat

pytestmark = pytest.mark.django_db


def _timers(sent) -> list[tuple[tuple, float]]:
    return [
        (args, options["countdown"]) for name, args, options in sent if name == offers_expire.name
    ]


def test_the_offers_of_a_run_queue_one_timer_due_at_the_queues_timeout(
    queue, make_csr, make_interaction, sent, django_capture_on_commit_callbacks
):
    queue.offer_timeout_seconds = 17
    queue.save()
    make_csr(), make_csr()
    make_interaction(), make_interaction()

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        assert route_queue(queue_id=queue.pk) == 2

    offers = sorted(Offer.objects.filter(status=OfferStatus.PENDING).values_list("pk", flat=True))
    assert _timers(sent) == [((offers,), 17)]


def test_a_transfer_to_a_csr_sets_its_offers_timer_too(
    queue, make_csr, make_interaction, sent, django_capture_on_commit_callbacks
):
    first, second = make_csr(), make_csr()
    chat = make_interaction()
    offer = route_chat(interaction_id=chat.pk)
    from routing.services.answers import offer_accept

    offer_accept(offer_id=offer.pk, user=offer.csr)
    target = second if offer.csr == first else first
    sent.clear()

    with django_capture_on_commit_callbacks(execute=True):
        transfer = interaction_transfer_to_csr(
            interaction_id=chat.pk, user=offer.csr, target=target, note=""
        )

    assert _timers(sent) == [(([transfer.pk],), 30)]


def test_a_rolled_back_offer_queues_no_timer(
    queue, make_csr, make_interaction, sent, django_capture_on_commit_callbacks
):
    make_csr()
    make_interaction()
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        route_queue(queue_id=queue.pk)
        raise RuntimeError("the transaction fails after the offer")
    assert _timers(sent) == []
    assert not Offer.objects.exists()


def test_the_timer_expires_only_offers_still_pending_and_due(queue, make_csr, make_interaction):
    """A timer fires at the offer's expiry: an offer answered meanwhile is left alone, and
    one not due (a clock a little behind) is left to the sweep."""
    from datetime import timedelta

    from django.utils import timezone

    from routing.services.answers import offer_accept

    make_csr(), make_csr()
    answered = route_chat(interaction_id=make_interaction().pk)
    offer_accept(offer_id=answered.pk, user=answered.csr)
    due = route_chat(interaction_id=make_interaction().pk)
    early = route_chat(interaction_id=make_interaction().pk)
    Offer.objects.filter(pk__in=[answered.pk, due.pk]).update(
        expires_at=timezone.now() - timedelta(milliseconds=1)
    )

    assert early is not None
    offers_expire([answered.pk, due.pk, early.pk])

    statuses = dict(Offer.objects.values_list("pk", "status"))
    assert statuses[answered.pk] == OfferStatus.ACCEPTED
    assert statuses[due.pk] == OfferStatus.EXPIRED
    assert statuses[early.pk] == OfferStatus.PENDING
