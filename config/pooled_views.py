"""Sync views that run on the shared thread pool instead of Django's one sync thread.

Under ASGI, Django runs every sync view of a process on one thread (asgiref's
"thread-sensitive" executor), one request after another. A bot API request spends most
of its time waiting for PostgreSQL and Redis, so a daphne under a burst of escalations
queued them behind each other: at 50 escalations/s the POSTs waited seconds while the
process was mostly idle in those waits (docs/routing.md). A pooled view runs on the
pool that the consumers' database calls use (ASGI_THREADS), so requests overlap their
waits.

Only views that keep nothing bound to a thread may be pooled. Each call takes a
database connection for itself and gives it back afterwards (channels.db closes stale
connections around the call; with the connection pool, closing returns it).
"""

import functools
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponseBase

from config.sockets import db


def pooled_view(view: Callable[..., HttpResponseBase]) -> Callable[..., Any]:
    """An async view that runs the sync `view` on the thread pool under ASGI.

    Outside ASGI (the test client, WSGI) the request stays on its own thread, with the
    connection and transaction it started there. The wrapper carries the view's
    attributes (DRF's `cls`, `initkwargs`, `csrf_exempt`), which the CSRF middleware
    and the OpenAPI generator read."""
    pooled_call = db(view)
    same_thread_call = sync_to_async(view, thread_sensitive=True)

    async def pooled(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        call = pooled_call if isinstance(request, ASGIRequest) else same_thread_call
        return await call(request, *args, **kwargs)

    return functools.update_wrapper(pooled, view)
