"""Celery entry points of the assist app (queued by name, config.tasks)."""

import threading
from typing import Any

from celery import shared_task
from celery.signals import worker_process_init
from django.db import connections

from assist import selectors, services


@shared_task(name="assist.tasks.suggestions_push", ignore_result=True)
def suggestions_push(interaction_id: int, seq: int) -> None:
    """Push one chat's suggestions for message `seq` (queued while Redis is down)."""
    services.suggestions_push(interaction_id=interaction_id, seq=seq)


@shared_task(name="assist.tasks.suggestions_push_pending", ignore_result=True)
def suggestions_push_pending() -> list[int]:
    """Queued when a customer message commits and no run waits: push the suggestions of
    every chat waiting for them. Returns their ids (for tests and logs)."""
    return services.suggestions_push_pending()


@worker_process_init.connect
def index_warm(**kwargs: Any) -> None:
    """Build the ranking index as a worker process starts (seconds for a large help
    centre), on a thread, so that the first suggestion does not pay for all of it."""
    threading.Thread(target=_index_build, daemon=True, name="assist-index").start()


def _index_build() -> None:
    try:
        selectors.assist_index()
    finally:
        connections.close_all()  # this thread's own connection
