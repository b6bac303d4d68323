"""Reads of queues and intent rules."""

from django.core.exceptions import ValidationError

from chat.models import Channel
from routing.models import IntentRule, Queue


def queue_for_escalation(*, channel: Channel, queue_slug: str | None, intent: str) -> Queue:
    """The queue an escalation goes to.

    An explicit queue slug wins (unknown or inactive: a ValidationError on `queue`);
    otherwise the intent rule matching the intent without regard to case, if its queue is
    active; otherwise the channel's default queue, if active; otherwise a ValidationError
    that says how to fix it.
    """
    if queue_slug:
        queue = Queue.objects.filter(slug=queue_slug).first()
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

    if intent:
        rule = (
            IntentRule.objects.select_related("queue")
            .filter(intent__iexact=intent, queue__active=True)
            .first()
        )
        if rule is not None:
            return rule.queue

    default = channel.default_queue
    if default is not None and default.active:
        return default

    intent_hint = f"add an intent rule for '{intent}'" if intent else "send an intent with a rule"
    raise ValidationError(
        f"No queue for this escalation: name a queue, {intent_hint}, or give channel "
        f"'{channel.slug}' a default queue.",
        code="no_queue",
    )
