"""Opening a case from a chat and changing it: references, the chat's system message,
history, refusals that save nothing."""

import pytest

from cases.models import Case, CaseChange, CaseStatus
from cases.services import CaseError, case_create, case_update
from chat.models import Message, SystemEvent
from tests.cases.conftest import chat_with

DISPUTE_VALUES = {
    "amount": {"amount": "250", "currency": "GBP"},
    "payment_date": "2026-11-23",
    "reason": "Not recognised",
}


def test_a_confirmed_case_gets_a_reference_and_a_system_message(dispute_chat, case_types):
    case = case_create(
        interaction_id=dispute_chat.interaction.pk,
        case_type_id=case_types["DSP"].pk,
        values=DISPUTE_VALUES,
        csr=dispute_chat.csr,
    )
    assert case.reference == "DSP-00001"
    assert case.values == {
        "amount": {"amount": "250.00", "currency": "GBP"},
        "payment_date": "2026-11-23",
        "reason": "Not recognised",
    }
    assert case.customer_id == dispute_chat.interaction.customer_id
    message = Message.objects.get(
        interaction=dispute_chat.interaction, event=SystemEvent.CASE_CREATED
    )
    assert message.text == "Service case DSP-00001 created: Dispute a card payment"
    assert message.data["case_ref"] == "DSP-00001"
    assert not message.internal  # the customer sees the reference
    [change] = case.changes.all()
    assert change.action == CaseChange.Action.CREATED and change.user == dispute_chat.csr
    second = case_create(
        interaction_id=dispute_chat.interaction.pk,
        case_type_id=case_types["DSP"].pk,
        values=DISPUTE_VALUES,
        csr=dispute_chat.csr,
    )
    assert second.reference == "DSP-00002"


def test_a_case_type_that_needs_authentication_waits_for_it(csr, case_types):
    interaction = chat_with(csr, authenticated=False)
    with pytest.raises(CaseError) as refused:
        case_create(
            interaction_id=interaction.pk,
            case_type_id=case_types["DSP"].pk,
            values=DISPUTE_VALUES,
            csr=csr,
        )
    assert refused.value.code == "authentication_required"
    assert "request authentication" in refused.value.message
    assert not Case.objects.exists()
    assert not Message.objects.filter(event=SystemEvent.CASE_CREATED).exists()
    # A lost card may be reported without it.
    case = case_create(
        interaction_id=interaction.pk,
        case_type_id=case_types["LST"].pk,
        values={"card_ending": "4921", "what_happened": "stolen"},
        csr=csr,
    )
    assert case.values == {"card_ending": "4921", "what_happened": "Stolen"}


def test_every_field_problem_is_reported_and_nothing_is_saved(dispute_chat, case_types):
    with pytest.raises(CaseError) as refused:
        case_create(
            interaction_id=dispute_chat.interaction.pk,
            case_type_id=case_types["DSP"].pk,
            values={
                "amount": {"amount": "lots", "currency": "GBP"},
                "payment_date": "the other day",
                "reason": "Bored",
                "colour": "blue",
            },
            csr=dispute_chat.csr,
        )
    errors = refused.value.errors
    assert set(errors) == {"amount", "payment_date", "reason", "colour"}
    assert "Enter an amount" in errors["amount"]
    assert "Enter a date" in errors["payment_date"]
    assert errors["reason"].startswith("Choose one of: Not recognised")
    assert errors["colour"] == "This case type has no such field."
    with pytest.raises(CaseError) as refused:
        case_create(
            interaction_id=dispute_chat.interaction.pk,
            case_type_id=case_types["DSP"].pk,
            values={},
            csr=dispute_chat.csr,
        )
    assert refused.value.errors["amount"] == "Amount is required."
    assert not Case.objects.exists()
    case_types["DSP"].refresh_from_db()
    assert case_types["DSP"].last_number == 0  # no reference used up


def test_money_and_dates_by_the_customer_s_locale(csr, case_types):
    interaction = chat_with(csr, authenticated=True, context={"locale": "de_DE"})
    case = case_create(
        interaction_id=interaction.pk,
        case_type_id=case_types["DSP"].pk,
        values={"amount": "1.234,50", "payment_date": "23.11.2026", "reason": "Other"},
        csr=csr,
    )
    assert case.values["amount"] == {"amount": "1234.50", "currency": "EUR"}
    assert case.values["payment_date"] == "2026-11-23"


def test_only_the_handling_csr_opens_a_case(dispute_chat, other_csr, case_types):
    with pytest.raises(CaseError) as refused:
        case_create(
            interaction_id=dispute_chat.interaction.pk,
            case_type_id=case_types["DSP"].pk,
            values=DISPUTE_VALUES,
            csr=other_csr,
        )
    assert refused.value.code == "not_party"
    assert not Case.objects.exists()


def test_a_status_change_is_recorded_and_told_to_the_open_chat(dispute_chat, case_types):
    case = case_create(
        interaction_id=dispute_chat.interaction.pk,
        case_type_id=case_types["DSP"].pk,
        values=DISPUTE_VALUES,
        csr=dispute_chat.csr,
    )
    case_update(
        reference=case.reference, status=CaseStatus.RESOLVED, note="Refunded", user=dispute_chat.csr
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED
    actions = [(c.action, c.old_status, c.new_status, c.note) for c in case.changes.all()]
    assert actions[1:] == [
        (CaseChange.Action.NOTE, "", "", "Refunded"),
        (CaseChange.Action.STATUS, "open", "resolved", ""),
    ]
    message = Message.objects.get(event=SystemEvent.CASE_UPDATED)
    assert message.text == "Service case DSP-00001 is now resolved"
    with pytest.raises(CaseError) as refused:
        case_update(reference=case.reference, status="done", user=dispute_chat.csr)
    assert "status" in refused.value.errors
    with pytest.raises(CaseError):
        case_update(reference="DSP-99999", status="open", user=dispute_chat.csr)


def test_an_ended_chat_takes_no_new_case(dispute_chat, case_types):
    from chat.models import InteractionStatus

    dispute_chat.interaction.status = InteractionStatus.ENDED
    dispute_chat.interaction.save(update_fields=["status"])
    with pytest.raises(CaseError) as refused:
        case_create(
            interaction_id=dispute_chat.interaction.pk,
            case_type_id=case_types["DSP"].pk,
            values=DISPUTE_VALUES,
            csr=dispute_chat.csr,
        )
    assert refused.value.code == "chat_ended"
    assert not Case.objects.exists()
