"""Exactly one winner, whatever the races (run against PostgreSQL in CI)."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from chat.models import Interaction, InteractionStatus, Message, SystemEvent
from routing.errors import RoutingError
from routing.models import Offer, OfferStatus
from routing.services import engine
from routing.services.answers import offer_accept, offers_expire
from routing.services.engine import route_queue
from tests.factories import route_chat

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 12


def _race(calls):
    """Start every call at the same moment on its own thread and database connection."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait()
            results[index] = ("ok", call())
        except RoutingError as error:
            results[index] = ("refused", error.code)
        except Exception as error:
            results[index] = ("error", repr(error))
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.parametrize("attempt", range(5))
def test_many_accepts_of_one_offer_have_exactly_one_winner(attempt, make_csr, make_interaction):
    csr = make_csr()
    interaction = make_interaction()
    offer = route_chat(interaction_id=interaction.pk)
    results = _race([lambda: offer_accept(offer_id=offer.pk, user=csr)] * THREADS)
    outcomes = sorted(r[0] for r in results)
    assert outcomes == ["ok"] + ["refused"] * (THREADS - 1), results
    assert {r[1] for r in results if r[0] == "refused"} == {"offer_unavailable"}
    assert Message.objects.filter(interaction=interaction, event=SystemEvent.JOINED).count() == 1
    assert Interaction.objects.get(pk=interaction.pk).assigned_csr == csr


@pytest.mark.parametrize("attempt", range(5))
def test_accept_racing_expiry_has_exactly_one_outcome(attempt, make_csr, make_interaction):
    csr = make_csr()
    interaction = make_interaction()
    offer = route_chat(interaction_id=interaction.pk)
    # Due right now: whichever of accept and expiry locks the offer first wins.
    Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() + timedelta(milliseconds=30))
    results = _race(
        [lambda: offer_accept(offer_id=offer.pk, user=csr)] * (THREADS // 2)
        + [lambda: offers_expire(offer_ids=[offer.pk])] * (THREADS // 2)
    )
    assert not [r for r in results if r[0] == "error"], results
    # The timers may all have run before it was due; a late one settles it.
    time.sleep(0.05)
    offers_expire(offer_ids=[offer.pk])
    final = Offer.objects.get(pk=offer.pk).status
    accepted = [r for r in results[: THREADS // 2] if r[0] == "ok"]
    interaction.refresh_from_db()
    if final == OfferStatus.ACCEPTED:
        assert len(accepted) == 1
        assert interaction.status == InteractionStatus.ACTIVE
    else:
        assert final == OfferStatus.EXPIRED
        assert accepted == []
        assert interaction.status != InteractionStatus.ACTIVE


def test_routing_many_chats_concurrently_never_double_offers(make_csr, make_interaction):
    csrs = [make_csr(capacity=1) for _ in range(4)]
    interactions = [make_interaction() for _ in range(8)]
    _race([lambda i=i: route_chat(interaction_id=i.pk) for i in interactions])
    pending = Offer.objects.filter(status=OfferStatus.PENDING)
    assert pending.count() == len(csrs)
    assert len(set(pending.values_list("csr_id", flat=True))) == len(csrs)
    assert len(set(pending.values_list("interaction_id", flat=True))) == len(csrs)


def _hold_row_while(interaction, action):
    """Run `action` while another connection holds the interaction's row for 0.5 s."""
    locked = threading.Event()

    def hold_the_row() -> None:
        from django.db import transaction

        try:
            with transaction.atomic():
                Interaction.objects.select_for_update().get(pk=interaction.pk)
                locked.set()
                time.sleep(0.5)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    assert locked.wait(timeout=10)
    try:
        return action()
    finally:
        holder.join(timeout=10)


def _offer_made(interaction, csr) -> None:
    offer = Offer.objects.get(interaction=interaction)
    assert (offer.interaction_id, offer.csr_id, offer.status) == (
        interaction.pk,
        csr.pk,
        OfferStatus.PENDING,
    )


def test_a_routing_run_skips_a_held_chat_and_asks_for_another_run(
    make_csr, make_interaction, monkeypatch
):
    """A run does not wait for a held chat (two runs of a queue would queue behind each
    other's offers chat by chat): it routes the others and asks for another run soon,
    which makes the offer once the holder lets go."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks: run against PostgreSQL (as CI does)")
    csrs = [make_csr(), make_csr()]
    held, other = make_interaction(), make_interaction()
    requested = []
    monkeypatch.setattr(
        engine, "routing_retry_soon", lambda *, queue_id: requested.append([queue_id])
    )

    offered = _hold_row_while(held, lambda: route_queue(queue_id=held.queue_id))

    assert offered == 1
    assert Offer.objects.get().interaction_id == other.pk
    assert requested == [[held.queue_id]]
    assert route_queue(queue_id=held.queue_id) == 1  # the run it asked for
    assert {o.interaction_id for o in Offer.objects.all()} == {held.pk, other.pk}
    assert {o.csr_id for o in Offer.objects.all()} == {c.pk for c in csrs}


@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_routing_runs_of_one_queue_never_double_offer(
    attempt, queue, make_csr, make_interaction
):
    """Four workers route the same queue at once (8 CSRs, 12 waiting chats): every CSR
    ends with at most one pending offer, every chat with at most one, and the free CSRs
    are all used."""
    csrs = [make_csr() for _ in range(8)]
    chats = [make_interaction() for _ in range(12)]

    results = _race([lambda: route_queue(queue_id=queue.pk)] * 4)

    assert not [r for r in results if r[0] == "error"], results
    pending = list(
        Offer.objects.filter(status=OfferStatus.PENDING).values_list("interaction_id", "csr_id")
    )
    assert len(pending) == len(csrs)
    assert len({csr for _, csr in pending}) == len(csrs)
    assert len({chat for chat, _ in pending}) == len(csrs)
    assert sum(r[1] for r in results) == len(csrs)  # each offer counted by one run only
    offered = Interaction.objects.filter(status=InteractionStatus.OFFERED).count()
    assert offered == len(csrs)
    assert {chat.pk for chat in chats} >= {chat for chat, _ in pending}
