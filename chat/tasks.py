"""Celery entry points of the chat app: each loads ids and calls one service."""

from celery import shared_task
from celery.signals import worker_process_init

from chat import sentiment, webhooks
from chat.services import retention
from chat.services import sentiment as scoring


@shared_task(ignore_result=True)
def webhook_deliver(delivery_id: int) -> None:
    """One attempt at a webhook delivery; the service queues the retry or the next one."""
    webhooks.delivery_attempt(delivery_id=delivery_id)


@shared_task(ignore_result=True, expires=120)
def webhook_requeue_overdue() -> None:
    """Beat runs this every minute or so: pending deliveries whose task was lost are
    queued again."""
    webhooks.deliveries_requeue_overdue()


@shared_task(ignore_result=True)
def sentiment_score_pending() -> list[int]:
    """Queued when a customer message commits and no run waits: score every chat with
    customer messages not scored yet. Returns their ids (for tests and logs)."""
    return scoring.sentiment_score_pending()


@shared_task(ignore_result=True)
def interaction_sentiment_score(interaction_id: int) -> None:
    """Score one chat's latest customer messages: used when the cache is down."""
    scoring.interaction_sentiment_update(interaction_id=interaction_id)


@shared_task(ignore_result=True)
def retention_purge() -> None:
    """Beat runs this daily when PORTAL_RETENTION_DAYS is set: the retention purge,
    skipped while another one runs."""
    retention.retention_purge_scheduled()


@worker_process_init.connect
def _sentiment_lexicons_load(**kwargs) -> None:
    """Each worker process loads the sentiment lexicons as it starts, so the first
    customer message is not the one that waits for them."""
    sentiment.warm_up()
