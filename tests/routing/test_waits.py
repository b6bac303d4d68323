"""Chats that wait long: re-offered after the queue's cool-down once every free CSR passed
on them; the customer told their place and estimate as they change; past the queue's
maximum wait, offered a choice (keep waiting, leave a message, end) on a timer."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from chat.errors import ChatError
from chat.models import Interaction, InteractionStatus, Message, SenderKind
from chat.selectors.interactions import estimated_wait_seconds
from chat.signals import customer_chat_payloads
from routing import events
from routing.models import LongWait, LongWaitChoice, Offer, OfferStatus, RoutingDecision
from routing.services.answers import offer_accept, offer_decline, offer_expire
from routing.services.engine import route_queue
from routing.services.sweep import routing_sweep
from routing.services.waits import (
    FOLLOW_UP_TEXT,
    KEEP_WAITING_TEXT,
    LONG_WAITS_TASK,
    REOFFER_TASK,
    follow_ups_mark_done,
    long_wait_choose,
    long_wait_offer,
    long_waits_check,
)
from tests.factories import route_chat, user_factory

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch):
    """The live events published after commit: (group, payload)."""
    payloads: list[tuple[str, dict]] = []
    monkeypatch.setattr(
        events,
        "publish_on_commit",
        lambda group, handler, payload: payloads.append((group, dict(payload))),
    )
    return payloads


def _timers(sent, name):
    return [(args, options["countdown"]) for task, args, options in sent if task == name]


def _passed_long_ago(interaction, seconds):
    """Every refusal of the chat happened `seconds` ago."""
    Offer.objects.filter(interaction=interaction).update(
        responded_at=timezone.now() - timedelta(seconds=seconds)
    )


# --- Re-offer after the cool-down -------------------------------------------------------


def test_a_chat_declined_by_every_free_csr_is_offered_again_after_the_cool_down(
    queue, make_csr, make_interaction
):
    queue.reoffer_cooldown_seconds = 60
    queue.save()
    first, second = make_csr(), make_csr()
    chat = make_interaction()

    for _ in range(2):  # each free CSR is offered it once, and declines
        offer = route_chat(interaction_id=chat.pk)
        offer_decline(offer_id=offer.pk, user=offer.csr)
    assert {o.csr for o in Offer.objects.filter(interaction=chat)} == {first, second}

    # Both passed: the chat waits out the cool-down; the routing log says so.
    assert route_chat(interaction_id=chat.pk) is None
    decision = RoutingDecision.objects.filter(interaction=chat).first()
    assert decision.summary.startswith("Every free CSR passed on this chat; offered again")

    _passed_long_ago(chat, 59)
    assert route_chat(interaction_id=chat.pk) is None

    _passed_long_ago(chat, 61)
    again = route_chat(interaction_id=chat.pk)
    assert again is not None and again.csr in (first, second)
    assert (
        RoutingDecision.objects.filter(interaction=chat)
        .first()
        .summary.startswith("Offered again after the cool-down")
    )
    # The earlier refusals are marked cooled down: the next pass starts a new round.
    refusals = Offer.objects.filter(interaction=chat, status=OfferStatus.DECLINED)
    assert all(o.cooled_down_at is not None for o in refusals)
    offer_decline(offer_id=again.pk, user=again.csr)
    other = route_chat(interaction_id=chat.pk)
    assert other is not None and other.csr != again.csr


def test_a_missed_chat_is_re_offered_too_and_one_csr_passing_alone_waits_for_the_others(
    queue, make_csr, make_interaction
):
    """While another CSR could take it, the one who passed is not offered it again, even
    after the cool-down; an unattended offer counts as passing."""
    first = make_csr()
    chat = make_interaction()
    offer = route_chat(interaction_id=chat.pk)
    Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now())
    assert offer_expire(offer_id=offer.pk)
    _passed_long_ago(chat, 61)
    second = make_csr()

    offer = route_chat(interaction_id=chat.pk)
    assert offer.csr == second
    offer_decline(offer_id=offer.pk, user=second)
    _passed_long_ago(chat, 61)
    assert route_chat(interaction_id=chat.pk).csr in (first, second)


def test_the_run_that_finds_everyone_passed_queues_one_timer_for_the_end_of_the_cool_down(
    queue, make_csr, make_interaction, sent, django_capture_on_commit_callbacks
):
    queue.reoffer_cooldown_seconds = 45
    queue.save()
    csr = make_csr()
    chat = make_interaction()
    offer = route_chat(interaction_id=chat.pk)
    offer_decline(offer_id=offer.pk, user=csr)
    sent.clear()

    with django_capture_on_commit_callbacks(execute=True):
        route_queue(queue_id=queue.pk)
        route_queue(queue_id=queue.pk)  # the sweep's pass a moment later: no second timer

    [(args, countdown)] = _timers(sent, REOFFER_TASK)
    assert args == (queue.pk,)
    assert 44 < countdown <= 45.2


# --- Position and estimated wait --------------------------------------------------------


def test_the_estimate_is_the_position_times_the_queues_pace_and_unknown_without_one():
    assert estimated_wait_seconds(position=3, seconds_per_acceptance=40.0) == 120
    assert estimated_wait_seconds(position=3, seconds_per_acceptance=None) is None
    assert estimated_wait_seconds(position=None, seconds_per_acceptance=40.0) is None


def test_a_waiting_customer_is_told_again_when_the_estimate_changes_at_the_same_place(
    queue, make_csr, make_interaction, monkeypatch
):
    sent_positions: list[dict] = []
    monkeypatch.setattr(
        events,
        "group_send_many",
        lambda messages: sent_positions.extend(
            m["payload"] for _, m in messages if m["payload"]["type"] == "queue.position"
        ),
    )
    chat = make_interaction()
    pace = {"value": None}
    monkeypatch.setattr(events, "queue_seconds_per_acceptance", lambda queue_id: pace["value"])

    events.queue_state_publish(queue_id=queue.pk)
    events.queue_state_publish(queue_id=queue.pk)  # nothing changed: nothing sent
    pace["value"] = 90.0
    events.queue_state_publish(queue_id=queue.pk)

    assert [
        (p["interaction_id"], p["position"], p["estimated_wait_seconds"]) for p in sent_positions
    ] == [
        (chat.pk, 1, None),
        (chat.pk, 1, 90),
    ]


def test_a_customer_socket_opening_gets_its_place_and_a_standing_choice(queue, make_interaction):
    queue.max_wait_seconds = 300
    queue.save()
    first = make_interaction()
    chat = make_interaction(queued_at=timezone.now() - timedelta(seconds=400))
    assert long_wait_offer(interaction_id=chat.pk)

    payloads = customer_chat_payloads(interaction=Interaction.objects.get(pk=chat.pk))

    assert [p["type"] for p in payloads] == ["queue.position", "wait.options"]
    assert payloads[0]["position"] == 1  # it has waited longest
    assert payloads[1]["choices"] == ["keep_waiting", "leave_message", "end"]
    assert customer_chat_payloads(interaction=first) == [
        {
            "type": "queue.position",
            "interaction_id": first.pk,
            "position": 2,
            "estimated_wait_seconds": None,
        }
    ]
    first.status = InteractionStatus.ACTIVE
    assert customer_chat_payloads(interaction=first) == []


# --- Past the maximum wait --------------------------------------------------------------


def _waiting_chat(queue, make_interaction, *, waited):
    queue.max_wait_seconds = 600
    queue.save()
    return make_interaction(queued_at=timezone.now() - timedelta(seconds=waited))


def test_past_the_maximum_wait_the_customer_is_offered_the_choice_once(
    queue, make_interaction, published
):
    chat = _waiting_chat(queue, make_interaction, waited=601)
    not_yet = make_interaction(queued_at=timezone.now() - timedelta(seconds=500))

    assert long_waits_check(queue_id=queue.pk) == 1
    assert long_waits_check(queue_id=queue.pk) == 0  # offered already: not again

    wait = LongWait.objects.get()
    assert (wait.interaction_id, wait.choice, wait.waited_seconds) == (
        chat.pk,
        LongWaitChoice.PENDING,
        601,
    )
    [(group, payload)] = [p for p in published if p[1]["type"] == "wait.options"]
    assert group == f"interaction.{chat.pk}"
    assert payload["message"].startswith("You have waited 10 minutes")
    assert not LongWait.objects.filter(interaction=not_yet).exists()


def test_the_long_wait_timer_is_due_when_the_next_customer_has_waited_the_maximum(
    queue, make_interaction, sent, django_capture_on_commit_callbacks
):
    _waiting_chat(queue, make_interaction, waited=100)
    make_interaction(queued_at=timezone.now() - timedelta(seconds=50))

    assert long_waits_check(queue_id=queue.pk) == 0
    assert long_waits_check(queue_id=queue.pk) == 0  # that timer is queued: not again

    [(args, countdown)] = _timers(sent, LONG_WAITS_TASK)
    assert args == (queue.pk,)
    assert 499 < countdown <= 500.3


def test_an_escalation_arms_its_queues_long_wait_timer(
    queue, channel, sent, django_capture_on_commit_callbacks
):
    from routing.services.escalations import escalation_create
    from tests.factories import bot_client_factory

    queue.max_wait_seconds = 300
    queue.save()
    client, _ = bot_client_factory(channels=[channel])
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(2):
            escalation_create(
                client=client,
                channel_slug=channel.slug,
                queue_slug=queue.slug,
                customer={"name": f"Dana {n}"},
                intent="",
            )

    [(args, countdown)] = _timers(sent, LONG_WAITS_TASK)  # one timer per queue
    assert args == (queue.pk,)
    assert 299 < countdown <= 300.3


def test_the_sweep_offers_the_choice_when_the_timer_was_lost(queue, make_interaction):
    chat = _waiting_chat(queue, make_interaction, waited=605)
    result = routing_sweep()
    assert result is not None and result["long_waits"] == 1
    assert LongWait.objects.get().interaction_id == chat.pk


def test_a_chat_being_transferred_or_taken_is_not_offered_the_choice(
    queue, make_interaction, make_csr
):
    csr = make_csr()
    _waiting_chat(queue, make_interaction, waited=700)
    make_interaction(queued_at=timezone.now() - timedelta(seconds=700), assigned_csr=csr)
    make_interaction(
        queued_at=timezone.now() - timedelta(seconds=700), status=InteractionStatus.ACTIVE
    )
    assert long_waits_check(queue_id=queue.pk) == 1


def test_keep_waiting_is_stored_once_and_asked_again_a_maximum_wait_later(
    queue, make_interaction, published
):
    chat = _waiting_chat(queue, make_interaction, waited=601)
    long_wait_offer(interaction_id=chat.pk)

    wait, made = long_wait_choose(interaction_id=chat.pk, choice="keep_waiting")
    assert made and wait.choice == LongWaitChoice.KEEP_WAITING
    _, made_again = long_wait_choose(interaction_id=chat.pk, choice="keep_waiting")
    assert not made_again  # a retry: nothing more stored
    assert Message.objects.filter(interaction=chat, text=KEEP_WAITING_TEXT).count() == 1
    assert (
        "interaction." + str(chat.pk),
        {
            "type": "wait.chosen",
            "interaction_id": chat.pk,
            "choice": "keep_waiting",
        },
    ) in published

    assert long_waits_check(queue_id=queue.pk) == 0
    LongWait.objects.update(chosen_at=timezone.now() - timedelta(seconds=601))
    assert long_waits_check(queue_id=queue.pk) == 1
    wait.refresh_from_db()
    assert (wait.choice, wait.times_offered) == (LongWaitChoice.PENDING, 2)


def test_leaving_a_message_stores_it_for_follow_up_and_ends_the_chat(queue, make_interaction):
    chat = _waiting_chat(queue, make_interaction, waited=601)
    long_wait_offer(interaction_id=chat.pk)

    wait, made = long_wait_choose(
        interaction_id=chat.pk, choice="leave_message", text="Please call me back on 0123."
    )
    assert made and wait.follow_up_open
    chat.refresh_from_db()
    assert chat.status == InteractionStatus.ABANDONED
    texts = list(Message.objects.filter(interaction=chat).values_list("sender_kind", "text"))
    assert (SenderKind.CUSTOMER, "Please call me back on 0123.") in texts
    assert (SenderKind.SYSTEM, FOLLOW_UP_TEXT) in texts

    # A retry after the chat ended is answered the same, and stores nothing more.
    count = Message.objects.filter(interaction=chat).count()
    _, made_again = long_wait_choose(
        interaction_id=chat.pk, choice="leave_message", text="Please call me back on 0123."
    )
    assert not made_again
    assert Message.objects.filter(interaction=chat).count() == count
    with pytest.raises(ChatError) as refused:
        long_wait_choose(interaction_id=chat.pk, choice="end")
    assert refused.value.code == "chat_ended"

    manager = user_factory()
    assert follow_ups_mark_done(long_wait_ids=[wait.pk], user=manager) == 1
    wait.refresh_from_db()
    assert not wait.follow_up_open and wait.follow_up_done_by == manager


def test_ending_after_a_long_wait_abandons_the_chat(queue, make_interaction):
    chat = _waiting_chat(queue, make_interaction, waited=601)
    long_wait_offer(interaction_id=chat.pk)
    long_wait_choose(interaction_id=chat.pk, choice="end")
    chat.refresh_from_db()
    assert chat.status == InteractionStatus.ABANDONED
    assert LongWait.objects.get().choice == LongWaitChoice.END


@pytest.mark.parametrize(
    ("choice", "text", "code"),
    [
        ("wait_forever", None, "bad_wait_choice"),
        ("leave_message", "   ", "empty"),
        ("leave_message", "x" * 5001, "too_long"),
        ("leave_message", "bad \x00 byte", "bad_text"),
        ("keep_waiting", None, "no_wait_choice"),
    ],
)
def test_bad_choices_are_refused_with_a_code_and_change_nothing(
    queue, make_interaction, choice, text, code
):
    chat = _waiting_chat(queue, make_interaction, waited=10)  # not offered the choice
    if code != "no_wait_choice":
        LongWait.objects.create(interaction=chat, queue=queue, waited_seconds=601)
    with pytest.raises(ChatError) as refused:
        long_wait_choose(interaction_id=chat.pk, choice=choice, text=text)
    assert refused.value.code == code
    chat.refresh_from_db()
    assert chat.status == InteractionStatus.QUEUED
    assert not LongWait.objects.exclude(choice=LongWaitChoice.PENDING).exists()


def test_once_a_csr_took_the_chat_the_choice_is_gone(queue, make_interaction, make_csr):
    make_csr()
    chat = _waiting_chat(queue, make_interaction, waited=601)
    long_wait_offer(interaction_id=chat.pk)
    offer = route_chat(interaction_id=chat.pk)
    with transaction.atomic():
        offer_accept(offer_id=offer.pk, user=offer.csr)
    with pytest.raises(ChatError) as refused:
        long_wait_choose(interaction_id=chat.pk, choice="keep_waiting")
    assert refused.value.code == "no_wait_choice"


# --- What managers and CSRs see ---------------------------------------------------------


def test_managers_see_long_waits_flagged_and_the_messages_left(
    queue, make_interaction, make_csr, client
):
    from config.users import Role

    flagged = _waiting_chat(queue, make_interaction, waited=601)
    long_wait_offer(interaction_id=flagged.pk)
    left = make_interaction(queued_at=timezone.now() - timedelta(seconds=700))
    long_wait_offer(interaction_id=left.pk)
    long_wait_choose(interaction_id=left.pk, choice="leave_message", text="Ring me <b>at 5</b>")

    client.force_login(user_factory(role=Role.CSR_MANAGER))
    page = client.get("/").content.decode()
    assert "Waited past max · Not answered" in page
    assert "Messages left for follow-up" in page
    assert "Ring me &lt;b&gt;at 5&lt;/b&gt;" in page  # escaped

    # CSRs of the queue see the messages in Recent work; others do not.
    member = make_csr()
    client.force_login(member)
    assert "Ring me &lt;b&gt;at 5&lt;/b&gt;" in client.get("/recent/").content.decode()
    client.force_login(user_factory(role=Role.CSR))
    assert "Ring me" not in client.get("/recent/").content.decode()


def test_managers_mark_a_follow_up_done_from_their_page(queue, make_interaction, make_csr, client):
    """A POST from the manager's page records who followed up and when; the message leaves
    the list; a second POST changes nothing; CSRs are refused and a GET is not allowed."""
    from config.users import Role

    chat = make_interaction(queued_at=timezone.now() - timedelta(seconds=700))
    long_wait_offer(interaction_id=chat.pk)
    long_wait_choose(interaction_id=chat.pk, choice="leave_message", text="Call me at 5")
    wait = LongWait.objects.get()
    url = f"/follow-ups/{wait.pk}/done/"

    client.force_login(make_csr())
    assert client.post(url).status_code == 403
    wait.refresh_from_db()
    assert wait.follow_up_open

    manager = user_factory(role=Role.CSR_MANAGER)
    client.force_login(manager)
    page = client.get("/").content.decode()
    assert f'action="{url}"' in page and "Mark done" in page
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert (response.status_code, response["Location"]) == (302, "/#follow-ups")
    wait.refresh_from_db()
    assert not wait.follow_up_open
    assert wait.follow_up_done_by == manager
    done_at = wait.follow_up_done_at
    assert "Call me at 5" not in client.get("/").content.decode()
    assert client.post(url).status_code == 302
    wait.refresh_from_db()
    assert wait.follow_up_done_at == done_at


def test_the_admin_lists_long_waits_and_administrators_mark_follow_ups_done(
    queue, make_interaction, client
):
    from config.users import Role
    from portal.services import roles_sync

    roles_sync()
    chat = _waiting_chat(queue, make_interaction, waited=601)
    long_wait_offer(interaction_id=chat.pk)
    long_wait_choose(interaction_id=chat.pk, choice="leave_message", text="Call me")
    wait = LongWait.objects.get()
    url = "/admin/routing/longwait/"

    manager = user_factory(role=Role.CSR_MANAGER, is_staff=True)
    client.force_login(manager)
    page = client.get(f"{url}?follow_up=open")
    assert page.status_code == 200 and "Call me" in page.content.decode()
    # Managers look; they cannot mark anything done.
    client.post(url, {"action": "mark_follow_ups_done", "_selected_action": [wait.pk]})
    wait.refresh_from_db()
    assert wait.follow_up_open

    admin_user = user_factory(role=Role.ADMINISTRATOR)
    client.force_login(admin_user)
    client.post(url, {"action": "mark_follow_ups_done", "_selected_action": [wait.pk]})
    wait.refresh_from_db()
    assert not wait.follow_up_open and wait.follow_up_done_by == admin_user
    assert "Call me" not in client.get(f"{url}?follow_up=open").content.decode()


def test_a_chat_only_its_transferring_csr_could_take_waits_without_a_cool_down(
    queue, make_csr, make_interaction
):
    """Being the CSR who transfers a chat is no pass on it: no cool-down is started."""
    from routing.services.transfers import interaction_transfer_to_queue

    csr = make_csr()
    chat = make_interaction()
    offer_accept(offer_id=route_chat(interaction_id=chat.pk).pk, user=csr)
    interaction_transfer_to_queue(interaction_id=chat.pk, user=csr, queue=queue)

    assert route_chat(interaction_id=chat.pk) is None
    assert RoutingDecision.objects.filter(interaction=chat).first().summary == (
        "No eligible CSR; waiting in the queue."
    )
