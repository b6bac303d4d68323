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

Every frame is checked before it is handled: its shape (a JSON object with a known
`type`), its strings (no NUL, no unpaired surrogate: the database cannot store them and
the socket would die in the attempt), the socket's frame budget and, on a portal user's
socket, that the session it was opened with is still valid. A socket whose session ends
(logout, password change, deactivation) is closed with 4401 (docs/websocket-protocol.md,
"Sessions" and "Rate limits").
"""

import asyncio
import hashlib
import logging
import math
import random
import re
import time
from collections.abc import Callable, Iterable
from importlib import import_module
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from config.ratelimit import TokenBucket
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

# The largest id a database row can have (BigAutoField): a bigger number sent by a
# client names nothing, and the database would refuse the query.
DB_ID_MAX = 2**63 - 1

# Every socket may send at most FRAME_BURST frames per FRAME_WINDOW_SECONDS, whatever
# their type (a bucket refilled evenly); some types have tighter limits of their own.
FRAME_BURST = 60
FRAME_WINDOW_SECONDS = 10.0
# Clients send a heartbeat every 10 s: a few more per socket are tolerated.
HEARTBEAT_BURST = 5
HEARTBEAT_WINDOW_SECONDS = 10.0

# Strings the database cannot store: NUL (PostgreSQL refuses it in text) and unpaired
# UTF-16 surrogates (not encodable as UTF-8). JSON can only carry them as \u escapes.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# A portal user's socket re-checks its session at most this often (before a frame).
SESSION_CHECK_SECONDS = 5.0
# The layer event that ends a user's sockets (chat.events.user_sockets_end), and the
# close code they get: the same as a socket opened without a valid session.
SESSION_REVOKED_HANDLER = "session.revoked"
CLOSE_SESSION_ENDED = 4401
SESSION_EXPIRED_MESSAGE = "Your session has ended: log in again."


def db(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run sync ORM code from a consumer on a pool thread (connections are per thread
    and cleaned up around each call)."""
    return database_sync_to_async(fn, thread_sensitive=False)


def db_id_valid(value: Any) -> bool:
    """A client-sent id that could name a row: an integer from 1 to DB_ID_MAX (not a
    bool, a float or a string of digits)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= DB_ID_MAX


def storable(value: str) -> bool:
    """The database can store this string (no NUL, no unpaired surrogate)."""
    return _UNSTORABLE.search(value) is None


def _all_storable(content: Any) -> bool:
    """Every string in a decoded frame, keys included, is storable."""
    pending = [content]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if not storable(value):
                return False
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return True


def session_digest(session_key: str | None) -> str:
    """What stands for a session key in layer events (the key itself never travels)."""
    return hashlib.sha256(f"portal-socket-session:{session_key}".encode()).hexdigest()[:32]


def session_user_pk(session_key: str | None) -> Any:
    """The pk of the user this session logs in now, by Django's own rules (the session
    exists and has not expired, the user exists and is active, the password has not
    changed since the login), or None. Sync: run it with db()."""
    if not session_key:
        return None
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = auth.get_user(request)
    return user.pk if user.is_authenticated else None


class HandshakeRefused(AsyncWebsocketConsumer):
    """The last WebSocket route, for every path no consumer serves: the handshake is
    refused at once (HTTP 403). Without it the router raises, which reaches the client
    as an HTTP 500."""

    async def connect(self) -> None:
        await self.close()


class PortalJsonConsumer(AsyncJsonWebsocketConsumer):
    """A JSON consumer whose handlers run without the per-message thread hop, and which
    routes each client frame by its `type` to the method named in `client_messages`.
    Bad frames get an `error` (bad_json / unknown_type / bad_text / rate_limited); the
    socket stays open.

    Subscriptions go through `live_join` / `live_rejoin` / `live_leave`, which never
    raise when Redis is down: see the module docstring. A portal user's socket calls
    `session_bind` once it has let the user in; from then on its session is checked."""

    # Client message type → method name, e.g. {"heartbeat": "on_heartbeat"}.
    client_messages: dict[str, str] = {}
    # Client message type → (burst, seconds): a tighter per-socket limit for that type.
    frame_limits: dict[str, tuple[int, float]] = {
        "heartbeat": (HEARTBEAT_BURST, HEARTBEAT_WINDOW_SECONDS)
    }

    # The portal user's session this socket was opened with (None on customer sockets),
    # when it was last found valid, and whether the socket was closed for its end.
    session_key: str | None = None
    session_user_id: Any = None
    session_checked_at = -math.inf
    session_gone = False

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
        self.frame_bucket = TokenBucket(capacity=FRAME_BURST, per_seconds=FRAME_WINDOW_SECONDS)
        self.type_buckets = {
            kind: TokenBucket(capacity=burst, per_seconds=seconds)
            for kind, (burst, seconds) in self.frame_limits.items()
        }
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
        return not self.session_gone

    async def receive(self, text_data: str | None = None, bytes_data=None, **kwargs) -> None:
        if text_data is None:
            await self.send_error("bad_json", "Send JSON text frames, not binary ones.")
            return
        try:
            content = await self.decode_json(text_data)
        except (ValueError, RecursionError):
            await self.send_error("bad_json", "The message is not valid JSON.")
            return
        # Only a \u escape can carry an unstorable character: other frames are not walked.
        await self.receive_json(content, text_ok="\\u" not in text_data or _all_storable(content))

    async def receive_json(self, content: Any, text_ok: bool = True, **kwargs) -> None:
        if not self.accepting_messages():
            return
        if not isinstance(content, dict):
            await self.send_error("bad_json", 'Send a JSON object with a "type" field.')
            return
        message_type = content.get("type")
        handler = self.client_messages.get(message_type) if isinstance(message_type, str) else None
        if handler is None:
            known = ", ".join(sorted(self.client_messages))
            shown = repr(message_type)[:50]
            await self.send_error(
                "unknown_type", f"Unknown message type {shown}; expected one of: {known}."
            )
            return
        if not text_ok:
            await self.send_error(
                "bad_text",
                "The message holds a NUL character (\\u0000) or an unpaired surrogate "
                "(\\ud800-\\udfff), which cannot be stored: send valid Unicode text.",
                **self.error_context(content),
            )
            return
        if not await self.frame_allowed(content["type"], content):
            return
        if self.session_user_id is not None and not await self.session_still_valid():
            return
        await getattr(self, handler)(content)

    def error_context(self, content: dict[str, Any]) -> dict[str, Any]:
        """Fields of a refused frame that its error frame echoes (e.g. a send's id)."""
        return {}

    async def frame_allowed(self, message_type: str, content: dict[str, Any]) -> bool:
        """Take the frame from the socket's budgets; refuse it with rate_limited when one
        is spent."""
        limits = [(self.frame_bucket, FRAME_BURST, FRAME_WINDOW_SECONDS, "messages")]
        if message_type in self.type_buckets:
            burst, seconds = self.frame_limits[message_type]
            limits.append((self.type_buckets[message_type], burst, seconds, message_type))
        for bucket, burst, seconds, what in limits:
            wait = bucket.take()
            if wait:
                await self.send_error(
                    "rate_limited",
                    f"Too many {what}: at most {burst} per {seconds:g} seconds on one connection.",
                    retry_after=math.ceil(wait),
                    **self.error_context(content),
                )
                return False
        return True

    # --- sessions: a portal user's socket lives no longer than their session ----------
    def session_bind(self, user: AbstractBaseUser) -> None:
        """Tie this socket to the session it was opened with (just checked by the
        handshake's AuthMiddleware): it is checked again before frames, and the socket
        closes when chat.events.user_sockets_end says the session ended."""
        session = self.scope.get("session")
        self.session_key = getattr(session, "session_key", None)
        self.session_user_id = user.pk
        self.session_checked_at = time.monotonic()

    async def session_still_valid(self) -> bool:
        """Check the session again when the last check is older than
        SESSION_CHECK_SECONDS (the layer event closes the socket at once; this is the
        backstop for an event that was lost, or a change made without signals). An
        ended session closes the socket."""
        now = time.monotonic()
        if now - self.session_checked_at < SESSION_CHECK_SECONDS:
            return True
        if await db(session_user_pk)(self.session_key) == self.session_user_id:
            self.session_checked_at = now
            return True
        await self.session_end(SESSION_EXPIRED_MESSAGE)
        return False

    async def session_revoked(self, event: dict[str, Any]) -> None:
        """`session.revoked` on the user's own group: this user's sessions ended, or (when
        it names one) the session this socket may have been opened with."""
        payload = event["payload"]
        if self.session_user_id is None or payload.get("user_id") != self.session_user_id:
            return
        digest = payload.get("session")
        if digest is not None and digest != session_digest(self.session_key):
            return
        await self.session_end(payload["message"])

    async def session_end(self, message: str) -> None:
        """Say why, close with 4401 (the client goes to the login page) and handle
        nothing more."""
        if self.session_gone:
            return
        self.session_gone = True
        await self.live_leave()
        await self.send_error("session_ended", message)
        await self.close(code=CLOSE_SESSION_ENDED)

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

    async def csr_push(self, event: dict[str, Any]) -> None:
        """`csr.push` on a CSR's own group: a frame an app above pushes to the CSR's panel
        of one chat (chat.consumers.CsrChatConsumer forwards it); other sockets on the
        group ignore it."""

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
