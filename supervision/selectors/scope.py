"""Who may use the manager tools, and which queues a manager supervises."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from config.users import Role, user_roles
from routing.models import Queue
from supervision.models import SupervisedQueue

MANAGER_ROLES = frozenset({Role.CSR_MANAGER, Role.ADMINISTRATOR})


def may_supervise(user: AbstractBaseUser | AnonymousUser) -> bool:
    """CSR managers and administrators reach the manager tools; nobody else."""
    return bool(user_roles(user) & MANAGER_ROLES)


def supervised_queue_ids(*, user: AbstractBaseUser | AnonymousUser) -> frozenset[int] | None:
    """The ids of the queues the manager is limited to; None: every queue (the default,
    and always for administrators)."""
    if Role.ADMINISTRATOR in user_roles(user):
        return None
    ids = frozenset(
        SupervisedQueue.objects.filter(manager_id=user.pk).values_list("queue_id", flat=True)
    )
    return ids or None


def queue_in_scope(*, scope: frozenset[int] | None, queue_id: int | None) -> bool:
    return scope is None or (queue_id is not None and queue_id in scope)


def queues_in_scope(*, scope: frozenset[int] | None) -> list[Queue]:
    queues = Queue.objects.filter(active=True).order_by("name")
    if scope is not None:
        queues = queues.filter(pk__in=scope)
    return list(queues)
