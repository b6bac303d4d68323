"""Reads of wrap-ups, and the one count of the chats that take a CSR's places: those
active and those whose wrap-up is open. Routing runs, transfers, the CSR's own
workspace and the managers' figures all count a CSR's load with it."""

from collections.abc import Iterable

from django.db.models import Count, Expression, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from chat.models import Interaction, InteractionStatus
from routing.models import DispositionCode, Wrapup


def _counted(rows, field: str, ref: str) -> Expression:
    return Coalesce(
        Subquery(
            rows.filter(**{field: OuterRef(ref)}).values(field).annotate(n=Count("pk")).values("n")
        ),
        Value(0),
        output_field=IntegerField(),
    )


def csr_busy_expression(user_ref: str = "user_id") -> Expression:
    """A per-row annotation: how many places the CSR (`user_ref`, a field of the outer
    query) has taken, by active chats and open wrap-ups."""
    active = Interaction.objects.filter(status=InteractionStatus.ACTIVE)
    open_wrapups = Wrapup.objects.filter(released_at__isnull=True)
    return _counted(active, "assigned_csr_id", user_ref) + _counted(
        open_wrapups, "csr_id", user_ref
    )


def csr_busy_counts(*, user_ids: Iterable[int] | None = None) -> dict[int, int]:
    """CSR id → places taken (active chats + open wrap-ups); CSRs with none are left
    out. Every CSR when `user_ids` is None."""
    active = Interaction.objects.filter(status=InteractionStatus.ACTIVE, assigned_csr__isnull=False)
    open_wrapups = Wrapup.objects.filter(released_at__isnull=True)
    if user_ids is not None:
        ids = list(user_ids)
        active = active.filter(assigned_csr_id__in=ids)
        open_wrapups = open_wrapups.filter(csr_id__in=ids)
    counts: dict[int, int] = {}
    for user_id, n in (
        active.values("assigned_csr_id").annotate(n=Count("pk")).values_list("assigned_csr_id", "n")
    ):
        counts[user_id] = counts.get(user_id, 0) + n
    for user_id, n in (
        open_wrapups.values("csr_id").annotate(n=Count("pk")).values_list("csr_id", "n")
    ):
        counts[user_id] = counts.get(user_id, 0) + n
    return counts


def csr_open_wrapup_ids(*, user_id: int) -> list[int]:
    """The interactions whose wrap-up the CSR has still to finish, oldest first."""
    return list(
        Wrapup.objects.filter(csr_id=user_id, released_at__isnull=True)
        .order_by("started_at", "pk")
        .values_list("interaction_id", flat=True)
    )


def disposition_codes_for(*, queue_id: int) -> list[DispositionCode]:
    """The codes a CSR may pick for a chat of the queue, in the administrator's order."""
    return list(DispositionCode.objects.filter(queue_id=queue_id, active=True))


def wrapup_of(*, interaction_id: int) -> Wrapup | None:
    return (
        Wrapup.objects.select_related("code", "queue").filter(interaction_id=interaction_id).first()
    )
