"""Celery entry points of the cases app: each loads ids and calls one service."""

from celery import shared_task

from cases import webhooks


@shared_task(ignore_result=True)
def case_webhook_deliver(delivery_id: int) -> None:
    """One attempt at a case webhook delivery; the service queues the retry."""
    webhooks.case_delivery_attempt(delivery_id=delivery_id)


@shared_task(ignore_result=True, expires=120)
def case_webhook_requeue_overdue() -> None:
    """Beat runs this every minute or so: pending deliveries whose task was lost are
    queued again."""
    webhooks.case_deliveries_requeue_overdue()
