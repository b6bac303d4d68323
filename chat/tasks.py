"""Celery entry points of the chat app: each loads ids and calls one service."""

from celery import shared_task

from chat import webhooks


@shared_task(ignore_result=True)
def webhook_deliver(delivery_id: int) -> None:
    """One attempt at a webhook delivery; the service queues the retry or the next one."""
    webhooks.delivery_attempt(delivery_id=delivery_id)


@shared_task(ignore_result=True, expires=120)
def webhook_requeue_overdue() -> None:
    """Beat runs this every minute or so: pending deliveries whose task was lost are
    queued again."""
    webhooks.deliveries_requeue_overdue()
