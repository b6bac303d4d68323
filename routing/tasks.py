"""Celery entry points of the routing engine: each takes ids and calls one service."""

from celery import shared_task

from routing import events
from routing.services import answers, engine, sweep


@shared_task(ignore_result=True)
def route_queue(queue_id: int) -> None:
    """Queued by a routing request: one run routes everything the queue can."""
    engine.route_queue_run(queue_id=queue_id)


@shared_task(ignore_result=True)
def offers_expire(offer_ids: list[int]) -> None:
    """The expiry timer of offers made together, queued with their timeout as countdown:
    those still unanswered expire."""
    answers.offers_expire(offer_ids=offer_ids)


@shared_task(ignore_result=True)
def queue_state_publish(queue_id: int) -> None:
    events.queue_state_publish(queue_id=queue_id)


@shared_task(ignore_result=True, expires=10)
def routing_sweep() -> None:
    """Beat runs this every few seconds: presence, offers whose timer was lost, chats
    whose routing request was lost, queue counts."""
    sweep.routing_sweep()
