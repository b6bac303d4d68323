"""Routing runs per queue: one read of the members serves a whole batch of waiting
chats, requests for the same queue coalesce, and a run with a stale view of the members
still makes only valid offers."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_redis import get_redis_connection

from chat.models import InteractionStatus
from routing import tasks
from routing.models import CSRStatus, Offer, OfferStatus, RoutingDecision
from routing.selectors.candidates import queue_members_state
from routing.selectors.queues import waiting_interactions
from routing.services import engine, requests
from routing.services.answers import offer_decline
from routing.services.engine import ROUTE_PAGE_SIZE, route_queue, route_queue_run, route_waiting
from routing.services.requests import (
    ROUTE_RETRY_DELAY_SECONDS,
    ROUTE_RETRY_KEY,
    ROUTE_RUNNING_KEY,
    ROUTE_TASK,
    routing_request,
    routing_retry_soon,
    run_in_progress,
)
from tests.factories import queue_factory, route_chat

pytestmark = pytest.mark.django_db


def _offers_by_interaction() -> dict[int, int]:
    return dict(
        Offer.objects.filter(status=OfferStatus.PENDING).values_list("interaction_id", "csr_id")
    )


def _member_reads(queries) -> int:
    return sum(
        1
        for q in queries
        if q["sql"].startswith("SELECT") and 'FROM "routing_queuemembership"' in q["sql"]
    )


def test_one_run_offers_every_waiting_chat_it_can_with_one_read_of_the_members(
    queue, make_csr, make_interaction
):
    csrs = [make_csr() for _ in range(6)]
    now = timezone.now()
    chats = [make_interaction(queued_at=now - timedelta(minutes=10 - n)) for n in range(8)]

    with CaptureQueriesContext(connection) as queries:
        offered = route_queue(queue_id=queue.pk)

    assert offered == 6
    offers = _offers_by_interaction()
    # The six oldest chats, each to a different CSR; the two newest wait.
    assert set(offers) == {chat.pk for chat in chats[:6]}
    assert sorted(offers.values()) == sorted(csr.pk for csr in csrs)
    for chat in chats[6:]:
        chat.refresh_from_db()
        assert chat.status == InteractionStatus.QUEUED
    assert _member_reads(queries.captured_queries) == 1
    # Every offer and the chat it stopped at have a routing decision.
    assert RoutingDecision.objects.filter(chosen__isnull=False).count() == 6
    assert RoutingDecision.objects.get(interaction=chats[6]).summary.startswith("No eligible")


def test_a_run_costs_the_same_few_queries_whatever_the_chats_it_routes(
    queue, make_csr, make_interaction
):
    """The members are read once per run, and a page of chats is routed with one lock,
    one insert of the offers, one update each of the chats and the memberships, and
    one insert of the decisions: routing ten chats costs what routing five does."""
    for _ in range(40):
        make_csr()

    def queries_for(chats: int) -> int:
        Offer.objects.update(status=OfferStatus.WITHDRAWN)
        for _ in range(chats):
            make_interaction()
        with CaptureQueriesContext(connection) as queries:
            assert route_queue(queue_id=queue.pk) == chats
        return len(queries.captured_queries)

    queries_for(1)  # warm the settings caches
    five, ten = queries_for(5), queries_for(10)
    assert ten == five
    # queue, waiting, members, refusals; the page's lock, the offers' insert and read
    # back, two updates and the decisions, and its transaction's own statements; no
    # second read of the line, as the first found fewer chats than it asked for.
    assert five <= 12, five
    # Past one page (ROUTE_PAGE_SIZE chats), the next page adds its read of the line, its
    # refusals and its own transaction.
    assert ROUTE_PAGE_SIZE < 40
    two_pages = queries_for(ROUTE_PAGE_SIZE + 1)
    assert five < two_pages <= five + 10, (five, two_pages)


def test_a_run_with_nothing_waiting_does_not_read_the_members(queue, make_csr):
    """Most runs under load follow an accept, and often nothing waits: such a run reads
    the line, and stops."""
    for _ in range(3):
        make_csr()
    with CaptureQueriesContext(connection) as queries:
        assert route_queue(queue_id=queue.pk) == 0
    assert _member_reads(queries.captured_queries) == 0
    assert len(queries.captured_queries) == 1


def test_a_run_skips_the_csrs_who_declined_or_missed_each_chat(queue, make_csr, make_interaction):
    first, second = make_csr(), make_csr()
    chat = make_interaction()
    Offer.objects.create(
        interaction=chat,
        csr=first,
        queue=queue,
        status=OfferStatus.DECLINED,
        expires_at=timezone.now(),
    )
    route_queue(queue_id=queue.pk)
    assert _offers_by_interaction() == {chat.pk: second.pk}


def test_a_run_with_a_stale_view_of_the_members_tries_the_next_csr(
    queue, make_csr, make_interaction, monkeypatch
):
    """Another run gave a CSR an offer after this run read the members: the database's
    one-pending-offer-per-CSR rule refuses the clash and the chat goes to the next CSR."""
    taken, free = make_csr(), make_csr()
    taken_profile = taken.csr_profile
    taken_profile.idle_since = timezone.now() - timedelta(hours=1)  # ranked first
    taken_profile.save()
    stale = queue_members_state(queue_id=queue.pk, strategy=queue.strategy)
    other = make_interaction()
    assert route_chat(interaction_id=other.pk).csr == taken
    monkeypatch.setattr(engine, "queue_members_state", lambda **kwargs: stale)

    chat = make_interaction()
    assert route_queue(queue_id=queue.pk) == 1
    assert _offers_by_interaction() == {other.pk: taken.pk, chat.pk: free.pk}


def _queued_route_tasks(monkeypatch) -> list[int]:
    """The routing tasks the services queue, by queue id (none is run)."""
    queued: list[int] = []

    def enqueue(name, *args, countdown=None):
        if name == ROUTE_TASK:
            queued.append(args[0])

    monkeypatch.setattr(requests, "task_enqueue", enqueue)
    monkeypatch.setattr(engine, "task_enqueue", enqueue)
    return queued


def test_routing_requests_for_a_queue_coalesce_until_its_run_starts(queue, monkeypatch):
    queued = _queued_route_tasks(monkeypatch)

    for _ in range(5):
        routing_request(queue_ids=[queue.pk, queue.pk])
    assert queued == [queue.pk]

    route_queue_run(queue_id=queue.pk)  # the run starts: later changes need a new one
    routing_request(queue_ids=[queue.pk])
    assert queued == [queue.pk, queue.pk]


def test_a_request_made_while_a_run_routes_is_served_by_that_run(
    queue, make_csr, make_interaction, monkeypatch
):
    """No task for it: the run routes the queue once more, and offers the chat that
    came in during its first pass."""
    queued = _queued_route_tasks(monkeypatch)
    make_csr()
    make_csr()
    first_chat = make_interaction()
    late: list[int] = []
    real_route_queue = route_queue

    def a_pass(*, queue_id):
        offered = real_route_queue(queue_id=queue_id)
        if not late:  # an escalation commits while the first pass runs
            late.append(make_interaction().pk)
            routing_request(queue_ids=[queue_id])
        return offered

    monkeypatch.setattr(engine, "route_queue", a_pass)
    assert route_queue_run(queue_id=queue.pk) == 2
    assert queued == []
    assert set(_offers_by_interaction()) == {first_chat.pk, late[0]}

    routing_request(queue_ids=[queue.pk])  # the run is over: a task again
    assert queued == [queue.pk]


def test_a_run_hands_over_to_a_new_task_after_its_budget(queue, monkeypatch):
    queued = _queued_route_tasks(monkeypatch)
    monkeypatch.setattr(engine, "ROUTE_RUN_BUDGET_SECONDS", 0)
    passes = []

    def a_pass(*, queue_id):
        passes.append(queue_id)
        routing_request(queue_ids=[queue_id])  # requests never stop
        time.sleep(0.01)
        return 0

    monkeypatch.setattr(engine, "route_queue", a_pass)
    route_queue_run(queue_id=queue.pk)
    assert passes == [queue.pk]
    assert queued == [queue.pk]  # the next task takes the requests over


def test_a_failed_pass_does_not_lose_the_request_made_during_it(queue, monkeypatch):
    queued = _queued_route_tasks(monkeypatch)

    def a_pass(*, queue_id):
        routing_request(queue_ids=[queue_id])
        raise RuntimeError("database gone")

    monkeypatch.setattr(engine, "route_queue", a_pass)
    with pytest.raises(RuntimeError):
        route_queue_run(queue_id=queue.pk)
    assert queued == [queue.pk]
    assert not run_in_progress(queue.pk)


def test_the_run_mark_outlives_a_killed_worker_by_one_sweep_at_most(queue, monkeypatch):
    ttls = []
    redis = get_redis_connection("default")
    monkeypatch.setattr(
        engine,
        "route_queue",
        lambda *, queue_id: (
            ttls.append(redis.ttl(cache.make_key(ROUTE_RUNNING_KEY.format(queue_id=queue_id)))) or 0
        ),
    )
    route_queue_run(queue_id=queue.pk)
    assert 0 < ttls[0] <= settings.PORTAL["ROUTING_SWEEP_SECONDS"]


def test_a_declined_chat_keeps_its_place_in_line(queue, make_csr, make_interaction):
    """It goes back to waiting with the time it first queued, ahead of chats that came
    later: the next free CSR is offered it first."""
    first = make_csr()
    queued_at = timezone.now() - timedelta(minutes=5)
    declined = make_interaction(queued_at=queued_at)
    offer = route_chat(interaction_id=declined.pk)
    newer = make_interaction()

    offer_decline(offer_id=offer.pk, user=first)

    declined.refresh_from_db()
    assert declined.status == InteractionStatus.QUEUED
    assert declined.queued_at == queued_at
    waiting = list(waiting_interactions(queue_ids=[queue.pk]).values_list("id", flat=True))
    assert waiting == [declined.pk, newer.pk]


def test_a_run_offers_only_chats_still_waiting_in_its_own_active_queue(
    queue, make_csr, make_interaction, monkeypatch
):
    """The run's list of waiting chats is read before each chat is locked: a chat that
    moved to another queue or was offered meanwhile is not its to route."""
    make_csr()
    chat = make_interaction()
    monkeypatch.setattr(engine, "queue_waiting_page", lambda **kwargs: [chat.pk])

    chat.queue = queue_factory(name="Billing", slug="billing")
    chat.save()
    assert route_queue(queue_id=queue.pk) == 0

    chat.queue = queue
    chat.status = InteractionStatus.OFFERED
    chat.save()
    assert route_queue(queue_id=queue.pk) == 0
    assert not Offer.objects.exists()

    chat.status = InteractionStatus.QUEUED
    chat.save()
    assert route_queue(queue_id=queue.pk) == 1


def test_a_run_of_a_closed_queue_offers_nothing(queue, make_csr, make_interaction):
    make_csr()
    make_interaction()
    queue.active = False
    queue.save()
    assert route_queue(queue_id=queue.pk) == 0
    assert not Offer.objects.exists()


def _refusal_reads(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if q["sql"].startswith("SELECT")
        and 'FROM "routing_offer"' in q["sql"]
        and "'declined'" in q["sql"]
    ]


def test_a_run_reads_about_as_many_chats_as_its_free_csrs_can_take(
    queue, make_csr, make_interaction, monkeypatch
):
    """Under load a run mostly starts because one CSR became free: reading the whole
    line (and every chat's refusals) each time cost more than the offer it made."""
    monkeypatch.setattr(engine, "ROUTE_PAGE_SLACK", 3)
    csrs = [make_csr() for _ in range(2)]
    now = timezone.now()
    chats = [make_interaction(queued_at=now - timedelta(minutes=40 - n)) for n in range(30)]

    with CaptureQueriesContext(connection) as queries:
        offered = route_queue(queue_id=queue.pk)

    assert offered == 2
    assert set(_offers_by_interaction()) == {chats[0].pk, chats[1].pk}
    assert sorted(_offers_by_interaction().values()) == sorted(csr.pk for csr in csrs)
    (refusals,) = _refusal_reads(queries.captured_queries)
    read = {int(n) for n in refusals.split("IN (", 1)[1].split(")", 1)[0].split(",")}
    # The two free CSRs plus the slack: the first five chats, not thirty.
    assert read == {chat.pk for chat in chats[:5]}


def test_a_run_with_nobody_free_visits_only_the_first_chat(queue, make_csr, make_interaction):
    make_csr(status=CSRStatus.AWAY)
    now = timezone.now()
    chats = [make_interaction(queued_at=now - timedelta(minutes=10 - n)) for n in range(5)]

    assert route_queue(queue_id=queue.pk) == 0

    # Its decision says why it waits; the others are not read.
    assert RoutingDecision.objects.get(interaction=chats[0]).summary.startswith("No eligible")
    assert not RoutingDecision.objects.exclude(interaction=chats[0]).exists()


def test_a_run_reads_on_past_chats_its_free_csrs_all_refused(
    queue, make_csr, make_interaction, monkeypatch
):
    """The one free CSR declined the first chats read: the run reads further and offers
    them the next chat they have not refused, instead of stopping."""
    monkeypatch.setattr(engine, "ROUTE_PAGE_SLACK", 2)
    csr = make_csr()
    now = timezone.now()
    chats = [make_interaction(queued_at=now - timedelta(minutes=10 - n)) for n in range(6)]
    for chat in chats[:4]:  # more than the first page (1 free + 2)
        Offer.objects.create(
            interaction=chat,
            csr=csr,
            queue=queue,
            status=OfferStatus.DECLINED,
            expires_at=now,
            responded_at=now,
        )

    assert route_queue(queue_id=queue.pk) == 1

    assert _offers_by_interaction() == {chats[4].pk: csr.pk}


def test_the_sweeper_leaves_a_queue_to_the_task_routing_it_now(queue, make_csr, make_interaction):
    make_csr()
    chat = make_interaction()
    cache.set(ROUTE_RUNNING_KEY.format(queue_id=queue.pk), 1)
    try:
        assert route_waiting() == 0
        assert not _offers_by_interaction()
    finally:
        cache.delete(ROUTE_RUNNING_KEY.format(queue_id=queue.pk))

    assert route_waiting() == 1  # the run is over (or its mark expired)
    assert set(_offers_by_interaction()) == {chat.pk}


def test_a_routing_task_marks_its_queue_while_it_runs(
    queue, make_csr, make_interaction, monkeypatch
):
    seen = []
    monkeypatch.setattr(
        engine, "route_queue", lambda *, queue_id: seen.append(run_in_progress(queue_id)) or 0
    )

    route_queue_run(queue_id=queue.pk)

    assert seen == [True]
    assert cache.get(ROUTE_RUNNING_KEY.format(queue_id=queue.pk)) is None


def test_a_retry_after_held_chats_comes_half_a_second_later_once_per_queue(queue, monkeypatch):
    """Two runs passing over held chats in the same second schedule one retry, delayed:
    an immediate one would mostly find the same chats still held by the run offering
    them."""
    scheduled = []
    monkeypatch.setattr(
        tasks.route_queue,
        "apply_async",
        lambda args, countdown: scheduled.append((args, countdown)),
    )
    cache.delete(ROUTE_RETRY_KEY.format(queue_id=queue.pk))

    routing_retry_soon(queue_id=queue.pk)
    routing_retry_soon(queue_id=queue.pk)

    assert scheduled == [((queue.pk,), ROUTE_RETRY_DELAY_SECONDS)]
    assert 0 < ROUTE_RETRY_DELAY_SECONDS <= 1
