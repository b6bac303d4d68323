"""Plumbing shared by the portal's WebSocket consumers.

Channels (4.2+) hops to Django's one "thread-sensitive" sync thread before every
message a consumer handles, to close stale database connections. In a process serving
hundreds of sockets that single thread becomes the queue every frame, layer event and
HTTP view waits in (it cost 30–60% of relay throughput here). Our consumers reach the
ORM only through `db()`, whose calls close stale connections themselves on the thread
that uses them (channels.db.DatabaseSyncToAsync), so the extra hop is dropped, and
those calls run on the shared thread pool instead of the single sync thread.

A socket also works while the channel layer cannot reach Redis: the database is the
source of truth, so the consumer opens, replays from it and tells its client that live
updates are delayed (`live.delayed`); a background task subscribes again with a bounded
backoff, and once it has, the client gets `live.restored` and what it missed
(docs/websocket-protocol.md, "Live updates delayed").
"""

import asyncio
import logging
import random
from collections.abc import Callable, Iterable
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch

from config.realtime import LAYER_ERRORS

logger = logging.getLogger(__name__)

# Subscribing again after a failure: the first retry after about this long, doubling
# up to the cap, each wait drawn between half and all of its step.
LIVE_RETRY_FIRST_SECONDS = 0.5
LIVE_RETRY_MAX_SECONDS = 5.0

LIVE_DELAYED_MESSAGE = (
    "Live updates are delayed: the server is reconnecting. You can keep chatting; "
    "messages are saved and arrive shortly."
)
LIVE_RESTORED_MESSAGE = "Live updates are back."


def db(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run sync ORM code from a consumer on a pool thread (connections are per thread
    and cleaned up around each call)."""
    return database_sync_to_async(fn, thread_sensitive=False)


class PortalJsonConsumer(AsyncJsonWebsocketConsumer):
    """A JSON consumer whose handlers run without the per-message thread hop, and which
    routes each client frame by its `type` to the method named in `client_messages`.
    Bad frames get an `error` (bad_json / unknown_type); the socket stays open.

    Subscriptions go through `live_join` / `live_rejoin` / `live_leave`, which never
    raise when Redis is down: see the module docstring."""

    # Client message type → method name, e.g. {"heartbeat": "on_heartbeat"}.
    client_messages: dict[str, str] = {}

    # The layer groups this socket wants events from (live_join) and whether the layer
    # has it in all of them; channel_name is None until the layer could make one.
    live_groups: list[str]
    live = True
    channel_name: str | None

    async def __call__(self, scope, receive, send) -> None:
        """channels' AsyncConsumer.__call__ (4.3), except that an unreachable channel layer
        neither stops the socket from opening (the pub/sub layer's new_channel
        subscribes in Redis) nor closes it later (the core layer's receive raises while
        Redis is down). A third source feeds the consumer's own events (live.delayed,
        live.restored) through dispatch, in order with everything else."""
        self.scope = scope
        self.base_send = send
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.channel_name = None
        self.live_groups = []
        self.live = True
        self._live_events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._live_ready = asyncio.Event()  # set while the layer may be read
        self._live_retry: asyncio.Task | None = None
        sources: list[Callable[[], Any]] = [receive, self._live_events.get]
        if self.channel_layer is not None:
            if await self._live_channel() is None:
                self._live_ready.set()
            sources.append(self._layer_receive)
        try:
            await await_many_dispatch(sources, self.dispatch)
        except StopConsumer:
            pass
        finally:
            if self._live_retry is not None:
                self._live_retry.cancel()

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

    # --- live events: subscribing, and carrying on while Redis is down ----------------
    async def live_join(self, groups: Iterable[str]) -> None:
        """Subscribe this socket to `groups`. When the layer cannot, the socket carries
        on without live events: its client is told `live.delayed` (after whatever the
        current handler sends) and a background task keeps trying."""
        self.live_groups += [group for group in groups if group not in self.live_groups]
        if self.live and (error := await self._live_subscribe()) is not None:
            self._live_lost(error)

    async def live_rejoin(self) -> None:
        """Subscribe again to every group (a Redis restart forgets the core layer's
        group members): a heartbeat's safety net. A failure is handled as in live_join."""
        if self.live and self.live_groups and (error := await self._live_subscribe()) is not None:
            self._live_lost(error)

    async def live_leave(self) -> None:
        """Unsubscribe from every group and stop retrying. Errors are ignored: Redis
        forgets a subscription whose connection it lost anyway."""
        if self._live_retry is not None:
            self._live_retry.cancel()
            self._live_retry = None
        self.live = True  # nothing wanted now: a later live_join tries afresh
        groups, self.live_groups = self.live_groups, []
        if self.channel_layer is None or self.channel_name is None:
            return
        for group in groups:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except LAYER_ERRORS as error:
                logger.info("Could not leave layer group %s: %s", group, error)

    async def live_catch_up(self) -> None:
        """Live events came back after a gap: send the client what it may have missed
        (each consumer knows what that is)."""

    async def live_delayed(self, event: dict[str, Any]) -> None:
        if self.live_groups and self.accepting_messages():
            await self.send_json({"type": "live.delayed", "message": LIVE_DELAYED_MESSAGE})

    async def live_restored(self, event: dict[str, Any]) -> None:
        if self.live_groups and self.accepting_messages():
            await self.send_json({"type": "live.restored", "message": LIVE_RESTORED_MESSAGE})
            await self.live_catch_up()

    async def _live_channel(self) -> Exception | None:
        """Get this socket's layer channel if it has none yet; the error if it could not."""
        if self.channel_name is None:
            try:
                self.channel_name = await self.channel_layer.new_channel()
            except LAYER_ERRORS as error:
                return error
        return None

    async def _live_subscribe(self) -> Exception | None:
        """Make sure the layer has this socket in all its groups; the error if it could
        not."""
        if self.channel_layer is None:
            return None
        if (error := await self._live_channel()) is not None:
            return error
        try:
            for group in self.live_groups:
                await self.channel_layer.group_add(group, self.channel_name)
        except LAYER_ERRORS as error:
            return error
        self._live_ready.set()
        return None

    def _live_lost(self, error: Exception) -> None:
        """Live events stopped: say so once, stop reading the layer and retry."""
        self._live_ready.clear()
        if not self.live:
            return
        logger.info("Channel layer unreachable, live events delayed: %r", error)
        self.live = False
        self._live_events.put_nowait({"type": "live.delayed"})
        self._live_retry = asyncio.ensure_future(self._live_retry_loop())

    async def _live_retry_loop(self) -> None:
        step = LIVE_RETRY_FIRST_SECONDS
        while True:
            await asyncio.sleep(step * random.uniform(0.5, 1.0))  # noqa: S311 - jitter
            if await self._live_subscribe() is None:
                break
            step = min(step * 2, LIVE_RETRY_MAX_SECONDS)
        logger.info("Channel layer reachable again, live events restored")
        self.live = True
        self._live_retry = None
        self._live_ready.set()
        self._live_events.put_nowait({"type": "live.restored"})

    async def _layer_receive(self) -> dict[str, Any]:
        """The next event from the layer; waits out an outage instead of raising."""
        while True:
            await self._live_ready.wait()
            try:
                return await self.channel_layer.receive(self.channel_name)
            except LAYER_ERRORS as error:
                self._live_lost(error)
