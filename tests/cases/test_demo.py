"""The demo bank's five case types: created by the demo seed, refreshed idempotently."""

from cases.demo import demo_case_types_create
from cases.models import CaseField, CaseType
from cases.services import case_create
from tests.cases.conftest import chat_with


def test_seeding_twice_keeps_five_types_their_fields_and_their_numbers(csr, case_types):
    chat = chat_with(csr, authenticated=True)
    case_create(
        interaction_id=chat.pk,
        case_type_id=case_types["CLS"].pk,
        values={"account_number": "12345678", "reason": "Fees"},
        csr=csr,
    )
    fields = CaseField.objects.count()
    demo_case_types_create()
    assert sorted(CaseType.objects.values_list("prefix", flat=True)) == [
        "ADR",
        "CLS",
        "DSP",
        "LIM",
        "LST",
    ]
    assert CaseField.objects.count() == fields
    assert CaseType.objects.get(prefix="CLS").last_number == 1  # the next is CLS-00002
    assert {t.category for t in CaseType.objects.all()} == {"Cards", "Payments", "Account"}
    assert CaseType.objects.get(prefix="LST").requires_authentication is False
