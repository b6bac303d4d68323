"""A manager's actions on CSRs and queues: reasoned, audited, in scope; every manager
page and action refuses CSRs."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from chat.models import InteractionStatus, Message, SystemEvent
from routing.models import AwayReason, CSRProfile, CSRStatus, QueueMembership
from supervision.errors import SupervisionError
from supervision.models import AuditAction, AuditEntry, SupervisedQueue
from supervision.selectors.queues import queue_rows
from supervision.services import staff
from tests.factories import queue_factory

pytestmark = pytest.mark.django_db

PAGES = ["/supervision/", "/supervision/csrs/", "/supervision/chats/", "/supervision/health/"]


def test_every_manager_page_is_403_for_a_csr_and_200_for_a_manager(manager, make_csr, queue):
    client = Client()
    client.force_login(make_csr())
    for page in [*PAGES, f"/supervision/queues/{queue.pk}/members/"]:
        assert client.get(page).status_code == 403, page
    client.force_login(manager)
    for page in [*PAGES, f"/supervision/queues/{queue.pk}/members/"]:
        assert client.get(page).status_code == 200, page


def test_setting_a_csr_away_needs_a_reason_and_is_audited(manager, make_csr):
    csr = make_csr()
    AwayReason.objects.create(code="coaching", label="Coaching")
    with pytest.raises(SupervisionError) as refused:
        staff.csr_status_set_by_manager(
            manager=manager, csr_id=csr.pk, status="away", away_reason="coaching", reason=" "
        )
    assert refused.value.code == "reason_required"
    staff.csr_status_set_by_manager(
        manager=manager, csr_id=csr.pk, status="away", away_reason="coaching", reason="1:1"
    )
    profile = CSRProfile.objects.get(user=csr)
    assert profile.status == CSRStatus.AWAY and profile.away_reason.code == "coaching"
    entry = AuditEntry.objects.get(action=AuditAction.CSR_STATUS)
    assert entry.reason == "1:1" and entry.target_user == csr


def test_capacity_is_checked_and_changed(manager, make_csr):
    csr = make_csr()
    for bad in (0, 21, "3", True):
        with pytest.raises(SupervisionError):
            staff.csr_capacity_set(manager=manager, csr_id=csr.pk, capacity=bad, reason="busy day")
    staff.csr_capacity_set(manager=manager, csr_id=csr.pk, capacity=5, reason="busy day")
    assert CSRProfile.objects.get(user=csr).capacity == 5


def test_reassign_to_a_queue_uses_routings_transfer_named_as_the_manager(
    manager, make_csr, make_chat
):
    csr = make_csr()
    chat = make_chat(csr=csr)
    other = queue_factory(name="Billing", slug="billing")
    staff.chat_reassign(
        manager=manager, interaction_id=chat.id, to_queue_id=other.pk, reason="billing question"
    )
    chat.interaction.refresh_from_db()
    assert chat.interaction.queue == other and chat.interaction.status == InteractionStatus.QUEUED
    moved = Message.objects.get(interaction_id=chat.id, event=SystemEvent.TRANSFERRED)
    assert moved.text == "Transferred to Billing by Jordan Lee"
    assert AuditEntry.objects.filter(
        action=AuditAction.CHAT_REASSIGN, interaction_id=chat.id
    ).exists()


def test_removing_a_csr_from_a_queue_and_adding_them_back(manager, make_csr, queue):
    csr = make_csr()
    staff.queue_csr_remove(manager=manager, queue_id=queue.pk, csr_id=csr.pk, reason="moved team")
    assert not QueueMembership.objects.filter(user=csr, queue=queue).exists()
    staff.queue_csr_add(manager=manager, queue_id=queue.pk, csr_id=csr.pk, reason="back")
    assert QueueMembership.objects.get(user=csr, queue=queue).joined


def test_a_manager_limited_to_a_queue_acts_only_there(manager, make_csr, queue):
    elsewhere = queue_factory()
    SupervisedQueue.objects.create(manager=manager, queue=elsewhere)
    csr = make_csr()  # in `queue` only
    with pytest.raises(SupervisionError) as refused:
        staff.csr_capacity_set(manager=manager, csr_id=csr.pk, capacity=3, reason="x")
    assert refused.value.status == 403
    client = Client()
    client.force_login(manager)
    assert client.get(f"/supervision/queues/{queue.pk}/members/").status_code == 403
    response = client.post(
        f"/supervision-api/csrs/{csr.pk}/capacity/",
        json.dumps({"capacity": 3, "reason": "x"}),
        content_type="application/json",
    )
    assert response.status_code == 403 and response.json()["code"] == "out_of_scope"


def test_queue_rows_count_occupancy_waits_and_csrs(manager, make_csr, make_chat, queue):
    busy = make_csr()
    make_csr(status=CSRStatus.AWAY)
    make_csr(status=CSRStatus.OFFLINE)
    now = timezone.now()
    make_chat(
        csr=busy, created_at=now - timedelta(seconds=50), accepted_at=now - timedelta(seconds=20)
    )
    make_chat(status=InteractionStatus.QUEUED)
    (row,) = queue_rows(queues=[queue])
    assert row["avg_wait_today_seconds"] == 30
    assert row["waiting"] == 1 and row["active"] == 1
    assert (row["csrs_joined"], row["csrs_available"], row["csrs_away"], row["csrs_offline"]) == (
        3,
        1,
        1,
        1,
    )
    # Occupancy: 1 chat held ÷ capacities of the two CSRs not offline.
    assert row["held"] == 1 and row["occupancy"] == round(1 / row["capacity"], 3)


def test_the_admin_lists_supervised_queues_actions_and_joins(manager, queue):
    from config.users import Role
    from tests.factories import user_factory

    admin_user = user_factory(role=Role.ADMINISTRATOR, is_superuser=True)
    SupervisedQueue.objects.create(manager=manager, queue=queue)
    client = Client()
    client.force_login(admin_user)
    for path in (
        "/admin/supervision/supervisedqueue/",
        "/admin/supervision/auditentry/",
        "/admin/supervision/chatjoin/",
    ):
        assert client.get(path).status_code == 200, path
