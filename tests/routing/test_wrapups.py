"""Wrap-up after a chat ends: it keeps the CSR's place until finished or timed out, then
routing offers them the next chat; codes checked against the chat's queue."""

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from django.test import Client
from django.utils import timezone

from chat.models import Interaction, InteractionStatus, SenderKind
from chat.services.interactions import interaction_end
from config.celery_app import app
from routing.errors import RoutingError
from routing.models import DispositionCode, Offer, OfferStatus, Queue, Wrapup, WrapupOutcome
from routing.selectors.csrs import csr_active_chat_counts, transfer_targets_csrs
from routing.selectors.wrapups import csr_busy_counts
from routing.services.answers import offer_accept
from routing.services.sweep import routing_sweep
from routing.services.transfers import interaction_transfer_to_csr
from routing.services.wrapups import wrapup_expire, wrapup_submit
from routing.signals import wrapup_released
from tests.factories import queue_factory, route_chat


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run a service and everything it queues after commit (routing tasks run eagerly)."""

    def call(fn, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return call


@pytest.fixture
def wrapup_queue(queue):
    queue.wrapup_seconds = 120
    queue.save()
    DispositionCode.objects.create(queue=queue, code="resolved", label="Resolved", order=1)
    DispositionCode.objects.create(queue=queue, code="follow-up", label="Follow-up needed", order=2)
    DispositionCode.objects.create(queue=queue, code="old", label="Old", active=False)
    return queue


def _active_chat(make_csr, make_interaction, run, csr=None):
    csr = csr or make_csr(capacity=1)
    interaction = make_interaction()
    offer = run(route_chat, interaction_id=interaction.pk)
    assert offer is not None and offer.csr == csr
    run(offer_accept, offer_id=offer.pk, user=csr)
    return csr, interaction


def _overdue(interaction) -> Wrapup:
    Wrapup.objects.filter(interaction=interaction).update(
        due_at=timezone.now() - timedelta(seconds=1)
    )
    return Wrapup.objects.get(interaction=interaction)


def _pending_for(csr) -> Offer | None:
    return Offer.objects.filter(csr=csr, status=OfferStatus.PENDING).first()


@pytest.mark.django_db
class TestCapacity:
    @pytest.mark.parametrize("by", [SenderKind.CSR, SenderKind.CUSTOMER])
    def test_an_ended_chat_in_wrap_up_keeps_the_csrs_place(
        self, by, wrapup_queue, make_csr, make_interaction, run
    ):
        """Ended by the CSR or by the customer, the chat stays counted until released:
        a CSR of capacity 1 is not offered the next chat meanwhile."""
        csr, interaction = _active_chat(make_csr, make_interaction, run)
        waiting = make_interaction()
        run(interaction_end, interaction_id=interaction.pk, by=by, user=csr)
        wrapup = Wrapup.objects.get(interaction=interaction)
        assert wrapup.csr == csr and wrapup.is_open
        assert 119 <= (wrapup.due_at - wrapup.started_at).total_seconds() <= 121
        assert csr_busy_counts(user_ids=[csr.pk]) == {csr.pk: 1}
        assert csr_active_chat_counts(user_ids=[csr.pk]) == {csr.pk: 1}
        assert run(route_chat, interaction_id=waiting.pk) is None
        decision = waiting.routing_decisions.first()
        assert decision.candidates[0]["reason"] == "at capacity (1/1)"
        # Nor can anyone transfer a chat to them.
        assert transfer_targets_csrs(exclude_user_id=0) == []

    def test_finishing_the_wrap_up_offers_the_next_chat(
        self, wrapup_queue, make_csr, make_interaction, run
    ):
        csr, interaction = _active_chat(make_csr, make_interaction, run)
        waiting = make_interaction()
        run(interaction_end, interaction_id=interaction.pk, by=SenderKind.CSR, user=csr)
        assert _pending_for(csr) is None
        wrapup = run(
            wrapup_submit,
            interaction_id=interaction.pk,
            user=csr,
            code="follow-up",
            summary="  Call back on Monday.  ",
        )
        assert wrapup.outcome == WrapupOutcome.COMPLETED
        assert wrapup.code.code == "follow-up" and wrapup.summary == "Call back on Monday."
        assert wrapup.completed_at == wrapup.released_at is not None
        offer = _pending_for(csr)
        assert offer is not None and offer.interaction_id == waiting.pk
        assert csr_busy_counts(user_ids=[csr.pk]) == {}

    def test_a_queue_without_wrap_up_time_frees_the_place_at_once(
        self, queue, make_csr, make_interaction, run
    ):
        assert queue.wrapup_seconds == 0
        csr, interaction = _active_chat(make_csr, make_interaction, run)
        waiting = make_interaction()
        run(interaction_end, interaction_id=interaction.pk, by=SenderKind.CSR, user=csr)
        assert not Wrapup.objects.exists()
        assert _pending_for(csr).interaction_id == waiting.pk

    def test_a_chat_abandoned_before_any_csr_took_it_has_no_wrap_up(
        self, wrapup_queue, make_interaction, run
    ):
        interaction = make_interaction()
        run(interaction_end, interaction_id=interaction.pk, by=SenderKind.CUSTOMER)
        assert Interaction.objects.get(pk=interaction.pk).status == InteractionStatus.ABANDONED
        assert not Wrapup.objects.exists()

    def test_the_wrap_up_is_the_csrs_who_had_the_chat_when_it_ended(
        self, wrapup_queue, make_csr, make_interaction, run
    ):
        csrs = [make_csr(capacity=2), make_csr(capacity=2)]
        interaction = make_interaction()
        offer = run(route_chat, interaction_id=interaction.pk)
        first = offer.csr
        run(offer_accept, offer_id=offer.pk, user=first)
        other = next(c for c in csrs if c != first)
        offer = run(
            interaction_transfer_to_csr,
            interaction_id=interaction.pk,
            user=first,
            target=other,
            note="",
        )
        run(offer_accept, offer_id=offer.pk, user=other)
        run(interaction_end, interaction_id=interaction.pk, by=SenderKind.CUSTOMER)
        assert Wrapup.objects.get(interaction=interaction).csr == other
        assert csr_busy_counts(user_ids=[first.pk, other.pk]) == {other.pk: 1}


@pytest.mark.django_db
class TestCodes:
    def test_a_required_code_must_be_picked(self, wrapup_queue, make_csr, make_interaction, run):
        wrapup_queue.wrapup_required = True
        wrapup_queue.save()
        csr, interaction = _active_chat(make_csr, make_interaction, run)
        run(interaction_end, interaction_id=interaction.pk, by=SenderKind.CSR, user=csr)
        with pytest.raises(RoutingError) as refused:
            wrapup_submit(interaction_id=interaction.pk, user=csr, summary="Done")
        assert refused.value.code == "code_required"
        assert Wrapup.objects.get(interaction=interaction).is_open

    def test_an_optional_code_may_be_left_out(self, wrapup_queue, make_csr, make_interaction, run):
        csr, interaction = _active_chat(make_csr, make_interaction, run)
        run(interaction_end, interaction_id=interaction.pk, by=SenderKind.CSR, user=csr)
        wrapup = run(wrapup_submit, interaction_id=interaction.pk, user=csr)
        assert wrapup.code is None and wrapup.outcome == WrapupOutcome.COMPLETED

    @pytest.mark.parametrize("code", ["refund", "old", "nonsense"])
    def test_only_an_active_code_of_the_chats_queue_is_taken(
        self, code, wrapup_queue, make_csr, make_interaction, run
    ):
        other = queue_factory(name="Billing", slug="billing")
        DispositionCode.objects.create(queue=other, code="refund", label="Refund")
        csr, interaction = _active_chat(make_csr, make_interaction, run)
        run(interaction_end, interaction_id=interaction.pk, by=SenderKind.CSR, user=csr)
        with pytest.raises(RoutingError) as refused:
            wrapup_submit(interaction_id=interaction.pk, user=csr, code=code)
        assert refused.value.code == "bad_code"
        assert "General queue" in refused.value.message

    def test_only_its_csr_may_finish_a_wrap_up(self, wrapup_queue, make_csr, make_interaction, run):
        csr, interaction = _active_chat(make_csr, make_interaction, run)
        run(interaction_end, interaction_id=interaction.pk, by=SenderKind.CSR, user=csr)
        with pytest.raises(RoutingError) as refused:
            wrapup_submit(interaction_id=interaction.pk, user=make_csr(), code="resolved")
        assert refused.value.code == "not_your_wrapup"


@pytest.mark.django_db
class TestTimeout:
    def test_the_timer_releases_the_wrap_up_and_offers_the_next_chat(
        self, wrapup_queue, make_csr, make_interaction, run
    ):
        """The Celery task queued with the time limit as countdown (eager here, so it
        first runs early and changes nothing); due, it releases the chat."""
        csr, interaction = _active_chat(make_csr, make_interaction, run)
        waiting = make_interaction()
        run(interaction_end, interaction_id=interaction.pk, by=SenderKind.CSR, user=csr)
        wrapup = Wrapup.objects.get(interaction=interaction)
        assert wrapup.is_open  # the eager timer ran at once: not due, nothing changed
        released = []

        def receiver(**kwargs):
            released.append(kwargs)

        wrapup_released.connect(receiver, dispatch_uid="test")
        try:
            _overdue(interaction)
            run(app.tasks["routing.tasks.wrapup_expire"].apply, args=(wrapup.pk,))
        finally:
            wrapup_released.disconnect(dispatch_uid="test")
        wrapup.refresh_from_db()
        assert wrapup.outcome == WrapupOutcome.TIMED_OUT and wrapup.completed_at is None
        assert _pending_for(csr).interaction_id == waiting.pk
        assert released == [
            {
                "signal": wrapup_released,
                "sender": Wrapup,
                "interaction_id": interaction.pk,
                "outcome": "timed_out",
                "code_id": None,
                "code": None,
                "summary": "",
            }
        ]
        with pytest.raises(RoutingError) as refused:
            wrapup_submit(interaction_id=interaction.pk, user=csr, code="resolved")
        assert refused.value.code == "wrapup_closed"
        assert "time ran out" in refused.value.message

    def test_a_timer_after_the_csr_finished_changes_nothing(
        self, wrapup_queue, make_csr, make_interaction, run
    ):
        csr, interaction = _active_chat(make_csr, make_interaction, run)
        run(interaction_end, interaction_id=interaction.pk, by=SenderKind.CSR, user=csr)
        run(wrapup_submit, interaction_id=interaction.pk, user=csr, code="resolved")
        wrapup = _overdue(interaction)
        assert run(wrapup_expire, wrapup_id=wrapup.pk) is False
        wrapup.refresh_from_db()
        assert wrapup.outcome == WrapupOutcome.COMPLETED and wrapup.code.code == "resolved"

    def test_the_sweep_releases_a_wrap_up_whose_timer_was_lost(
        self, wrapup_queue, make_csr, make_interaction, run
    ):
        csr, interaction = _active_chat(make_csr, make_interaction, run)
        waiting = make_interaction()
        run(interaction_end, interaction_id=interaction.pk, by=SenderKind.CSR, user=csr)
        _overdue(interaction)
        result = run(routing_sweep)
        assert result["wrapups_released"] == 1
        assert Wrapup.objects.get(interaction=interaction).outcome == WrapupOutcome.TIMED_OUT
        assert _pending_for(csr).interaction_id == waiting.pk


@pytest.mark.django_db
class TestApi:
    @pytest.fixture
    def as_user(self, django_capture_on_commit_callbacks):
        def login(user):
            client = Client(enforce_csrf_checks=True)
            client.force_login(user)
            client.get("/accounts/login/")
            csrf = client.cookies["csrftoken"].value

            def post(url, data):
                with django_capture_on_commit_callbacks(execute=True):
                    return client.post(
                        url, data, content_type="application/json", headers={"X-CSRFToken": csrf}
                    )

            client.post_json = post  # type: ignore[attr-defined]
            return client

        return login

    def test_the_csr_reads_and_finishes_the_wrap_up(
        self, as_user, wrapup_queue, make_csr, make_interaction, run
    ):
        wrapup_queue.wrapup_required = True
        wrapup_queue.save()
        csr, interaction = _active_chat(make_csr, make_interaction, run)
        run(interaction_end, interaction_id=interaction.pk, by=SenderKind.CSR, user=csr)
        client = as_user(csr)
        url = f"/api/v1/interactions/{interaction.pk}/wrapup/"
        body = client.get(url).json()
        assert body["open"] is True and body["code_required"] is True
        assert body["codes"] == [
            {"code": "resolved", "label": "Resolved"},
            {"code": "follow-up", "label": "Follow-up needed"},
        ]
        assert 110 <= body["remaining_seconds"] <= 120
        missing = client.post_json(url, {"summary": "x"})
        assert missing.status_code == 400
        assert missing.json()["code"] == "code_required"
        assert missing.json()["message"] == "Pick a disposition code to finish the wrap-up."
        bad = client.post_json(url, {"code": "refund"})
        assert bad.status_code == 400 and bad.json()["code"] == "bad_code"
        done = client.post_json(url, {"code": "resolved", "summary": "Sorted."})
        assert done.status_code == 200
        assert done.json()["outcome"] == "completed" and done.json()["code_label"] == "Resolved"
        again = client.post_json(url, {"code": "resolved"})
        assert again.status_code == 409 and again.json()["code"] == "wrapup_closed"

    def test_another_csr_and_a_chat_without_wrap_up_are_refused(
        self, as_user, wrapup_queue, make_csr, make_interaction, run
    ):
        csr, interaction = _active_chat(make_csr, make_interaction, run)
        run(interaction_end, interaction_id=interaction.pk, by=SenderKind.CSR, user=csr)
        other = as_user(make_csr())
        url = f"/api/v1/interactions/{interaction.pk}/wrapup/"
        assert other.get(url).status_code == 403
        assert other.post_json(url, {"code": "resolved"}).status_code == 403
        missing = as_user(csr).get(f"/api/v1/interactions/{interaction.pk + 999}/wrapup/")
        assert missing.status_code == 404 and missing.json()["code"] == "wrapup_not_found"
        assert Client().get(url).status_code == 403


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_finishing_and_timing_out_at_once_leave_one_outcome(
    attempt, wrapup_queue, make_csr, make_interaction
):
    csr, interaction = _active_chat(make_csr, make_interaction, lambda fn, **kw: fn(**kw))
    interaction_end(interaction_id=interaction.pk, by=SenderKind.CSR, user=csr)
    wrapup = _overdue(interaction)
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def worker(name, call):
        try:
            barrier.wait()
            results[name] = call()
        except RoutingError as error:
            results[name] = error.code
        finally:
            close_old_connections()
            connection.close()

    threads = [
        threading.Thread(
            target=worker,
            args=("submit", lambda: wrapup_submit(interaction_id=interaction.pk, user=csr)),
        ),
        threading.Thread(
            target=worker,
            args=("expire", lambda: wrapup_expire(wrapup_id=wrapup.pk)),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    wrapup.refresh_from_db()
    if wrapup.outcome == WrapupOutcome.COMPLETED:
        assert results["expire"] is False, results
    else:
        assert wrapup.outcome == WrapupOutcome.TIMED_OUT
        assert results == {"submit": "wrapup_closed", "expire": True}, results


@pytest.mark.django_db
def test_the_openapi_document_lists_exactly_the_wrap_up_answers(
    wrapup_queue, make_csr, make_interaction, run, settings
):
    """Each status the schema lists for the two operations is provoked, in the API's
    error shape, and none other is answered."""
    from drf_spectacular.generators import SchemaGenerator

    settings.PORTAL = {**settings.PORTAL, "API_MAX_BODY_BYTES": 1000}
    wrapup_queue.wrapup_required = True
    wrapup_queue.save()
    csr, interaction = _active_chat(make_csr, make_interaction, run)
    run(interaction_end, interaction_id=interaction.pk, by=SenderKind.CSR, user=csr)

    def session(user=None):
        client = Client(enforce_csrf_checks=True)
        if user is not None:
            client.force_login(user)
        client.get("/accounts/login/")
        token = client.cookies["csrftoken"].value

        def post(url, body="{}", *, csrf=True, content_type="application/json"):
            headers = {"X-CSRFToken": token} if csrf else {}
            return client.post(url, body, content_type=content_type, headers=headers)

        return client, post

    me, me_post = session(csr)
    stranger, stranger_post = session(make_csr())
    url = f"/api/v1/interactions/{interaction.pk}/wrapup/"
    missing = f"/api/v1/interactions/{interaction.pk + 999}/wrapup/"
    seen: dict[str, dict[int, object]] = {"get": {}, "post": {}}
    for response in (me.get(url), stranger.get(url), me.get(missing), Client().get(url)):
        seen["get"][response.status_code] = response
    for response in (
        me_post(url, '{"code": "nope"}'),
        me_post(url, "{not json"),
        me_post(url, '{"summary": "%s"}' % ("x" * 1000)),
        me_post(url, "x", content_type="text/plain"),
        me_post(url, '{"code": "resolved"}', csrf=False),
        stranger_post(url, '{"code": "resolved"}'),
        me_post(missing, '{"code": "resolved"}'),
        run(me_post, url=url, body='{"code": "resolved"}'),
        me_post(url, '{"code": "resolved"}'),
    ):
        seen["post"][response.status_code] = response
    schema = SchemaGenerator().get_schema(request=None, public=True)
    documented = schema["paths"]["/api/v1/interactions/{interaction_id}/wrapup/"]
    for method, operation_id in (
        ("get", "interaction_wrapup"),
        ("post", "interaction_wrapup_finish"),
    ):
        assert documented[method]["operationId"] == operation_id
        assert set(seen[method]) == {int(code) for code in documented[method]["responses"]}
        for code, response in seen[method].items():
            if code >= 400:
                assert set(response.json()) == {"code", "message", "errors"}, response.json()


@pytest.mark.django_db
def test_the_queue_admin_page_edits_its_disposition_codes_inline(client):
    from config.users import Role
    from tests.factories import user_factory

    admin = user_factory(role=Role.ADMINISTRATOR)
    client.force_login(admin)
    response = client.post(
        "/admin/routing/queue/add/",
        {
            "name": "Returns",
            "slug": "returns",
            "strategy": "longest_idle",
            "priority": 0,
            "service_level_seconds": 60,
            "reoffer_cooldown_seconds": 60,
            "max_wait_seconds": 600,
            "wrapup_seconds": 90,
            "wrapup_required": "on",
            "active": "on",
            "intent_rules-TOTAL_FORMS": 0,
            "intent_rules-INITIAL_FORMS": 0,
            "disposition_codes-TOTAL_FORMS": 2,
            "disposition_codes-INITIAL_FORMS": 0,
            "disposition_codes-0-label": "Refunded",
            "disposition_codes-0-code": "refunded",
            "disposition_codes-0-order": 1,
            "disposition_codes-0-active": "on",
            "disposition_codes-1-label": "Exchanged",
            "disposition_codes-1-code": "exchanged",
            "disposition_codes-1-order": 2,
            "disposition_codes-1-active": "on",
            "memberships-TOTAL_FORMS": 0,
            "memberships-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    queue = Queue.objects.get(slug="returns")
    assert (queue.wrapup_seconds, queue.wrapup_required) == (90, True)
    assert [c.label for c in queue.disposition_codes.all()] == ["Refunded", "Exchanged"]


@pytest.mark.django_db
def test_the_managers_figures_and_the_csrs_state_count_the_wrap_up(
    wrapup_queue, make_csr, make_interaction, run
):
    from routing.events import csr_state_payload
    from supervision.selectors.csrs import csr_rows
    from supervision.selectors.queues import queue_rows

    csr, interaction = _active_chat(make_csr, make_interaction, run)
    run(interaction_end, interaction_id=interaction.pk, by=SenderKind.CSR, user=csr)
    row = next(r for r in csr_rows() if r["id"] == csr.pk)
    assert (row["chats"], row["wrapups"]) == ([], 1)
    assert queue_rows(queues=[wrapup_queue])[0]["held"] == 1
    state = csr_state_payload(user=csr)
    assert (state["active_chats"], state["active_chat_ids"]) == (1, [])
    assert state["wrapup_chat_ids"] == [interaction.pk]
    run(wrapup_submit, interaction_id=interaction.pk, user=csr)
    row = next(r for r in csr_rows() if r["id"] == csr.pk)
    assert row["wrapups"] == 0
    assert queue_rows(queues=[wrapup_queue])[0]["held"] == 0


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_release_is_pushed_to_every_page_of_the_csr(
    wrapup_queue, make_csr, make_interaction
):
    """The CSR's group gets `wrapup.released` (routing.schemas.WrapupReleasedPayload)
    once the release commits: on a timeout, and on a finish."""
    from channels.db import database_sync_to_async
    from channels.layers import get_channel_layer

    from chat.events import csr_group
    from routing.schemas import WrapupReleasedPayload
    from tests.layers import PatientReceiver

    def setup():
        csr, first = _active_chat(make_csr, make_interaction, lambda fn, **kw: fn(**kw))
        interaction_end(interaction_id=first.pk, by=SenderKind.CUSTOMER)
        second = make_interaction(status=InteractionStatus.ACTIVE, assigned_csr=csr)
        interaction_end(interaction_id=second.pk, by=SenderKind.CSR, user=csr)
        return csr, first, second

    csr, first, second = await database_sync_to_async(setup)()
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(csr_group(csr.pk), channel)
    receiver = PatientReceiver(layer)
    try:
        timed = await database_sync_to_async(_overdue)(first)
        assert await database_sync_to_async(wrapup_expire)(wrapup_id=timed.pk)
        await database_sync_to_async(wrapup_submit)(
            interaction_id=second.pk, user=csr, code="resolved"
        )
        frames = []
        while (event := await receiver.next(channel, 2)) is not None:
            if event["payload"]["type"] == "wrapup.released":
                frames.append(event["payload"])
    finally:
        receiver.close()
    assert frames == [
        {
            "type": "wrapup.released",
            "interaction_id": first.pk,
            "outcome": "timed_out",
            "code": None,
            "message": "The wrap-up time ran out: the chat was released without a wrap-up.",
        },
        {
            "type": "wrapup.released",
            "interaction_id": second.pk,
            "outcome": "completed",
            "code": "Resolved",
            "message": "Wrap-up finished.",
        },
    ]
    assert all(set(f) == set(WrapupReleasedPayload.__annotations__) for f in frames)
