"""Disposition codes and satisfaction ratings in the reports: the fact fields (from the
source rows and from the hooks, which agree), the figures per queue and CSR, the page
and the CSV exports."""

import json
from datetime import datetime, timedelta

import pytest
from django.urls import reverse

from chat.models import SatisfactionRating
from chat.signals import satisfaction_rated
from config.users import display_name
from reports.models import ChatFact
from reports.selectors.filters import ReportFilters
from reports.selectors.outcomes import csat_rows, csat_totals, disposition_table
from reports.services.rollup import facts_refresh
from routing.models import DispositionCode, Wrapup, WrapupOutcome
from routing.services.wrapups import wrapup_submit
from tests.reports.conftest import NY, History, ny
from tests.reports.test_views import DAY, client_for, csv_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def outcomes(history: History) -> History:
    """Chat A (Billing, csr1) Resolved and rated 5; C (escalated to Billing, ended in
    Tech with csr3) Complaint and rated 2; D (Tech, csr2) timed out without a code,
    asked but not rated; E (the 11th) no wrap-up, no survey."""
    billing_resolved = DispositionCode.objects.create(
        queue=history.billing, code="resolved", label="Resolved"
    )
    DispositionCode.objects.create(queue=history.tech, code="resolved", label="Resolved")
    complaint = DispositionCode.objects.create(
        queue=history.tech, code="complaint", label="Complaint"
    )
    chats = history.chats
    for chat, csr, code, outcome in (
        (chats["a"], history.csr1, billing_resolved, WrapupOutcome.COMPLETED),
        (chats["c"], history.csr3, complaint, WrapupOutcome.COMPLETED),
        (chats["d"], history.csr2, None, WrapupOutcome.TIMED_OUT),
    ):
        Wrapup.objects.create(
            interaction=chat,
            csr=csr,
            queue=chat.queue,
            started_at=_ended(chat),
            due_at=_ended(chat) + timedelta(minutes=2),
            code=code,
            outcome=outcome,
            released_at=_ended(chat) + timedelta(minutes=1),
        )
    for chat, rating in ((chats["a"], 5), (chats["c"], 2), (chats["d"], None)):
        SatisfactionRating.objects.create(interaction=chat, asked_at=_ended(chat), rating=rating)
    facts_refresh(interaction_ids=[i.pk for i in chats.values()])
    return history


def _ended(chat) -> datetime:
    assert chat.ended_at is not None
    return chat.ended_at


def _day() -> ReportFilters:
    return ReportFilters(start=ny(10, 0).date(), end=ny(10, 0).date(), tz=NY)


def test_the_facts_hold_the_code_and_the_rating(outcomes: History):
    facts = {
        f.interaction_id: (
            f.disposition.code if f.disposition else None,
            f.csat_asked,
            f.csat_rating,
        )
        for f in ChatFact.objects.select_related("disposition")
    }
    chats = outcomes.chats
    assert facts == {
        chats["a"].pk: ("resolved", True, 5),
        chats["b"].pk: (None, False, None),
        chats["c"].pk: ("complaint", True, 2),
        chats["d"].pk: (None, True, None),
        chats["e"].pk: (None, False, None),
    }


def test_satisfaction_per_queue_and_csr(outcomes: History):
    filters = _day()
    assert csat_totals(filters) == {
        "asked": 3,
        "answered": 2,
        "average": 3.5,
        "response_rate": 66.7,
    }
    by_queue = {r["label"]: r for r in csat_rows(filters, "queue")}
    assert by_queue["Billing"] | {} == {
        "key": outcomes.billing.pk,
        "label": "Billing",
        "asked": 2,
        "answered": 2,
        "average": 3.5,
        "response_rate": 100.0,
    }
    assert (by_queue["Tech"]["answered"], by_queue["Tech"]["average"]) == (0, None)
    assert by_queue["Tech"]["response_rate"] == 0.0
    by_csr = {r["key"]: (r["answered"], r["average"]) for r in csat_rows(filters, "csr")}
    assert by_csr == {
        outcomes.csr1.pk: (1, 5.0),
        outcomes.csr3.pk: (1, 2.0),
        outcomes.csr2.pk: (0, None),
    }


def test_dispositions_per_queue_and_csr(outcomes: History):
    by_queue = disposition_table(_day(), "queue")
    assert by_queue["codes"] == [
        {"code": "complaint", "label": "Complaint"},
        {"code": "resolved", "label": "Resolved"},
        {"code": "", "label": "No code"},
    ]
    assert [(r["label"], r["counts"], r["total"]) for r in by_queue["rows"]] == [
        ("Billing", [1, 1, 0], 2),
        ("Tech", [0, 0, 1], 1),
    ]
    chart = json.loads(by_queue["chart_json"])
    assert chart["type"] == "stacked" and chart["labels"] == ["Billing", "Tech"]
    assert [(d["label"], d["data"]) for d in chart["datasets"]] == [
        ("Complaint", [1, 0]),
        ("Resolved", [1, 0]),
        ("No code", [0, 1]),
    ]
    by_csr = {r["key"]: r["counts"] for r in disposition_table(_day(), "csr")["rows"]}
    assert by_csr == {
        outcomes.csr1.pk: [0, 1, 0],
        outcomes.csr3.pk: [1, 0, 0],
        outcomes.csr2.pk: [0, 0, 1],
    }


def test_a_rating_and_a_wrap_up_after_the_facts_update_them_and_a_recompute_agrees(
    outcomes: History, django_capture_on_commit_callbacks
):
    e = outcomes.chats["e"]
    code = DispositionCode.objects.get(queue=outcomes.tech, code="resolved")
    Wrapup.objects.create(
        interaction=e,
        csr=outcomes.csr3,
        queue=outcomes.tech,
        started_at=_ended(e),
        due_at=_ended(e) + timedelta(days=3650),
    )
    with django_capture_on_commit_callbacks(execute=True):
        wrapup_submit(interaction_id=e.pk, user=outcomes.csr3, code="resolved", summary="Ok")
    SatisfactionRating.objects.create(interaction=e, rating=4)
    satisfaction_rated.send(sender=SatisfactionRating, interaction_id=e.pk, rating=4, comment="")
    fact = ChatFact.objects.get(interaction_id=e.pk)
    assert (fact.disposition_id, fact.csat_asked, fact.csat_rating) == (code.pk, True, 4)
    facts_refresh(interaction_ids=[e.pk])
    again = ChatFact.objects.get(interaction_id=e.pk)
    assert (again.disposition_id, again.csat_asked, again.csat_rating) == (code.pk, True, 4)


def test_the_report_page_and_its_csv_exports(outcomes: History):
    manager = client_for(outcomes.manager)
    page = manager.get(reverse("reports:report"), DAY)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Customer satisfaction" in html and "3.5 / 5" in html
    assert "Wrap-up disposition codes" in html and "Complaint" in html
    csat = csv_rows(manager.get(reverse("reports:export", args=["csat"]), DAY))
    assert csat[0] == [
        "By",
        "Name",
        "Surveys asked",
        "Answered",
        "Response rate (%)",
        "Average rating",
    ]
    assert ["queue", "Billing", "2", "2", "100.0", "3.5"] in csat
    codes = csv_rows(manager.get(reverse("reports:export", args=["dispositions"]), DAY))
    assert codes[0] == ["By", "Name", "Disposition code", "Label", "Chats"]
    name = display_name
    assert sorted(codes[1:]) == sorted(
        [
            ["queue", "Billing", "complaint", "Complaint", "1"],
            ["queue", "Billing", "resolved", "Resolved", "1"],
            ["queue", "Tech", "", "No code", "1"],
            ["csr", name(outcomes.csr1), "resolved", "Resolved", "1"],
            ["csr", name(outcomes.csr3), "complaint", "Complaint", "1"],
            ["csr", name(outcomes.csr2), "", "No code", "1"],
        ]
    )
    # A CSR gets their own rows only.
    own = csv_rows(client_for(outcomes.csr1).get(reverse("reports:export", args=["csat"]), DAY))
    assert [row[1] for row in own[1:]] == ["Billing", name(outcomes.csr1)]
