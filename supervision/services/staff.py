"""A manager's actions on CSRs and queues: set a CSR Away or Offline, change their
capacity, reassign one of their chats, add a CSR to a queue or remove them. Each is one
transaction with its audit entry; refusals raise SupervisionError."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from chat.models import Interaction, InteractionStatus
from config.users import display_name, is_csr
from routing import events as routing_events
from routing.errors import RoutingError
from routing.locks import membership_lock, pending_offer_lock, profile_lock
from routing.models import AwayReason, CSRStatus, Queue, QueueMembership
from routing.services.offers import offer_withdraw
from routing.services.presence import csr_status_change
from routing.services.requests import route_after_commit
from routing.services.transfers import interaction_transfer_to_csr, interaction_transfer_to_queue
from supervision.errors import SupervisionError
from supervision.models import AuditAction
from supervision.selectors.scope import supervised_queue_ids
from supervision.services.audit import audit_record, reason_clean

MIN_CAPACITY = 1
MAX_CAPACITY = 20
MANAGER_STATUSES = (CSRStatus.AWAY, CSRStatus.OFFLINE)


def _csr(csr_id: Any) -> AbstractBaseUser:
    if isinstance(csr_id, bool) or not isinstance(csr_id, int):
        raise SupervisionError("bad_csr", "Name the CSR by their id, a whole number.")
    user = get_user_model().objects.filter(pk=csr_id, is_active=True).first()
    if user is None or not is_csr(user):
        raise SupervisionError("not_found", "There is no such CSR.", status=404)
    return user


def _queue(queue_id: Any) -> Queue:
    if isinstance(queue_id, bool) or not isinstance(queue_id, int):
        raise SupervisionError("bad_queue", "Name the queue by its id, a whole number.")
    queue = Queue.objects.filter(pk=queue_id).first()
    if queue is None:
        raise SupervisionError("not_found", "There is no such queue.", status=404)
    return queue


def _check_csr_in_scope(manager: AbstractBaseUser, csr: AbstractBaseUser) -> None:
    scope = supervised_queue_ids(user=manager)
    if scope is None:
        return
    if not QueueMembership.objects.filter(user_id=csr.pk, queue_id__in=scope).exists():
        raise SupervisionError(
            "out_of_scope", "This CSR is in none of the queues you supervise.", status=403
        )


def _check_queue_in_scope(manager: AbstractBaseUser, queue_id: int) -> None:
    scope = supervised_queue_ids(user=manager)
    if scope is not None and queue_id not in scope:
        raise SupervisionError("out_of_scope", "You do not supervise this queue.", status=403)


@transaction.atomic
def csr_status_set_by_manager(
    *, manager: AbstractBaseUser, csr_id: Any, status: Any, away_reason: Any = "", reason: Any
) -> None:
    """Set a CSR Away (with one of the Away reasons) or Offline; they lose a pending
    offer and are told on their socket."""
    csr = _csr(csr_id)
    _check_csr_in_scope(manager, csr)
    why = reason_clean(reason)
    if status not in MANAGER_STATUSES:
        raise SupervisionError("bad_status", "A manager may set a CSR Away or Offline.")
    away = None
    if status == CSRStatus.AWAY:
        away = AwayReason.objects.filter(code=away_reason, active=True, system=False).first()
        if away is None:
            raise SupervisionError("bad_away_reason", "Choose one of the Away reasons.")
    csr_status_change(
        user_id=csr.pk,
        status=status,
        reason=away,
        note=f"Set by {display_name(manager)}: {why}",
    )
    audit_record(
        actor=manager,
        action=AuditAction.CSR_STATUS,
        reason=why,
        target_user_id=csr.pk,
        data={"status": status, "away_reason": away.code if away else ""},
    )


@transaction.atomic
def csr_capacity_set(*, manager: AbstractBaseUser, csr_id: Any, capacity: Any, reason: Any) -> int:
    """Change how many chats the CSR may hold at once (MIN_CAPACITY–MAX_CAPACITY). More
    room is used at once; less takes nothing away (they finish what they hold)."""
    csr = _csr(csr_id)
    _check_csr_in_scope(manager, csr)
    why = reason_clean(reason)
    if isinstance(capacity, bool) or not isinstance(capacity, int):
        raise SupervisionError("bad_capacity", "The capacity must be a whole number.")
    if not MIN_CAPACITY <= capacity <= MAX_CAPACITY:
        raise SupervisionError(
            "bad_capacity", f"The capacity must be from {MIN_CAPACITY} to {MAX_CAPACITY} chats."
        )
    profile = profile_lock(csr.pk)
    before = profile.capacity
    profile.capacity = capacity
    profile.save(update_fields=["capacity"])
    route_after_commit(csr_id=csr.pk)
    audit_record(
        actor=manager,
        action=AuditAction.CSR_CAPACITY,
        reason=why,
        target_user_id=csr.pk,
        data={"from": before, "to": capacity},
    )
    return capacity


@transaction.atomic
def chat_reassign(
    *,
    manager: AbstractBaseUser,
    interaction_id: Any,
    reason: Any,
    to_csr_id: Any = None,
    to_queue_id: Any = None,
) -> None:
    """Move a CSR's active chat to another CSR (offered to them, as a transfer) or to a
    queue (at the front), through routing's transfers, named as the manager's."""
    why = reason_clean(reason)
    if isinstance(interaction_id, bool) or not isinstance(interaction_id, int):
        raise SupervisionError("bad_interaction", "Name the chat by its id, a whole number.")
    interaction = Interaction.objects.filter(pk=interaction_id).first()
    if interaction is None:
        raise SupervisionError("not_found", "There is no such chat.", status=404)
    _check_queue_in_scope(manager, interaction.queue_id)
    if interaction.status != InteractionStatus.ACTIVE or interaction.assigned_csr is None:
        raise SupervisionError("not_active", "Only an active chat can be reassigned.")
    holder = interaction.assigned_csr
    if (to_csr_id is None) == (to_queue_id is None):
        raise SupervisionError("bad_target", "Reassign to one CSR or to one queue.")
    try:
        if to_csr_id is not None:
            target = _csr(to_csr_id)
            interaction_transfer_to_csr(
                interaction_id=interaction.pk, user=holder, target=target, note=why, acting=manager
            )
            data: dict[str, Any] = {"to_csr_id": target.pk, "from_csr_id": holder.pk}
        else:
            queue = _queue(to_queue_id)
            _check_queue_in_scope(manager, queue.pk)
            interaction_transfer_to_queue(
                interaction_id=interaction.pk, user=holder, queue=queue, note=why, acting=manager
            )
            data = {"to_queue_id": queue.pk, "from_csr_id": holder.pk}
    except RoutingError as error:
        raise SupervisionError(error.code, error.message, status=409) from None
    audit_record(
        actor=manager,
        action=AuditAction.CHAT_REASSIGN,
        reason=why,
        target_user_id=holder.pk,
        interaction_id=interaction.pk,
        queue_id=interaction.queue_id,
        data=data,
    )


@transaction.atomic
def queue_csr_add(*, manager: AbstractBaseUser, queue_id: Any, csr_id: Any, reason: Any) -> None:
    """Make the CSR a member of the queue, joined: routing offers them its chats now."""
    queue = _queue(queue_id)
    _check_queue_in_scope(manager, queue.pk)
    csr = _csr(csr_id)
    why = reason_clean(reason)
    if not queue.active:
        raise SupervisionError("queue_inactive", f"The {queue.name} queue is not taking chats.")
    QueueMembership.objects.get_or_create(user_id=csr.pk, queue=queue)
    membership = membership_lock(user_id=csr.pk, queue=queue)
    assert membership is not None  # made just above
    if not membership.joined:
        membership.joined = True
        membership.joined_at = timezone.now()
        membership.save(update_fields=["joined", "joined_at"])
    routing_events.memberships_changed(user_id=csr.pk)
    routing_events.queue_changed(queue_id=queue.pk)
    route_after_commit(csr_id=csr.pk)
    audit_record(
        actor=manager,
        action=AuditAction.QUEUE_ADD,
        reason=why,
        target_user_id=csr.pk,
        queue_id=queue.pk,
    )


@transaction.atomic
def queue_csr_remove(*, manager: AbstractBaseUser, queue_id: Any, csr_id: Any, reason: Any) -> None:
    """Take the CSR out of the queue (they can no longer join it): a pending offer of one
    of its chats is withdrawn; chats they hold stay theirs."""
    queue = _queue(queue_id)
    _check_queue_in_scope(manager, queue.pk)
    csr = _csr(csr_id)
    why = reason_clean(reason)
    pending = pending_offer_lock(csr_id=csr.pk)
    if pending is not None and pending.queue_id == queue.pk:
        offer_withdraw(pending, reason=f"You were removed from the {queue.name} queue.")
    membership = membership_lock(user_id=csr.pk, queue=queue)
    if membership is None:
        raise SupervisionError(
            "not_member", f"{display_name(csr)} is not a member of the {queue.name} queue."
        )
    membership.delete()
    routing_events.memberships_changed(user_id=csr.pk)
    routing_events.queue_changed(queue_id=queue.pk)
    audit_record(
        actor=manager,
        action=AuditAction.QUEUE_REMOVE,
        reason=why,
        target_user_id=csr.pk,
        queue_id=queue.pk,
    )
