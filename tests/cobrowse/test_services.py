"""Co-browse sessions: who may start one and where, the customer's answer, the end in
every way it can come, and the record kept for reports."""

import asyncio
from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import ChannelKind, InteractionStatus, Message, SenderKind, SystemEvent
from chat.services.interactions import interaction_end
from cobrowse import services, stream
from cobrowse.errors import CobrowseError
from cobrowse.models import CobrowseSession, EndedBy, EndReason, SessionStatus
from cobrowse.selectors import (
    COBROWSE_OFF_FOR_CHANNEL,
    COBROWSE_OFF_IN_APP_STUDIO,
    COBROWSE_PUBLIC_CHANNEL,
)
from config.users import Role
from routing.services.transfers import interaction_transfer_to_queue
from tests.cobrowse.conftest import app_studio_cobrowse, make_live_chat, requested, running
from tests.factories import channel_factory, queue_factory, user_factory

pytestmark = pytest.mark.django_db(transaction=True)


def system_events(chat) -> list[tuple[str, str]]:
    return list(
        Message.objects.filter(interaction_id=chat.id, sender_kind=SenderKind.SYSTEM)
        .order_by("seq")
        .values_list("event", "text")
    )


def test_a_request_waits_for_the_customer_and_says_nothing_in_the_chat_yet():
    chat = make_live_chat()
    session = requested(chat, via="add_task")
    assert session.status == SessionStatus.REQUESTED
    assert session.started_via == "add_task"
    assert session.csr_id == chat.csr.pk
    assert system_events(chat) == []


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("public", COBROWSE_PUBLIC_CHANNEL),
        ("app_studio_off", COBROWSE_OFF_IN_APP_STUDIO),
        ("channel_off", COBROWSE_OFF_FOR_CHANNEL),
    ],
)
def test_the_server_refuses_a_start_the_rules_forbid(setup, reason):
    """The same rules that grey out Start co-browse, enforced on a forged start."""
    if setup == "public":
        chat = make_live_chat(channel=channel_factory(kind=ChannelKind.FACEBOOK))
    elif setup == "channel_off":
        chat = make_live_chat(channel=channel_factory(cobrowse_allowed=False))
    else:
        chat = make_live_chat()
        app_studio_cobrowse(False)
    with pytest.raises(CobrowseError) as refused:
        requested(chat)
    assert refused.value.code == "unavailable"
    assert refused.value.message == f"{reason}."
    assert not CobrowseSession.objects.exists()


def test_only_the_csr_handling_the_active_chat_may_start():
    chat = make_live_chat()
    other = user_factory(role=Role.CSR)
    with pytest.raises(CobrowseError) as refused:
        services.cobrowse_request(interaction_id=chat.id, user=other)
    assert refused.value.code == "not_party"
    queued = make_live_chat(status=InteractionStatus.QUEUED, csr=user_factory(role=Role.CSR))
    with pytest.raises(CobrowseError) as refused:
        requested(queued)
    assert refused.value.code == "unavailable"
    assert not CobrowseSession.objects.exists()


def test_one_session_per_chat_and_one_per_csr():
    chat = make_live_chat()
    requested(chat)
    with pytest.raises(CobrowseError) as refused:
        requested(chat)
    assert refused.value.code == "already_on"
    second_chat = make_live_chat(csr=chat.csr)
    with pytest.raises(CobrowseError) as refused:
        requested(second_chat)
    assert refused.value.code == "csr_busy"
    assert CobrowseSession.objects.count() == 1


def test_allow_starts_the_session_with_a_system_message():
    chat = make_live_chat()
    session = running(chat)
    assert session.status == SessionStatus.ACTIVE
    assert session.started_at is not None
    assert system_events(chat) == [(SystemEvent.COBROWSE_STARTED, "Co-browse started")]


def test_decline_ends_the_request_and_tells_the_csr():
    chat = make_live_chat()
    session = requested(chat)
    session = services.cobrowse_answer(session_id=session.pk, interaction_id=chat.id, allow=False)
    assert session.status == SessionStatus.DECLINED
    assert (session.ended_by, session.end_reason) == (EndedBy.CUSTOMER, EndReason.DECLINED)
    assert system_events(chat) == [
        (SystemEvent.COBROWSE_DECLINED, "The customer declined co-browse")
    ]
    # The CSR may ask again.
    assert requested(chat).status == SessionStatus.REQUESTED


def test_an_answer_for_another_chat_is_refused():
    chat, other = make_live_chat(), make_live_chat()
    session = requested(chat)
    with pytest.raises(CobrowseError) as refused:
        services.cobrowse_answer(session_id=session.pk, interaction_id=other.id, allow=True)
    assert refused.value.code == "not_found"


def test_no_answer_within_the_timeout_lapses_the_request(settings):
    chat = make_live_chat()
    session = requested(chat)
    assert services.cobrowse_expire(session_id=session.pk) is None  # not due yet
    CobrowseSession.objects.filter(pk=session.pk).update(
        requested_at=timezone.now() - timedelta(seconds=61)
    )
    expired = services.cobrowse_expire(session_id=session.pk)
    assert expired is not None and expired.status == SessionStatus.UNANSWERED
    assert expired.end_reason == EndReason.NO_ANSWER
    assert system_events(chat) == [
        (SystemEvent.COBROWSE_DECLINED, "The customer did not answer the co-browse request")
    ]


def test_either_side_ends_it_and_the_chat_says_who():
    chat = make_live_chat()
    session = running(chat)
    services.cobrowse_end(
        session_id=session.pk, ended_by=EndedBy.CSR, reason=EndReason.CSR, user=chat.csr
    )
    name = chat.csr.get_full_name() or chat.csr.get_username()
    assert system_events(chat)[-1] == (SystemEvent.COBROWSE_ENDED, f"Co-browse ended by {name}")
    session = running(chat)
    services.cobrowse_end(
        session_id=session.pk,
        ended_by=EndedBy.CUSTOMER,
        reason=EndReason.CUSTOMER,
        interaction_id=chat.id,
    )
    assert system_events(chat)[-1] == (
        SystemEvent.COBROWSE_ENDED,
        "Co-browse ended by the customer",
    )


def test_another_csr_cannot_end_it():
    chat = make_live_chat()
    session = running(chat)
    with pytest.raises(CobrowseError) as refused:
        services.cobrowse_end(
            session_id=session.pk,
            ended_by=EndedBy.CSR,
            reason=EndReason.CSR,
            user=user_factory(role=Role.CSR),
        )
    assert refused.value.code == "not_party"
    session.refresh_from_db()
    assert session.status == SessionStatus.ACTIVE


def test_the_chat_ending_ends_the_session_in_the_same_transaction():
    chat = make_live_chat()
    session = running(chat)
    interaction_end(interaction_id=chat.id, by=SenderKind.CUSTOMER)
    session.refresh_from_db()
    assert (session.status, session.end_reason) == (SessionStatus.ENDED, EndReason.CHAT_CLOSED)
    events = system_events(chat)
    assert events[-2][0] == SystemEvent.ENDED
    assert events[-1] == (SystemEvent.COBROWSE_ENDED, "Co-browse ended: the chat ended")


def test_a_transfer_ends_the_session():
    chat = make_live_chat()
    session = running(chat)
    interaction_transfer_to_queue(interaction_id=chat.id, user=chat.csr, queue=queue_factory())
    session.refresh_from_db()
    assert (session.status, session.end_reason) == (SessionStatus.ENDED, EndReason.TRANSFERRED)
    assert system_events(chat)[-1] == (
        SystemEvent.COBROWSE_ENDED,
        "Co-browse ended: the chat was transferred",
    )


def test_the_sweep_ends_idle_sessions_and_those_whose_panel_closed(cobrowse_settings):
    cobrowse_settings.update({"IDLE_SECONDS": 60, "VIEWER_GRACE_SECONDS": 30})
    idle_chat, closed_chat, fresh_chat = make_live_chat(), make_live_chat(), make_live_chat()
    idle, closed, fresh = running(idle_chat), running(closed_chat), running(fresh_chat)
    long_ago = timezone.now() - timedelta(seconds=120)
    CobrowseSession.objects.filter(pk__in=[idle.pk, closed.pk]).update(started_at=long_ago)

    # The idle one's page last sent something two minutes ago; the other's just now,
    # but no CSR viewer has been connected since its start.
    asyncio.run(stream.touch(closed.pk))
    assert services.sessions_sweep() == 2
    idle.refresh_from_db()
    closed.refresh_from_db()
    fresh.refresh_from_db()
    assert idle.end_reason == EndReason.IDLE
    assert closed.end_reason == EndReason.PANEL_CLOSED
    assert fresh.status == SessionStatus.ACTIVE  # within its grace


def test_the_record_keeps_who_when_how_long_and_how_it_ended():
    chat = make_live_chat()
    session = running(chat)
    CobrowseSession.objects.filter(pk=session.pk).update(
        requested_at=timezone.now() - timedelta(seconds=100),
        started_at=timezone.now() - timedelta(seconds=95),
    )
    services.cobrowse_end(
        session_id=session.pk, ended_by=EndedBy.CSR, reason=EndReason.CSR, user=chat.csr
    )
    session.refresh_from_db()
    assert session.csr_id == chat.csr.pk
    assert session.requested_at <= session.started_at <= session.ended_at  # type: ignore[operator]
    assert 94 <= session.duration_seconds <= 97  # type: ignore[operator]
    assert (session.ended_by, session.end_reason) == (EndedBy.CSR, EndReason.CSR)
