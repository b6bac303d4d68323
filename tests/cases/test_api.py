"""The back-office API: its own token scope (a bot token reads no cases, a back-office
token no chats), listing by customer, reading and updating a case."""

import pytest
from django.test import Client

from cases.models import CaseChange, CaseStatus
from cases.services import back_office_client_create, case_create
from chat.models import Message, SystemEvent
from tests.factories import bot_client_factory

DISPUTE_VALUES = {
    "amount": {"amount": "250", "currency": "GBP"},
    "payment_date": "2026-11-23",
    "reason": "Not recognised",
}


@pytest.fixture
def case(dispute_chat, case_types):
    return case_create(
        interaction_id=dispute_chat.interaction.pk,
        case_type_id=case_types["DSP"].pk,
        values=DISPUTE_VALUES,
        csr=dispute_chat.csr,
    )


@pytest.fixture
def back_office(db) -> Client:
    _, token = back_office_client_create(name="Disputes team")
    return Client(headers={"Authorization": f"Bearer {token}"})


def test_cases_of_a_customer(back_office, case):
    customer = case.customer.external_id
    answer = back_office.get(f"/api/v1/cases/?customer={customer}")
    assert answer.status_code == 200
    [item] = answer.json()["results"]
    assert item["reference"] == case.reference
    assert item["values"]["amount"] == {"amount": "250.00", "currency": "GBP"}
    assert item["case_type"]["prefix"] == "DSP"
    assert item["customer"]["external_id"] == customer
    assert answer["Cache-Control"].startswith("max-age=0") or "no-store" in answer["Cache-Control"]
    assert back_office.get("/api/v1/cases/?customer=nobody").json() == {"results": []}
    assert back_office.get("/api/v1/cases/?status=lost").status_code == 400


def test_read_and_update_a_case(back_office, case):
    assert back_office.get(f"/api/v1/cases/{case.reference}/").json()["status"] == "open"
    answer = back_office.patch(
        f"/api/v1/cases/{case.reference}/",
        {"status": "resolved", "note": "Refund sent"},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["status"] == "resolved"
    assert body["notes"][0]["author"] == "Back office: Disputes team"
    assert case.changes.filter(
        action=CaseChange.Action.STATUS, actor="Back office: Disputes team"
    ).exists()
    # The chat is still open: both sides see the change.
    assert Message.objects.filter(
        event=SystemEvent.CASE_UPDATED, interaction=case.interaction
    ).exists()
    bad = back_office.patch(
        f"/api/v1/cases/{case.reference}/", {"status": "done"}, content_type="application/json"
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "status"
    assert back_office.get("/api/v1/cases/DSP-99999/").status_code == 404
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED


def test_a_bot_token_cannot_read_cases(db, case):
    _, bot_token = bot_client_factory()
    bot = Client(headers={"Authorization": f"Bearer {bot_token}"})
    refused = bot.get(f"/api/v1/cases/{case.reference}/")
    assert refused.status_code == 401
    assert refused.json()["message"] == "Invalid back-office token."
    assert bot.get("/api/v1/cases/").status_code == 401


def test_a_back_office_token_cannot_read_chats(back_office, case):
    interaction_id = case.interaction_id
    for path in (
        f"/api/v1/escalations/{interaction_id}/",
        f"/api/v1/escalations/{interaction_id}/messages/",
        f"/api/v1/escalations/{interaction_id}/transcript/",
    ):
        assert back_office.get(path).status_code == 401, path


def test_no_token_an_unknown_one_and_an_inactive_client(db, case):
    assert Client().get("/api/v1/cases/").status_code == 401
    unknown = Client(headers={"Authorization": "Bearer bo_nothing"}).get("/api/v1/cases/")
    assert unknown.status_code == 401
    _client, token = back_office_client_create(name="Old system", active=False)
    inactive = Client(headers={"Authorization": f"Bearer {token}"}).get("/api/v1/cases/")
    assert inactive.status_code == 403
    assert inactive.json()["code"] == "client_inactive"


def test_a_portal_session_is_not_a_back_office_token(dispute_chat, case):
    session = Client()
    session.force_login(dispute_chat.csr)
    assert session.get(f"/api/v1/cases/{case.reference}/").status_code == 401
