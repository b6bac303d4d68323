"""Celery entry points of the routing engine: each loads ids and calls one service."""

from celery import shared_task

from routing import services
from routing.events import queue_state_publish


@shared_task(ignore_result=True)
def route_queue(queue_id: int) -> None:
    """Queued by services.routing_request: one run routes everything the queue can."""
    services.route_queue_run(queue_id=queue_id)


# Earlier releases queued these two; kept so tasks already in the broker still run.
@shared_task(ignore_result=True)
def route_interaction(interaction_id: int) -> None:
    services.interaction_route(interaction_id=interaction_id)


@shared_task(ignore_result=True)
def route_for_csr(user_id: int) -> None:
    services.route_for_csr(user_id=user_id)


@shared_task(ignore_result=True, expires=5)
def offers_expire() -> None:
    """Beat runs this every second: unattended offers expire on time."""
    services.offers_expire_overdue()


@shared_task(ignore_result=True)
def queue_state_publish_task(queue_id: int) -> None:
    queue_state_publish(queue_id=queue_id)


@shared_task(ignore_result=True, expires=10)
def routing_sweep() -> None:
    """Beat runs this every few seconds, so a lost task or a killed worker delays
    routing by one sweep at most."""
    services.routing_sweep()
