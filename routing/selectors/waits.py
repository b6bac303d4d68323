"""Reads of long waits: the follow-ups customers left, for managers and CSRs."""

from django.db.models import QuerySet

from routing.models import LongWait, LongWaitChoice, QueueMembership

# The most follow-ups a page lists (the admin lists them all).
FOLLOW_UPS_SHOWN = 50


def follow_ups_open(*, queue_ids: list[int] | None = None) -> QuerySet[LongWait]:
    """Messages customers left for follow-up that nobody has marked done, oldest first
    (of these queues, when given)."""
    follow_ups = LongWait.objects.filter(
        choice=LongWaitChoice.LEAVE_MESSAGE, follow_up_done_at__isnull=True
    ).select_related("interaction", "queue")
    if queue_ids is not None:
        follow_ups = follow_ups.filter(queue_id__in=queue_ids)
    return follow_ups.order_by("chosen_at", "pk")


def csr_follow_ups_open(*, user_id: int) -> QuerySet[LongWait]:
    """The open follow-ups of the queues a CSR is allowed to work."""
    queue_ids = QueueMembership.objects.filter(user_id=user_id).values_list("queue_id", flat=True)
    return follow_ups_open(queue_ids=list(queue_ids))
