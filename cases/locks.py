"""The cases app's locking reads, taken after the chat's (chat/locks.py): interaction →
case type (its reference counter) → case. A case webhook delivery's transactions lock
deliveries alone."""

from django.db.models import QuerySet

from cases.models import Case, CaseType, CaseWebhookDelivery


def case_type_lock(case_type_id: int) -> CaseType:
    """The case type, its row locked until the transaction ends (to number a case)."""
    return CaseType.objects.select_for_update().get(pk=case_type_id)


def case_lock(reference: str) -> Case:
    """The case with its type, chat and customer, its row alone locked."""
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("case_type", "interaction", "customer")
        .get(reference=reference)
    )


def case_deliveries_for_update() -> QuerySet[CaseWebhookDelivery]:
    return CaseWebhookDelivery.objects.select_for_update(of=("self",))
