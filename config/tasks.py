"""Queueing the portal's Celery tasks: by the name they are registered under, once the
transaction that asked for them commits.

By name, so that a service never imports its app's task module, which imports the
services (each app's AppConfig.ready() registers its tasks). After commit and robust:
a broker that is down or slow never fails the change that asked for the task, whose
work waits in the database for the next sweep (docs/operations.md).
"""

from typing import Any

from celery import current_app

from config.oncommit import on_commit_robust


def task_enqueue(name: str, *args: Any, countdown: float | None = None) -> None:
    """Queue the task registered as `name` (e.g. "routing.tasks.route_queue") now, to run
    at once or `countdown` seconds from now (at once in eager mode, as in the tests)."""
    current_app.tasks[name].apply_async(args, countdown=countdown)


def task_enqueue_on_commit(name: str, *args: Any, countdown: float | None = None) -> None:
    """task_enqueue once the current transaction commits; a failure is logged, not raised."""
    on_commit_robust(task_enqueue, name, *args, countdown=countdown)
