"""References are never shared, whatever the races (run against PostgreSQL in CI)."""

import itertools

import pytest

from cases.models import Case, CaseChange
from cases.services import case_create, case_update
from chat.models import Message, SystemEvent
from tests.cases.conftest import chat_with
from tests.routing.test_races import _race

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8
VALUES = {"amount": "£10", "payment_date": "2026-11-23", "reason": "Other"}


def test_cases_opened_at_once_get_distinct_references(csr, other_csr, case_types):
    chats = [chat_with(csr if n % 2 else other_csr, authenticated=True) for n in range(THREADS)]
    dispute = case_types["DSP"].pk
    calls = [
        (
            lambda chat=chat: case_create(
                interaction_id=chat.pk, case_type_id=dispute, values=VALUES, csr=chat.assigned_csr
            )
        )
        for chat in chats
    ]
    results = _race(calls)
    assert [r[0] for r in results] == ["ok"] * THREADS, results
    references = sorted(Case.objects.values_list("reference", flat=True))
    assert references == [f"DSP-{n:05d}" for n in range(1, THREADS + 1)]
    assert Message.objects.filter(event=SystemEvent.CASE_CREATED).count() == THREADS


def test_status_changes_at_once_are_each_recorded_once(csr, case_types):
    chat = chat_with(csr, authenticated=True)
    case = case_create(
        interaction_id=chat.pk, case_type_id=case_types["DSP"].pk, values=VALUES, csr=csr
    )
    statuses = ["resolved", "pending_customer", "cancelled", "open"] * 2
    results = _race(
        [lambda s=s: case_update(reference=case.reference, status=s, user=csr) for s in statuses]
    )
    assert all(r[0] == "ok" for r in results), results
    changes = list(case.changes.filter(action=CaseChange.Action.STATUS).order_by("pk"))
    # Each change starts from the status the one before it left.
    for before, after in itertools.pairwise(changes):
        assert after.old_status == before.new_status
    case.refresh_from_db()
    assert case.status == changes[-1].new_status
