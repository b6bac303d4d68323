"""The routing engine: strategies, eligibility, offers, presence and transfers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import InteractionStatus, Message, SenderKind, SystemEvent
from chat.selectors.interactions import waiting_in_queue
from chat.selectors.settings import app_studio_settings_get
from chat.services.interactions import interaction_end
from routing.errors import RoutingError
from routing.models import (
    AwayReason,
    CSRProfile,
    CSRStatus,
    Offer,
    OfferStatus,
    RoutingDecision,
    RoutingStrategy,
)
from routing.selectors.csrs import csr_missed_in_a_row
from routing.services.answers import (
    EXPIRY_TIMER_GRACE,
    offer_accept,
    offer_decline,
    offer_expire,
    offers_expire,
)
from routing.services.presence import csr_queue_join, csr_status_set, presence_sweep
from routing.services.sweep import routing_sweep
from routing.services.transfers import interaction_transfer_to_csr, interaction_transfer_to_queue
from tests.factories import queue_factory, route_chat


def _missed(csr) -> int:
    profile = CSRProfile.objects.get(user=csr)
    return csr_missed_in_a_row(user_id=csr.pk, since=profile.status_changed_at, at_most=10)


def _away_reason() -> str:
    return AwayReason.objects.get_or_create(code="break", defaults={"label": "Break"})[0].code


def _waiting_ids(queue_id: int) -> list[int]:
    """The queue's line, first first, as customers are told their place in it."""
    return list(waiting_in_queue(queue_id=queue_id).values_list("pk", flat=True))


pytestmark = pytest.mark.django_db


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run a service and everything it queues after commit (routing tasks run eagerly)."""

    def call(fn, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return call


def _idle(user, minutes_ago):
    CSRProfile.objects.filter(user=user).update(
        idle_since=timezone.now() - timedelta(minutes=minutes_ago)
    )


def _pending(interaction):
    return Offer.objects.get(interaction=interaction, status=OfferStatus.PENDING)


def test_longest_idle_offers_to_the_csr_idle_longest(make_csr, make_interaction, run):
    recent, longest = make_csr(), make_csr()
    _idle(recent, 1)
    _idle(longest, 10)
    interaction = make_interaction()
    offer = run(route_chat, interaction_id=interaction.pk)
    assert offer.csr == longest
    interaction.refresh_from_db()
    assert interaction.status == InteractionStatus.OFFERED


def test_least_busy_offers_to_the_csr_with_fewest_chats(queue, make_csr, make_interaction, run):
    queue.strategy = RoutingStrategy.LEAST_BUSY
    queue.save()
    busy, free = make_csr(), make_csr()
    _idle(busy, 30)  # longest idle, but busier
    make_interaction(status=InteractionStatus.ACTIVE, assigned_csr=busy)
    offer = run(route_chat, interaction_id=make_interaction().pk)
    assert offer.csr == free


def test_round_robin_takes_turns(queue, make_csr, make_interaction, run):
    queue.strategy = RoutingStrategy.ROUND_ROBIN
    queue.save()
    a, b = make_csr(capacity=5), make_csr(capacity=5)
    chosen = []
    for _ in range(4):
        offer = run(route_chat, interaction_id=make_interaction().pk)
        chosen.append(offer.csr)
        run(offer_accept, offer_id=offer.pk, user=offer.csr)
    assert chosen == [a, b, a, b]


def test_a_csr_at_capacity_is_not_offered(make_csr, make_interaction, run):
    csr = make_csr(capacity=1)
    make_interaction(status=InteractionStatus.ACTIVE, assigned_csr=csr)
    interaction = make_interaction()
    assert run(route_chat, interaction_id=interaction.pk) is None
    decision = RoutingDecision.objects.get(interaction=interaction)
    assert decision.chosen is None
    assert decision.candidates[0]["reason"] == "at capacity (1/1)"


def test_capacity_defaults_to_app_studio_setting(make_csr, make_interaction, run):
    settings_record = app_studio_settings_get()
    settings_record.default_csr_capacity = 2
    run(settings_record.save)
    csr = make_csr()
    for _ in range(2):
        offer = run(route_chat, interaction_id=make_interaction().pk)
        run(offer_accept, offer_id=offer.pk, user=csr)
    assert run(route_chat, interaction_id=make_interaction().pk) is None


def test_the_routing_log_says_why_each_member_was_passed_over(make_csr, make_interaction, run):
    chosen = make_csr(username="chosen")
    make_csr(username="away", status=CSRStatus.AWAY)
    make_csr(username="notjoined", joined=False)
    interaction = make_interaction()
    run(route_chat, interaction_id=interaction.pk)
    decision = RoutingDecision.objects.get(interaction=interaction)
    reasons = {c["username"]: c["reason"] for c in decision.candidates}
    assert decision.chosen == chosen
    assert reasons == {
        "chosen": "",
        "away": "not available (Away)",
        "notjoined": "has not joined the queue",
    }
    assert "Offered to chosen" in decision.summary


def test_a_csr_holds_one_pending_offer_at_a_time(make_csr, make_interaction, run):
    make_csr()
    first = run(route_chat, interaction_id=make_interaction().pk)
    second = make_interaction()
    assert first is not None
    assert run(route_chat, interaction_id=second.pk) is None
    second.refresh_from_db()
    assert second.status == InteractionStatus.QUEUED


def test_accept_makes_the_chat_active_with_a_joined_message(make_csr, make_interaction, run):
    csr = make_csr(username="csr1")
    interaction = make_interaction()
    offer = run(route_chat, interaction_id=interaction.pk)
    run(offer_accept, offer_id=offer.pk, user=csr)
    interaction.refresh_from_db()
    assert interaction.status == InteractionStatus.ACTIVE
    assert interaction.assigned_csr == csr
    joined = Message.objects.get(interaction=interaction, event=SystemEvent.JOINED)
    assert joined.text.endswith("joined the chat")
    assert joined.seq == interaction.last_seq


def test_decline_goes_to_the_next_csr_at_once(make_csr, make_interaction, run):
    first, second = make_csr(), make_csr()
    _idle(first, 10)
    interaction = make_interaction()
    offer = run(route_chat, interaction_id=interaction.pk)
    assert offer.csr == first
    run(offer_decline, offer_id=offer.pk, user=first, reason="Not my area")
    assert _pending(interaction).csr == second
    assert Offer.objects.get(pk=offer.pk).reason == "Not my area"


def test_declined_and_missed_csrs_are_not_offered_the_same_chat_again(
    make_csr, make_interaction, run
):
    first, second = make_csr(), make_csr()
    _idle(first, 10)
    interaction = make_interaction()
    offer = run(route_chat, interaction_id=interaction.pk)
    run(offer_decline, offer_id=offer.pk, user=first)
    second_offer = _pending(interaction)
    Offer.objects.filter(pk=second_offer.pk).update(expires_at=timezone.now())
    run(offer_expire, offer_id=second_offer.pk)
    interaction.refresh_from_db()
    assert interaction.status == InteractionStatus.QUEUED
    assert not Offer.objects.filter(interaction=interaction, status=OfferStatus.PENDING).exists()
    reasons = {
        c["csr_id"]: c["reason"]
        for c in RoutingDecision.objects.filter(interaction=interaction).first().candidates
    }
    assert reasons == {first.pk: "declined this chat", second.pk: "missed this chat"}


def test_an_unattended_offer_expires_and_moves_on(make_csr, make_interaction, run):
    first, second = make_csr(), make_csr()
    _idle(first, 10)
    interaction = make_interaction()
    offer = run(route_chat, interaction_id=interaction.pk)
    assert run(offer_expire, offer_id=offer.pk) is False  # not due yet
    Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    run(offers_expire, offer_ids=[offer.pk])  # its timer
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.EXPIRED
    assert _pending(interaction).csr == second


def test_missing_offers_in_a_row_sets_the_csr_away(make_csr, make_interaction, run):
    csr = make_csr()
    for n in range(2):
        offer = run(route_chat, interaction_id=make_interaction().pk)
        assert offer.csr == csr
        Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now())
        run(offer_expire, offer_id=offer.pk)
        profile = CSRProfile.objects.get(user=csr)
        if n == 0:
            assert _missed(csr) == 1
            assert profile.status == CSRStatus.AVAILABLE
    assert profile.status == CSRStatus.AWAY
    assert profile.away_reason.code == "missed-offers"


def test_an_expired_offer_to_a_csr_without_a_profile_makes_one(make_csr, make_interaction, run):
    csr = make_csr()
    offer = run(route_chat, interaction_id=make_interaction().pk)
    CSRProfile.objects.filter(user=csr).delete()
    Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now())
    assert run(offer_expire, offer_id=offer.pk) is True
    assert CSRProfile.objects.get(user=csr).status == CSRStatus.OFFLINE
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.EXPIRED


def test_an_offer_already_answered_does_not_expire(make_csr, make_interaction, run):
    csr = make_csr()
    interaction = make_interaction()
    offer = run(route_chat, interaction_id=interaction.pk)
    run(offer_accept, offer_id=offer.pk, user=csr)
    Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert run(offer_expire, offer_id=offer.pk) is False
    assert run(offer_expire, offer_id=10**9) is False  # no such offer
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.ACCEPTED
    assert _missed(csr) == 0


@pytest.mark.parametrize("answer", ["accept", "decline"])
def test_answering_ends_the_run_of_missed_offers(answer, make_csr, make_interaction, run):
    """The run counts back from the latest offer to the last one answered; a withdrawn
    offer neither counts nor ends it."""
    csr = make_csr(capacity=10)

    def offer_expired():
        offer = run(route_chat, interaction_id=make_interaction().pk)
        Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now())
        run(offer_expire, offer_id=offer.pk)

    offer_expired()
    assert _missed(csr) == 1
    offer = run(route_chat, interaction_id=make_interaction().pk)
    if answer == "accept":
        run(offer_accept, offer_id=offer.pk, user=csr)
    else:
        run(offer_decline, offer_id=offer.pk, user=csr)
    assert _missed(csr) == 0
    offer_expired()
    withdrawn = run(route_chat, interaction_id=make_interaction().pk)
    run(interaction_end, interaction_id=withdrawn.interaction_id, by=SenderKind.CUSTOMER)
    assert Offer.objects.get(pk=withdrawn.pk).status == OfferStatus.WITHDRAWN
    assert _missed(csr) == 1


def test_a_csr_back_from_away_starts_a_new_run(make_csr, make_interaction, run):
    csr = make_csr()
    offer = run(route_chat, interaction_id=make_interaction().pk)
    Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now())
    run(offer_expire, offer_id=offer.pk)
    assert _missed(csr) == 1
    run(csr_status_set, user=csr, status="away", away_reason_code=_away_reason())
    run(csr_status_set, user=csr, status="available")
    assert _missed(csr) == 0


@pytest.mark.parametrize("how", ["expired", "withdrawn", "taken"])
def test_a_stale_offer_cannot_be_accepted_and_nothing_changes(how, make_csr, make_interaction, run):
    csr = make_csr()
    interaction = make_interaction()
    offer = run(route_chat, interaction_id=interaction.pk)
    if how == "expired":
        Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif how == "withdrawn":
        run(interaction_end, interaction_id=interaction.pk, by=SenderKind.CUSTOMER)
    else:
        run(offer_accept, offer_id=offer.pk, user=csr)
    before = (
        type(interaction)
        .objects.values("status", "assigned_csr", "last_seq")
        .get(pk=interaction.pk)
    )
    with pytest.raises(RoutingError) as refused:
        offer_accept(offer_id=offer.pk, user=csr)
    assert refused.value.message == "This chat is no longer available."
    after = (
        type(interaction)
        .objects.values("status", "assigned_csr", "last_seq")
        .get(pk=interaction.pk)
    )
    assert before == after


def test_only_the_offered_csr_may_accept(make_csr, make_interaction, run):
    offered, other = make_csr(), make_csr(joined=False)
    offer = run(route_chat, interaction_id=make_interaction().pk)
    assert offer.csr == offered
    with pytest.raises(RoutingError) as refused:
        offer_accept(offer_id=offer.pk, user=other)
    assert refused.value.code == "not_your_offer"


def test_customer_abandoning_withdraws_the_offer(make_csr, make_interaction, run):
    csr = make_csr()
    interaction = make_interaction()
    offer = run(route_chat, interaction_id=interaction.pk)
    run(interaction_end, interaction_id=interaction.pk, by=SenderKind.CUSTOMER)
    interaction.refresh_from_db()
    assert interaction.status == InteractionStatus.ABANDONED
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.WITHDRAWN
    assert offer.csr == csr


def test_a_customer_leaving_during_a_transfer_ends_the_chat_and_withdraws_its_offer(
    make_csr, make_interaction, run
):
    """The transferring CSR still has the chat while the transfer is offered: the customer
    leaving ends it (it is not abandoned), and the transfer's offer is withdrawn."""
    first = make_csr()
    interaction = make_interaction()
    offer = run(route_chat, interaction_id=interaction.pk)
    run(offer_accept, offer_id=offer.pk, user=first)
    target = make_csr(joined=False)
    transfer = run(
        interaction_transfer_to_csr, interaction_id=interaction.pk, user=first, target=target
    )

    run(interaction_end, interaction_id=interaction.pk, by=SenderKind.CUSTOMER)

    interaction.refresh_from_db()
    assert interaction.status == InteractionStatus.ENDED
    assert interaction.ended_by == SenderKind.CUSTOMER
    assert Offer.objects.get(pk=transfer.pk).status == OfferStatus.WITHDRAWN
    assert not Message.objects.filter(interaction=interaction, event=SystemEvent.ABANDONED)


def test_going_away_withdraws_the_pending_offer_and_reroutes(make_csr, make_interaction, run):
    leaving, staying = make_csr(), make_csr()
    _idle(leaving, 10)
    interaction = make_interaction()
    offer = run(route_chat, interaction_id=interaction.pk)
    assert offer.csr == leaving
    run(csr_status_set, user=leaving, status="away", away_reason_code="break")
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.WITHDRAWN
    assert _pending(interaction).csr == staying


def test_away_needs_a_known_reason(make_csr):
    csr = make_csr()
    with pytest.raises(RoutingError, match="Choose a reason"):
        csr_status_set(user=csr, status="away")
    with pytest.raises(RoutingError, match="Unknown Away reason"):
        csr_status_set(user=csr, status="away", away_reason_code="missed-offers")


def test_becoming_available_routes_the_oldest_waiting_chat(make_csr, make_interaction, run):
    csr = make_csr(status=CSRStatus.OFFLINE)
    older = make_interaction(queued_at=timezone.now() - timedelta(minutes=5))
    make_interaction()
    urgent = make_interaction(priority=5)
    run(csr_status_set, user=csr, status="available")
    assert _pending(urgent).csr == csr
    run(offer_accept, offer_id=_pending(urgent).pk, user=csr)
    assert _pending(older).csr == csr


def test_a_csr_may_join_only_allowed_queues(make_csr, queue):
    csr = make_csr(joined=False)
    other = queue_factory(name="Billing", slug="billing")
    csr_queue_join(user=csr, queue=queue)
    with pytest.raises(RoutingError, match="You may not join the Billing queue"):
        csr_queue_join(user=csr, queue=other)


def test_silent_csr_goes_offline_and_offer_is_rerouted(make_csr, make_interaction, run, settings):
    silent, alive = make_csr(), make_csr()
    _idle(silent, 10)
    interaction = make_interaction()
    offer = run(route_chat, interaction_id=interaction.pk)
    assert offer.csr == silent
    now = timezone.now()
    silence = timedelta(seconds=settings.PORTAL["PRESENCE_GRACE_SECONDS"] + 1)
    CSRProfile.objects.filter(user=silent).update(last_heartbeat_at=now - silence)
    CSRProfile.objects.filter(user=alive).update(last_heartbeat_at=now)
    run(presence_sweep)
    assert CSRProfile.objects.get(user=silent).status == CSRStatus.OFFLINE
    assert CSRProfile.objects.get(user=silent).away_reason.code == "disconnected"
    assert CSRProfile.objects.get(user=alive).status == CSRStatus.AVAILABLE
    assert _pending(interaction).csr == alive


def test_an_offline_csrs_chats_go_back_to_the_front_after_the_longer_grace(
    make_csr, make_interaction, run, settings
):
    csr = make_csr()
    chat = make_interaction(status=InteractionStatus.ACTIVE, assigned_csr=csr)
    waiting = make_interaction(queued_at=timezone.now() - timedelta(minutes=10))
    long_ago = timezone.now() - timedelta(seconds=settings.PORTAL["ACTIVE_CHAT_GRACE_SECONDS"] + 5)
    CSRProfile.objects.filter(user=csr).update(
        status=CSRStatus.OFFLINE, status_changed_at=long_ago, last_heartbeat_at=long_ago
    )
    run(presence_sweep)
    chat.refresh_from_db()
    assert chat.status == InteractionStatus.QUEUED
    assert chat.assigned_csr is None
    assert chat.at_front is True
    assert Message.objects.filter(interaction=chat, event=SystemEvent.REQUEUED).exists()
    assert _waiting_ids(chat.queue_id)[:2] == [chat.pk, waiting.pk]


def test_transfer_to_a_queue_requeues_at_the_front_with_the_note(make_csr, make_interaction, run):
    first = make_csr(username="csr1")
    interaction = make_interaction()
    offer = run(route_chat, interaction_id=interaction.pk)
    run(offer_accept, offer_id=offer.pk, user=first)
    billing = queue_factory(name="Billing", slug="billing")
    waiting = make_interaction(queue=billing, queued_at=timezone.now() - timedelta(hours=1))
    second = make_csr(username="csr2", queues=[billing])
    CSRProfile.objects.filter(user=second).update(status=CSRStatus.OFFLINE)
    run(
        interaction_transfer_to_queue,
        interaction_id=interaction.pk,
        user=first,
        queue=billing,
        note="customer asks about a refund",
    )
    interaction.refresh_from_db()
    assert interaction.status == InteractionStatus.QUEUED
    assert interaction.assigned_csr == first  # keeps the conversation until someone accepts
    assert _waiting_ids(billing.pk) == [interaction.pk, waiting.pk]
    transferred = Message.objects.get(interaction=interaction, event=SystemEvent.TRANSFERRED)
    assert transferred.text == f"Transferred to Billing by {first.get_full_name()}"
    assert transferred.data["note"] == "customer asks about a refund"
    run(csr_status_set, user=second, status="available")
    offer = _pending(interaction)
    assert offer.csr == second
    assert offer.note == "customer asks about a refund"
    assert offer.transferred_by == first
    run(offer_accept, offer_id=offer.pk, user=second)
    interaction.refresh_from_db()
    assert interaction.assigned_csr == second
    assert interaction.transfer_note == ""


def test_transfer_to_an_unavailable_csr_is_refused(make_csr, make_interaction, run):
    first = make_csr()
    target = make_csr(status=CSRStatus.AWAY)
    offer = run(route_chat, interaction_id=make_interaction().pk)
    run(offer_accept, offer_id=offer.pk, user=first)
    with pytest.raises(RoutingError, match=r"is not available \(Away\)"):
        interaction_transfer_to_csr(interaction_id=offer.interaction_id, user=first, target=target)
    assert not Offer.objects.filter(csr=target).exists()


def test_transfer_to_a_csr_declined_goes_back_to_the_front_of_the_queue(
    make_csr, make_interaction, run
):
    first = make_csr(username="csr1")
    interaction = make_interaction()
    offer = run(route_chat, interaction_id=interaction.pk)
    run(offer_accept, offer_id=offer.pk, user=first)
    target = make_csr(username="csr2", joined=False)
    transfer = run(
        interaction_transfer_to_csr,
        interaction_id=interaction.pk,
        user=first,
        target=target,
        note="VIP",
    )
    assert transfer.direct and transfer.note == "VIP"
    run(offer_decline, offer_id=transfer.pk, user=target)
    interaction.refresh_from_db()
    assert interaction.status == InteractionStatus.QUEUED
    assert interaction.at_front is True
    assert Message.objects.filter(interaction=interaction, event=SystemEvent.REQUEUED).exists()


def test_transfer_to_a_csr_accepted_moves_the_chat(make_csr, make_interaction, run):
    first = make_csr()
    interaction = make_interaction()
    offer = run(route_chat, interaction_id=interaction.pk)
    run(offer_accept, offer_id=offer.pk, user=first)
    target = make_csr(joined=False)
    transfer = run(
        interaction_transfer_to_csr,
        interaction_id=interaction.pk,
        user=first,
        target=target,
    )
    run(offer_accept, offer_id=transfer.pk, user=target)
    interaction.refresh_from_db()
    assert interaction.status == InteractionStatus.ACTIVE
    assert interaction.assigned_csr == target


def test_only_the_handling_csr_may_transfer(make_csr, make_interaction, run, queue):
    first, other = make_csr(), make_csr()
    offer = run(route_chat, interaction_id=make_interaction().pk)
    run(offer_accept, offer_id=offer.pk, user=offer.csr)
    intruder = other if offer.csr == first else first
    with pytest.raises(RoutingError, match="You are not handling this chat"):
        interaction_transfer_to_queue(
            interaction_id=offer.interaction_id, user=intruder, queue=queue
        )


def test_the_sweeper_routes_what_was_missed(make_csr, make_interaction, run):
    csr = make_csr()
    interaction = make_interaction()  # no routing task ran for it
    result = run(routing_sweep)
    assert result["offered"] == 1
    assert _pending(interaction).csr == csr


def test_the_sweep_expires_an_offer_whose_timer_was_lost_after_a_grace(
    make_csr, make_interaction, run
):
    """The timer expires an offer when it is due; the sweep is its backstop, for a timer
    lost with a worker, and leaves an offer just due to its timer."""
    make_csr()
    offer = run(route_chat, interaction_id=make_interaction().pk)
    Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    run(routing_sweep)
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.PENDING

    Offer.objects.filter(pk=offer.pk).update(
        expires_at=timezone.now() - EXPIRY_TIMER_GRACE - timedelta(seconds=1)
    )
    run(routing_sweep)
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.EXPIRED
