"""Reading cases: who may see which, the case types a chat offers, a customer's open
cases, and the JSON shape of a case (the API's, the webhook's and the panel's)."""

from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from cases.models import OPEN_CASE_STATUSES, Case, CaseChange, CaseField, CaseType
from chat.models import Interaction
from config.users import Role, user_roles
from routing.models import Offer, OfferStatus


def case_types_offered(*, interaction: Interaction) -> list[CaseType]:
    """The active case types this chat's channel and queue offer (a type that names no
    channels offers every channel; the same for queues), with their fields."""
    return list(
        CaseType.objects.filter(active=True)
        .filter(Q(channels__isnull=True) | Q(channels=interaction.channel_id))
        .filter(Q(queues__isnull=True) | Q(queues=interaction.queue_id))
        .distinct()
        .prefetch_related(Prefetch("fields", queryset=CaseField.objects.order_by("order", "pk")))
    )


def case_type_offered_get(*, interaction: Interaction, case_type_id: Any) -> CaseType | None:
    if not isinstance(case_type_id, int) or isinstance(case_type_id, bool):
        return None
    return next(
        (t for t in case_types_offered(interaction=interaction) if t.pk == case_type_id), None
    )


def _cases() -> QuerySet[Case]:
    return Case.objects.select_related("case_type", "customer", "interaction", "created_by")


def cases_visible(*, user) -> QuerySet[Case]:
    """The cases a portal user may see: CSR managers and administrators all of them; a CSR
    those of chats they handled (accepted an offer of, or opened the case in)."""
    roles = user_roles(user)
    if roles & {Role.CSR_MANAGER, Role.ADMINISTRATOR}:
        return _cases()
    if Role.CSR not in roles:
        return Case.objects.none()
    handled = Offer.objects.filter(
        interaction_id=OuterRef("interaction_id"), csr_id=user.pk, status=OfferStatus.ACCEPTED
    )
    return _cases().filter(
        Q(Exists(handled)) | Q(created_by_id=user.pk) | Q(interaction__assigned_csr_id=user.pk)
    )


def case_visible_get(*, user, reference: str) -> Case | None:
    return cases_visible(user=user).filter(reference=reference).first()


def customer_open_cases(*, customer_id: int) -> list[Case]:
    return list(
        _cases()
        .filter(customer_id=customer_id, status__in=OPEN_CASE_STATUSES)
        .order_by("-created_at")[:20]
    )


def interaction_cases(*, interaction_ids: list[int]) -> dict[int, list[Case]]:
    """The cases opened in each of these chats (Recent work's column)."""
    found: dict[int, list[Case]] = {}
    for case in (
        Case.objects.select_related("case_type")
        .filter(interaction_id__in=interaction_ids)
        .order_by("created_at")
    ):
        found.setdefault(case.interaction_id, []).append(case)
    return found


def case_history(*, case: Case) -> list[CaseChange]:
    return list(case.changes.select_related("user").order_by("created_at", "pk"))


def case_json(case: Case) -> dict[str, Any]:
    """A case as the back-office API and the webhook give it."""
    return {
        "reference": case.reference,
        "case_type": {
            "id": case.case_type_id,
            "name": case.case_type.name,
            "prefix": case.case_type.prefix,
            "category": case.case_type.category,
        },
        "status": case.status,
        "customer": {
            "external_id": case.customer.external_id,
            "name": case.interaction.customer_name or case.customer.name,
        },
        "interaction_id": case.interaction_id,
        "values": case.values,
        "notes": [
            {
                "author": change.actor,
                "text": change.note,
                "created_at": change.created_at.isoformat(),
            }
            for change in case.changes.all()
            if change.action == CaseChange.Action.NOTE
        ],
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
    }


def case_summary(case: Case) -> dict[str, Any]:
    """A case in a list of the chat panel (the customer's other open cases)."""
    return {
        "reference": case.reference,
        "case_type": case.case_type.name,
        "status": case.status,
        "status_label": case.get_status_display(),
        "created_at": case.created_at.isoformat(),
    }
