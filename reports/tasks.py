"""Reports' Celery tasks: a closed chat's facts, and the scheduled rollup."""

from celery import shared_task

from reports.services.rollup import facts_refresh, facts_rollup_recent


@shared_task(name="reports.tasks.chat_facts_refresh", ignore_result=True)
def chat_facts_refresh(interaction_id: int) -> None:
    facts_refresh(interaction_ids=[interaction_id])


@shared_task(name="reports.tasks.facts_rollup", ignore_result=True)
def facts_rollup() -> None:
    facts_rollup_recent()
