"""The case webhook: a case's creation and each status change POSTed to its case type's
back office, signed and retried like the connector webhooks (chat/webhooks.py's signing,
POST and backoff; docs/cases.md#the-case-webhook).

One CaseWebhookDelivery row per event, written in the change's own transaction; a Celery
task makes one attempt at a time under a lease, so a delivery is never POSTed twice at
once nor again once delivered; failures are retried after 2, 4, 8 … seconds up to the
connector webhooks' maximum number of attempts."""

import logging
import time
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from cases.locks import case_deliveries_for_update
from cases.models import Case, CaseWebhookDelivery
from chat.webhooks import (
    CLOCK_TOLERANCE,
    LEASE_MARGIN_SECONDS,
    MAX_ATTEMPTS,
    OVERDUE_GRACE,
    REQUEUE_BATCH,
    TIMEOUT_SECONDS,
    PostOutcome,
    backoff_seconds,
    payload_body,
    post,
    signed_headers,
)
from config.oncommit import on_commit_robust
from config.tasks import task_enqueue

logger = logging.getLogger(__name__)

Status = CaseWebhookDelivery.Status

EVENT_CASE_CREATED = "case.created"
EVENT_CASE_STATUS_CHANGED = "case.status_changed"
TASK = "cases.tasks.case_webhook_deliver"


def case_webhook_schedule(*, case: Case, event: str, payload: dict[str, Any]) -> None:
    """Record the webhook the change is due, in the change's transaction, when its case
    type has a webhook URL; a case type without a secret gets a failed delivery that says
    why, and nothing is sent."""
    case_type = case.case_type
    if not case_type.webhook_url:
        return
    delivery = CaseWebhookDelivery(case=case, event=event)
    delivery.payload = {"event": event, "case": payload, "delivery_id": str(delivery.delivery_id)}
    if not case_type.webhook_secret:
        delivery.status = Status.FAILED
        delivery.last_error = (
            f"Case type '{case_type.name}' has no webhook secret, so the back office could not "
            "verify the case: it was not sent."
        )
        delivery.save()
        logger.warning("Case webhook for %s not sent: no secret", case.reference)
        return
    delivery.next_attempt_at = timezone.now()
    delivery.save()
    on_commit_robust(task_enqueue, TASK, delivery.pk)


def case_delivery_attempt(*, delivery_id: int) -> PostOutcome | None:
    """One attempt at a pending, due delivery; None when nothing was sent."""
    with transaction.atomic():
        delivery = (
            case_deliveries_for_update()
            .select_related("case__case_type")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != Status.PENDING:
            return None
        now = timezone.now()
        if delivery.next_attempt_at and delivery.next_attempt_at > now + CLOCK_TOLERANCE:
            return None  # an attempt holds the lease, or a retry is queued for later
        case_type = delivery.case.case_type
        if not case_type.webhook_url or not case_type.webhook_secret:
            delivery.status = Status.FAILED
            delivery.last_error = "The case type no longer has a webhook URL and secret."
            delivery.next_attempt_at = None
            delivery.save()
            return None
        delivery.attempts += 1
        delivery.next_attempt_at = now + timedelta(seconds=TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS)
        delivery.save(update_fields=["attempts", "next_attempt_at"])
        attempt = delivery.attempts
        url, secret = case_type.webhook_url, case_type.webhook_secret
        body = payload_body(delivery.payload)  # type: ignore[arg-type]
    headers = signed_headers(
        secret=secret, body=body, delivery_id=str(delivery.delivery_id), now=time.time()
    )
    outcome = post(url=url, headers=headers, body=body)
    _record(delivery_id=delivery_id, attempt=attempt, outcome=outcome)
    return outcome


def _record(*, delivery_id: int, attempt: int, outcome: PostOutcome) -> None:
    with transaction.atomic():
        delivery = case_deliveries_for_update().get(pk=delivery_id)
        if delivery.status != Status.PENDING or delivery.attempts != attempt:
            return  # the lease ran out and a later attempt records
        now = timezone.now()
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error
        if outcome.ok:
            delivery.status = Status.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        elif attempt >= MAX_ATTEMPTS:
            delivery.status = Status.FAILED
            delivery.last_error = f"Gave up after {attempt} attempts. Last: {outcome.error}"
            delivery.next_attempt_at = None
            logger.warning("Case webhook %s failed: %s", delivery_id, outcome.error)
        else:
            delivery.next_attempt_at = now + timedelta(seconds=backoff_seconds(attempt=attempt))
            countdown = (delivery.next_attempt_at - now).total_seconds()
            on_commit_robust(task_enqueue, TASK, delivery.pk, countdown=countdown)
        delivery.save()


def case_deliveries_requeue_overdue(*, limit: int = REQUEUE_BATCH) -> int:
    """Queue an attempt for every pending delivery overdue by more than OVERDUE_GRACE (its
    task was lost with a broker or a worker). Returns how many."""
    overdue = list(
        CaseWebhookDelivery.objects.filter(
            status=Status.PENDING, next_attempt_at__lte=timezone.now() - OVERDUE_GRACE
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for delivery_id in overdue:
        task_enqueue(TASK, delivery_id)
    return len(overdue)
