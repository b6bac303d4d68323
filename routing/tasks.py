"""Celery entry points of the routing engine: each takes ids and calls one service."""

from celery import shared_task

from routing import events
from routing.services import answers, engine, sweep, waits, wrapups


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
def reoffer_due(queue_id: int) -> None:
    """Queued when a chat every free CSR passed on ends its cool-down: route the queue,
    which offers the chat to them again."""
    waits.reoffer_due(queue_id=queue_id)


@shared_task(ignore_result=True)
def long_waits_check(queue_id: int) -> None:
    """The queue's long-wait timer, due when its next customer has waited the maximum:
    offer the choice to those due it, and queue the next timer."""
    waits.long_waits_check(queue_id=queue_id)


@shared_task(ignore_result=True)
def wrapup_expire(wrapup_id: int) -> None:
    """A wrap-up's timer, queued with its time limit as countdown: released if still open."""
    wrapups.wrapup_expire(wrapup_id=wrapup_id)


@shared_task(ignore_result=True)
def queue_state_publish(queue_id: int) -> None:
    events.queue_state_publish(queue_id=queue_id)


@shared_task(ignore_result=True, expires=10)
def routing_sweep() -> None:
    """Beat runs this every few seconds: presence, offers whose timer was lost, chats
    whose routing request was lost, queue counts."""
    sweep.routing_sweep()
