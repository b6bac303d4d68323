"""Presence holds while a CSR has any portal page open: every page's socket counts
(across server processes, in Redis), and the grace period before Offline starts only
when the last one has closed or gone silent."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.asgi import application
from routing.models import MISSED_OFFERS_REASON_CODE, CSRProfile, CSRStatus
from routing.selectors.csrs import OPEN_PAGE_SECONDS, csr_open_page_counts
from routing.services.presence import (
    csr_page_alive,
    csr_page_closed,
    csr_status_change,
    presence_sweep,
    system_away_reason,
)
from tests.routing.conftest import login_headers

GRACE = settings.PORTAL["PRESENCE_GRACE_SECONDS"]


def _status(user) -> str:
    return CSRProfile.objects.get(user=user).status


def _set_away_by_the_portal(user) -> None:
    with transaction.atomic():
        csr_status_change(
            user_id=user.pk,
            status=CSRStatus.AWAY,
            reason=system_away_reason(MISSED_OFFERS_REASON_CODE),
            note="You were set Away after missing 2 chats in a row.",
        )


def _silent_since(user, seconds: int) -> None:
    CSRProfile.objects.filter(user=user).update(
        last_heartbeat_at=timezone.now() - timedelta(seconds=seconds)
    )


@pytest.mark.django_db
def test_a_csr_with_a_page_open_stays_present_when_heartbeats_come_late(make_csr):
    """A background tab's heartbeats may be a minute apart: its open page keeps the CSR
    present past the grace period; a CSR with no page open is set Offline."""
    on_a_page, gone = make_csr(), make_csr()
    csr_page_alive(user=on_a_page, page_id="recent-work")
    _silent_since(on_a_page, GRACE + 5)
    _silent_since(gone, GRACE + 5)
    later = timezone.now() + timedelta(seconds=OPEN_PAGE_SECONDS // 2)
    presence_sweep(now=later)
    assert _status(on_a_page) == CSRStatus.AVAILABLE
    assert _status(gone) == CSRStatus.OFFLINE


@pytest.mark.django_db
def test_the_grace_period_starts_when_the_last_page_closes(make_csr):
    csr = make_csr()
    csr_page_alive(user=csr, page_id="my-work")
    csr_page_alive(user=csr, page_id="recent-work")
    _silent_since(csr, GRACE + 5)
    csr_page_closed(user=csr, page_id="my-work")
    assert csr_open_page_counts(user_ids=[csr.pk], now=timezone.now()) == {csr.pk: 1}
    csr_page_closed(user=csr, page_id="recent-work")
    assert csr_open_page_counts(user_ids=[csr.pk], now=timezone.now()) == {}
    presence_sweep(now=timezone.now() + timedelta(seconds=GRACE - 5))
    assert _status(csr) == CSRStatus.AVAILABLE  # a reload, or a click to another page
    presence_sweep(now=timezone.now() + timedelta(seconds=GRACE + 1))
    assert _status(csr) == CSRStatus.OFFLINE
    assert CSRProfile.objects.get(user=csr).away_reason.code == "disconnected"


@pytest.mark.django_db
def test_a_page_silent_past_its_lifetime_stops_counting(make_csr):
    """A page whose server process died without closing its socket counts no longer
    than OPEN_PAGE_SECONDS after its last sign of life."""
    csr = make_csr()
    csr_page_alive(user=csr, page_id="orphan")
    later = timezone.now() + timedelta(seconds=OPEN_PAGE_SECONDS + 1)
    assert csr_open_page_counts(user_ids=[csr.pk], now=later) == {}
    presence_sweep(now=later)
    assert _status(csr) == CSRStatus.OFFLINE


@pytest.mark.django_db
def test_without_redis_the_heartbeats_decide(make_csr, settings):
    """While Redis is down the open pages are unknown: the sweep goes by the heartbeats
    stored in the database, and a page's sign of life is still stored."""
    csr, silent = make_csr(), make_csr()
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    _silent_since(silent, GRACE + 5)
    _silent_since(csr, GRACE + 5)
    csr_page_alive(user=csr, page_id="page")  # the heartbeat is stored all the same
    csr_page_closed(user=csr, page_id="page")
    assert csr_open_page_counts(user_ids=[csr.pk], now=timezone.now()) is None
    presence_sweep()
    assert _status(csr) == CSRStatus.AVAILABLE
    assert _status(silent) == CSRStatus.OFFLINE


# --- the presence socket of every portal page -----------------------------------------


async def _open(user, path: str) -> tuple[WebsocketCommunicator, dict]:
    headers = await database_sync_to_async(login_headers)(user)
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator, await communicator.receive_json_from(timeout=5)


async def _counts(user) -> dict[int, int] | None:
    return await database_sync_to_async(csr_open_page_counts)(
        user_ids=[user.pk], now=timezone.now()
    )


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_every_open_page_socket_counts_until_it_closes(make_csr):
    """My Work's socket and a presence socket (Recent work, an interaction window) each
    count as an open page; the presence socket starts with the CSR's `status`."""
    csr = await database_sync_to_async(make_csr)()
    my_work, state = await _open(csr, "/ws/agent/")
    recent, status = await _open(csr, "/ws/agent/?mode=presence")
    try:
        assert state["type"] == "state"
        assert status["type"] == "status"
        assert status["status"] == "available"
        assert await _counts(csr) == {csr.pk: 2}
        await my_work.disconnect()
        assert await _counts(csr) == {csr.pk: 1}
    finally:
        await recent.disconnect()
    assert await _counts(csr) == {}


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_presence_socket_keeps_the_csr_present_and_shows_why_they_were_changed(
    make_csr,
):
    """A CSR on another portal page is not set Offline while it is open; a status the
    portal sets (Away after missed offers, say) reaches that page with its note."""
    csr = await database_sync_to_async(make_csr)()
    socket, _ = await _open(csr, "/ws/agent/?mode=presence")
    try:
        await database_sync_to_async(_silent_since)(csr, GRACE + 5)
        await database_sync_to_async(presence_sweep)()
        assert await database_sync_to_async(_status)(csr) == CSRStatus.AVAILABLE

        await socket.send_json_to({"type": "heartbeat"})
        assert (await socket.receive_json_from(timeout=5))["type"] == "heartbeat.ack"
        profile = await database_sync_to_async(CSRProfile.objects.get)(user=csr)
        assert profile.last_heartbeat_at > timezone.now() - timedelta(seconds=5)

        await database_sync_to_async(_set_away_by_the_portal)(csr)
        changed = await socket.receive_json_from(timeout=5)
        assert changed["type"] == "status"
        assert changed["status"] == "away"
        assert changed["reason"] == {"code": MISSED_OFFERS_REASON_CODE, "label": "Missed offers"}
        assert changed["note"] == "You were set Away after missing 2 chats in a row."
    finally:
        await socket.disconnect()
