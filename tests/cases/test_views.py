"""The chat panel's case assistant endpoints and the Cases pages: suggestions with their
sources, who may see what, and the refusals."""

import json

from django.test import Client

from cases.models import Case, CaseStatus
from cases.services import case_create
from tests.cases.conftest import chat_with, customer_says, logged_in

DISPUTE_VALUES = {
    "amount": {"amount": "250", "currency": "GBP"},
    "payment_date": "2026-11-23",
    "reason": "Not recognised",
}


def test_the_assistant_proposes_the_dispute_with_why(dispute_chat, case_types):
    client = logged_in(dispute_chat.csr)
    url = f"/portal-api/interactions/{dispute_chat.interaction.pk}/case-assistant/"
    state = client.get(url).json()
    top = state["suggestions"][0]
    assert top["name"] == "Dispute a card payment"
    assert any("'took'" in reason for reason in top["reasons"])
    assert "The bot's intent is card_dispute" in top["reasons"]
    assert {t["name"] for t in state["case_types"]} >= {"Change address", "Close an account"}
    assert state["open_cases"] == []


def test_the_form_is_prefilled_from_the_message_with_its_source(dispute_chat, case_types):
    client = logged_in(dispute_chat.csr)
    interaction = dispute_chat.interaction
    form = client.get(
        f"/portal-api/interactions/{interaction.pk}/case-types/{case_types['DSP'].pk}/form/"
    ).json()
    fields = {f["key"]: f for f in form["fields"]}
    assert fields["amount"]["value"] == {"amount": "250.00", "currency": "GBP"}
    assert "“£250”" in fields["amount"]["source"]
    message_day = interaction.messages.get(sender_kind="customer").created_at.date()
    assert fields["payment_date"]["value"] <= message_day.isoformat()
    assert "“on Monday”" in fields["payment_date"]["source"]
    assert fields["reason"]["value"] is None
    assert form["auth_reminder"] == ""  # already authenticated
    assert not Case.objects.exists()  # nothing saved by looking


def test_the_form_reminds_to_request_authentication(csr, case_types):
    interaction = chat_with(csr, context={"card_last4": "7781"})
    client = logged_in(csr)
    form = client.get(
        f"/portal-api/interactions/{interaction.pk}/case-types/{case_types['DSP'].pk}/form/"
    ).json()
    assert form["auth_reminder"].startswith("Dispute a card payment needs an authenticated")
    card = next(f for f in form["fields"] if f["key"] == "card_ending")
    assert card["value"] == "7781" and card["source"] == "From the bot's context (card_last4)"


def test_creating_a_case_answers_field_errors_and_then_201(dispute_chat, case_types):
    client = logged_in(dispute_chat.csr)
    url = f"/portal-api/interactions/{dispute_chat.interaction.pk}/cases/"
    bad = client.post(
        url, json.dumps({"case_type": case_types["DSP"].pk, "values": {}}), "application/json"
    )
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} == {"amount", "payment_date", "reason"}
    good = client.post(
        url,
        json.dumps({"case_type": case_types["DSP"].pk, "values": DISPUTE_VALUES}),
        "application/json",
    )
    assert good.status_code == 201
    assert good.json()["reference"] == "DSP-00001"
    assert client.post(url, "{", "application/json").status_code == 400


def test_someone_else_s_chat_is_refused(dispute_chat, other_csr, case_types):
    client = logged_in(other_csr)
    interaction = dispute_chat.interaction
    assert (
        client.get(f"/portal-api/interactions/{interaction.pk}/case-assistant/").status_code == 403
    )
    form_url = f"/portal-api/interactions/{interaction.pk}/case-types/{case_types['DSP'].pk}/form/"
    assert client.get(form_url).status_code == 403
    created = client.post(
        f"/portal-api/interactions/{interaction.pk}/cases/",
        json.dumps({"case_type": case_types["DSP"].pk, "values": DISPUTE_VALUES}),
        "application/json",
    )
    assert created.status_code == 403
    assert not Case.objects.exists()
    anonymous = Client()
    assert (
        anonymous.get(f"/portal-api/interactions/{interaction.pk}/case-assistant/").status_code
        == 401
    )


def test_a_csr_sees_the_cases_of_chats_they_handled_and_managers_all(
    dispute_chat, other_csr, manager, case_types
):
    case = case_create(
        interaction_id=dispute_chat.interaction.pk,
        case_type_id=case_types["DSP"].pk,
        values=DISPUTE_VALUES,
        csr=dispute_chat.csr,
    )
    own = logged_in(dispute_chat.csr)
    assert case.reference in own.get("/cases/").content.decode()
    assert own.get(f"/cases/{case.reference}/").status_code == 200
    other = logged_in(other_csr)
    assert case.reference not in other.get("/cases/").content.decode()
    assert other.get(f"/cases/{case.reference}/").status_code == 404
    assert other.post(f"/cases/{case.reference}/", {"status": "resolved"}).status_code == 404
    boss = logged_in(manager)
    assert case.reference in boss.get("/cases/").content.decode()
    assert boss.get(f"/cases/{case.reference}/").status_code == 200


def test_the_case_page_changes_the_status_and_adds_notes(dispute_chat, case_types):
    case = case_create(
        interaction_id=dispute_chat.interaction.pk,
        case_type_id=case_types["DSP"].pk,
        values=DISPUTE_VALUES,
        csr=dispute_chat.csr,
    )
    client = logged_in(dispute_chat.csr)
    answer = client.post(
        f"/cases/{case.reference}/", {"status": "pending_customer", "note": "Asked for a receipt"}
    )
    assert answer.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.PENDING_CUSTOMER
    page = client.get(f"/cases/{case.reference}/").content.decode()
    assert "Asked for a receipt" in page and "Pending customer" in page
    refused = client.post(f"/cases/{case.reference}/", {"status": "open", "note": "x" * 2001})
    assert refused.status_code == 400
    assert "At most 2,000 characters" in refused.content.decode()
    case.refresh_from_db()
    assert case.status == CaseStatus.PENDING_CUSTOMER  # nothing half-saved


def test_the_customer_s_other_open_cases_are_shown(dispute_chat, csr, case_types):
    case = case_create(
        interaction_id=dispute_chat.interaction.pk,
        case_type_id=case_types["DSP"].pk,
        values=DISPUTE_VALUES,
        csr=csr,
    )
    later = chat_with(csr, customer=dispute_chat.interaction.customer)
    customer_says(later, "I also want to close my account")
    state = logged_in(csr).get(f"/portal-api/interactions/{later.pk}/case-assistant/").json()
    assert [c["reference"] for c in state["open_cases"]] == [case.reference]
    assert state["suggestions"][0]["name"] == "Close an account"


def test_the_add_task_menu_lists_the_case_types_by_category(dispute_chat, manager, case_types):
    client = logged_in(dispute_chat.csr)
    url = f"/portal-api/interactions/{dispute_chat.interaction.pk}/add-task/"
    categories = {c["label"]: c["tasks"] for c in client.get(url).json()["categories"]}
    assert [t["label"] for t in categories["Payments"]] == ["Dispute a card payment"]
    assert {t["label"] for t in categories["Cards"]} == {
        "Report a lost or stolen card",
        "Increase a limit",
    }
    dispute = categories["Payments"][0]
    assert dispute == {
        "key": str(case_types["DSP"].pk),
        "label": "Dispute a card payment",
        "kind": "case",
        "disabled_reason": "",
    }
    # A manager watching sees them, disabled with the reason.
    watched = logged_in(manager).get(url).json()["categories"]
    reasons = {t["disabled_reason"] for c in watched for t in c["tasks"] if t["kind"] == "case"}
    assert reasons == {"Only the CSR handling this chat can open a case in it"}


def test_a_case_type_offered_elsewhere_is_not_in_this_chat(dispute_chat, case_types):
    from tests.factories import channel_factory

    closing = case_types["CLS"]
    closing.channels.set([channel_factory()])
    client = logged_in(dispute_chat.csr)
    state = client.get(
        f"/portal-api/interactions/{dispute_chat.interaction.pk}/case-assistant/"
    ).json()
    assert "Close an account" not in {t["name"] for t in state["case_types"]}
    refused = client.post(
        f"/portal-api/interactions/{dispute_chat.interaction.pk}/cases/",
        json.dumps({"case_type": closing.pk, "values": {}}),
        "application/json",
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "unknown_case_type"


def test_a_manager_may_look_but_not_open_a_case(dispute_chat, manager, case_types):
    client = logged_in(manager)
    interaction = dispute_chat.interaction
    assert (
        client.get(f"/portal-api/interactions/{interaction.pk}/case-assistant/").status_code == 200
    )
    refused = client.post(
        f"/portal-api/interactions/{interaction.pk}/cases/",
        json.dumps({"case_type": case_types["DSP"].pk, "values": DISPUTE_VALUES}),
        "application/json",
    )
    assert refused.status_code == 403
    assert not Case.objects.exists()


def test_the_cases_page_filters_by_status(dispute_chat, case_types):
    case = case_create(
        interaction_id=dispute_chat.interaction.pk,
        case_type_id=case_types["DSP"].pk,
        values=DISPUTE_VALUES,
        csr=dispute_chat.csr,
    )
    client = logged_in(dispute_chat.csr)
    assert case.reference in client.get("/cases/?status=open").content.decode()
    assert case.reference in client.get("/cases/?status=open_any").content.decode()
    assert case.reference not in client.get("/cases/?status=resolved").content.decode()
    assert client.get("/cases/?status=lost").status_code == 400
    assert Client().get("/cases/").status_code == 302  # to log in
