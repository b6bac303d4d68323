"""Plumbing shared by the portal's WebSocket consumers.

Channels (4.2+) hops to Django's one "thread-sensitive" sync thread before every
message a consumer handles, to close stale database connections. In a process serving
hundreds of sockets that single thread becomes the queue every frame, layer event and
HTTP view waits in (it cost 30–60% of relay throughput here). Our consumers reach the
ORM only through `db()`, whose calls close stale connections themselves on the thread
that uses them (channels.db.DatabaseSyncToAsync), so the extra hop is dropped, and
those calls run on the shared thread pool instead of the single sync thread.
"""

from collections.abc import Callable
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer


def db(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run sync ORM code from a consumer on a pool thread (connections are per thread
    and cleaned up around each call)."""
    return database_sync_to_async(fn, thread_sensitive=False)


class PortalJsonConsumer(AsyncJsonWebsocketConsumer):
    """A JSON consumer whose handlers run without the per-message thread hop."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
