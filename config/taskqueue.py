"""Queueing a Celery task from a request's thread, without Celery's per-thread setup.

`task.delay()` builds a result backend and a reply-to id for every new thread it runs
on (both thread-local in Celery), and under ASGI every request has a thread of its own:
that doubled the cost of the tasks an escalation or an accept queues. The tasks queued
here ignore their results, so neither is needed. Eager mode (the tests' settings) runs
the task at once, as `delay()` would.
"""

from typing import Any

from celery import Task


class _Queued:
    """What send_task returns: only the id (an AsyncResult would build the backend)."""

    __slots__ = ("id", "ignored")

    def __init__(self, id: str, **kwargs: Any) -> None:
        self.id = id


def enqueue(task: Task, *args: Any, countdown: float | None = None) -> None:
    """Queue `task(*args)` on its default queue, to run at once or `countdown` seconds
    from now; its result is ignored."""
    app = task.app
    if app.conf.task_always_eager:
        task.apply_async(args)
        return
    app.send_task(
        task.name,
        args,
        countdown=countdown,
        ignore_result=True,
        reply_to=app.oid,
        result_cls=_Queued,
    )
