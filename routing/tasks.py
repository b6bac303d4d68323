"""Celery tasks of the routing app: thin entry points that call services."""

from celery import shared_task

from routing.services import interaction_route


@shared_task(ignore_result=True)
def route_interaction(interaction_id: int) -> None:
    """Route one interaction; queued after the escalation that created it commits."""
    interaction_route(interaction_id=interaction_id)
