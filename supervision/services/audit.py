"""The audit log of manager actions."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from supervision.errors import SupervisionError
from supervision.models import AuditAction, AuditEntry

MAX_REASON_CHARS = 500


def reason_clean(reason: Any, *, required: bool = True) -> str:
    """The reason a manager gives for an action: text, at most MAX_REASON_CHARS."""
    if reason is None:
        reason = ""
    if not isinstance(reason, str):
        raise SupervisionError("bad_reason", "The reason must be text.")
    reason = reason.strip()
    if required and not reason:
        raise SupervisionError("reason_required", "Give a reason for this action.")
    if len(reason) > MAX_REASON_CHARS:
        raise SupervisionError(
            "bad_reason", f"A reason can be at most {MAX_REASON_CHARS} characters."
        )
    return reason


def audit_record(
    *,
    actor: AbstractBaseUser,
    action: AuditAction,
    reason: str = "",
    target_user_id: int | None = None,
    interaction_id: int | None = None,
    queue_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record one manager action (inside the action's transaction)."""
    return AuditEntry.objects.create(
        actor_id=actor.pk,
        action=action,
        reason=reason,
        target_user_id=target_user_id,
        interaction_id=interaction_id,
        queue_id=queue_id,
        data=data or {},
    )
