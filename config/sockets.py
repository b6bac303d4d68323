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
    """A JSON consumer whose handlers run without the per-message thread hop, and which
    routes each client frame by its `type` to the method named in `client_messages`.
    Bad frames get an `error` (bad_json / unknown_type); the socket stays open."""

    # Client message type → method name, e.g. {"heartbeat": "on_heartbeat"}.
    client_messages: dict[str, str] = {}

    def accepting_messages(self) -> bool:
        """False while the socket is being closed: client frames are then ignored."""
        return True

    async def receive(self, text_data: str | None = None, bytes_data=None, **kwargs) -> None:
        if text_data is None:
            await self.send_error("bad_json", "Send JSON text frames, not binary ones.")
            return
        try:
            content = await self.decode_json(text_data)
        except (ValueError, RecursionError):
            await self.send_error("bad_json", "The message is not valid JSON.")
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs) -> None:
        if not self.accepting_messages():
            return
        if not isinstance(content, dict):
            await self.send_error("bad_json", 'Send a JSON object with a "type" field.')
            return
        message_type = content.get("type")
        handler = self.client_messages.get(message_type) if isinstance(message_type, str) else None
        if handler is None:
            known = ", ".join(sorted(self.client_messages))
            await self.send_error(
                "unknown_type", f"Unknown message type {message_type!r}; expected one of: {known}."
            )
            return
        await getattr(self, handler)(content)

    async def send_error(self, code: str, message: str, **extra: Any) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, **extra})

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
