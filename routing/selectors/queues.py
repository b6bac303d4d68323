"""Reads of queues: where an escalation goes, what waits, and the live counts."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, Min, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from chat.models import WAITING_INTERACTION_STATUSES, Channel, Interaction, InteractionStatus
from chat.selectors.interactions import QUEUE_ORDER
from chat.selectors.settings import app_studio_settings_get
from config.memo import memo_for
from routing.models import CSRStatus, IntentRule, Queue, QueueMembership

# How long each process keeps the queues and intent rules it read (config/memo.py).
CONFIG_SECONDS = 1.0


def queue_for_escalation(*, channel: Channel, queue_slug: str | None, intent: str) -> Queue:
    """The queue an escalation goes to.

    An explicit queue slug wins (unknown or inactive: a ValidationError on `queue`);
    otherwise the intent rule matching the intent without regard to case, if its queue is
    active; otherwise the channel's default queue, if active; otherwise a ValidationError
    that says how to fix it. Queues and rules are read as of at most CONFIG_SECONDS ago.
    """
    if queue_slug:
        queue = _queue_by_slug(queue_slug)
        if queue is None:
            raise ValidationError(
                {
                    "queue": ValidationError(
                        f"There is no queue '{queue_slug}': use the slug of a queue set up "
                        "in the admin, or leave `queue` out to route by intent.",
                        code="unknown_queue",
                    )
                }
            )
        if not queue.active:
            raise ValidationError(
                {
                    "queue": ValidationError(
                        f"Queue '{queue_slug}' is inactive and takes no escalations.",
                        code="inactive_queue",
                    )
                }
            )
        return queue
    queue = _queue_for_intent(intent, channel.default_queue_id)
    if queue is not None:
        return queue
    intent_hint = f"add an intent rule for '{intent}'" if intent else "send an intent with a rule"
    raise ValidationError(
        f"No queue for this escalation: name a queue, {intent_hint}, or give channel "
        f"'{channel.slug}' a default queue.",
        code="no_queue",
    )


@memo_for(CONFIG_SECONDS)
def _queue_by_slug(slug: str) -> Queue | None:
    return Queue.objects.filter(slug=slug).first()


@memo_for(CONFIG_SECONDS)
def _queue_for_intent(intent: str, default_queue_id: int | None) -> Queue | None:
    """The active queue of the intent rule matching `intent`, else the default queue if
    it is active."""
    ruled = IntentRule.objects.filter(intent__iexact=intent, queue__active=True).values("queue_id")
    return Queue.objects.filter(
        active=True,
        pk=Coalesce(
            Subquery(ruled[:1]) if intent else Value(None),
            Value(default_queue_id),
            output_field=IntegerField(),
        ),
    ).first()


@memo_for(CONFIG_SECONDS)
def queue_get(queue_id: int) -> Queue:
    """The queue (its settings as of at most CONFIG_SECONDS ago)."""
    return Queue.objects.get(pk=queue_id)


def offer_timeout_seconds(*, queue: Queue) -> int:
    return queue.offer_timeout_seconds or app_studio_settings_get().default_offer_timeout_seconds


def waiting_interactions(*, queue_ids: list[int] | None = None) -> QuerySet[Interaction]:
    """Queued interactions of active queues with no pending offer, in routing order."""
    waiting = Interaction.objects.filter(status=InteractionStatus.QUEUED, queue__active=True)
    if queue_ids is not None:
        waiting = waiting.filter(queue_id__in=queue_ids)
    return waiting.order_by(*QUEUE_ORDER)


def queue_waiting_page(*, queue_id: int, limit: int, exclude: list[int] | None = None) -> list[int]:
    """The ids of the first `limit` chats waiting for an offer in the queue, in routing
    order, leaving out `exclude`."""
    waiting = waiting_interactions(queue_ids=[queue_id])
    if exclude:
        waiting = waiting.exclude(pk__in=exclude)
    return list(waiting.values_list("pk", flat=True)[:limit])


def queues_with_waiting(*, queue_ids: list[int] | None = None) -> list[int]:
    """The active queues that have chats waiting for an offer, by id."""
    return sorted(set(waiting_interactions(queue_ids=queue_ids).values_list("queue_id", flat=True)))


def queue_counts(*, queue: Queue, now: datetime | None = None) -> dict:
    """What the CSRs see of a queue: chats waiting, the longest wait, CSRs Available."""
    now = now or timezone.now()
    waiting = Interaction.objects.filter(queue=queue, status__in=WAITING_INTERACTION_STATUSES)
    summary = waiting.aggregate(n=Count("id"), oldest=Min("queued_at"))
    oldest = summary["oldest"]
    available = QueueMembership.objects.filter(
        queue=queue, joined=True, user__csr_profile__status=CSRStatus.AVAILABLE
    ).count()
    return {
        "id": queue.pk,
        "slug": queue.slug,
        "name": queue.name,
        "waiting": summary["n"],
        "longest_wait_seconds": int((now - oldest).total_seconds()) if oldest else 0,
        "csrs_available": available,
    }
