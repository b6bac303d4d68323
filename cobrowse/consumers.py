"""The co-browse sockets of one session: /ws/cobrowse/<session id>/customer/?token=… for
the customer's page (consent, the rrweb event stream, End) and /ws/cobrowse/<session
id>/viewer/ for the CSR who started it (views and points) and CSR managers (view only).

Protocol: docs/websocket-protocol.md, "Co-browse sockets". The page is relayed, never
stored in the database: each customer frame is counted against the session's rate and
kept in Redis (cobrowse.stream: the last full snapshot and the frames since) in one
round trip, then sent to the viewers' group as the text it arrived in. A viewer that
connects gets what Redis holds at once (`catchup`), then the live frames, numbered so
that it can drop the ones the catch-up already held and notice a gap.
"""

import asyncio
import logging
import math
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from chat.selectors.interactions import customer_token_valid
from cobrowse import events, selectors, services, stream
from cobrowse.conf import cobrowse_setting
from cobrowse.errors import CobrowseError
from cobrowse.models import OPEN_STATUSES, CobrowseSession, EndedBy, SessionStatus
from config.ratelimit import TokenBucket
from config.sockets import PortalJsonConsumer, db, db_id_valid

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_ENDED = 4410

# rrweb's event types (rrweb's EventType): a full snapshot and the meta event before it.
RRWEB_FULL_SNAPSHOT = 2
CLOSED = frozenset(status for status in SessionStatus.values if status not in OPEN_STATUSES)
# The panel-closed checks waiting in this process (kept so they are not collected).
_viewer_checks: set[asyncio.Future] = set()
# How often a socket looks at its session's timers (idle page, unanswered request).
TIMER_CHECK_SECONDS = 5.0


def _session_id(scope: dict[str, Any]) -> int:
    return scope["url_route"]["kwargs"]["session_id"]


def _limits() -> dict[str, int]:
    return {
        "max_snapshot_bytes": cobrowse_setting("MAX_SNAPSHOT_BYTES"),
        "max_frame_bytes": cobrowse_setting("MAX_FRAME_BYTES"),
        "frames_per_10_seconds": cobrowse_setting("FRAMES_PER_10_SECONDS"),
    }


def _hello(session: CobrowseSession, role: str) -> dict[str, Any]:
    state = selectors.session_state(session) or {}
    return {"type": "hello", "role": role, **state, "limits": _limits()}


def _ended(session: CobrowseSession) -> dict[str, Any]:
    return dict(events.control_payload(session, "This co-browse session has ended."))


@db
def _customer_session(session_id: int, token: str) -> CobrowseSession | None:
    """The session when the token opens its chat; None for anything else (an unknown
    session and a wrong token look the same)."""
    if not db_id_valid(session_id):
        return None
    session = selectors.session_get(session_id=session_id)
    if session is None or not customer_token_valid(
        interaction_id=session.interaction_id, token=token
    ):
        return None
    return session


@db
def _viewer_session(
    session_id: int, user: AbstractBaseUser
) -> tuple[CobrowseSession | None, str | None]:
    if not db_id_valid(session_id):
        return None, None
    session = selectors.session_get(session_id=session_id)
    if session is None:
        return None, None
    return session, selectors.session_viewer_role(session=session, user=user)


@db
def _session_status(session_id: int) -> str | None:
    return CobrowseSession.objects.filter(pk=session_id).values_list("status", flat=True).first()


def _call(fn, **kwargs: Any):
    """Run a co-browse service on a pool thread; a refusal comes back as (None, error)."""

    @db
    def run():
        try:
            return fn(**kwargs), None
        except CobrowseError as error:
            return None, error

    return run()


class CobrowseConsumer(PortalJsonConsumer):
    session_id: int
    session_status: str = ""
    timer: asyncio.Task | None = None

    async def refuse(self, code: int, error: str = "", message: str = "") -> None:
        """Accept, explain, close (a socket closed before accepting loses its code)."""
        await self.live_leave()
        await self.accept()
        if error:
            await self.send_error(error, message)
        await self.close(code=code)

    async def refuse_ended(self, session: CobrowseSession) -> None:
        await self.live_leave()
        await self.accept()
        await self.send_json(_ended(session))
        await self.close(code=CLOSE_ENDED)

    async def on_heartbeat(self, content: dict[str, Any]) -> None:
        await self.live_rejoin()
        await self.send_json({"type": "heartbeat.ack"})

    async def cobrowse_control(self, event: dict[str, Any]) -> None:
        """The session's state changed: forward it; once it is over, close."""
        payload = event["payload"]
        if self.session_status in ("", *CLOSED):
            return  # refused, or closing already
        self.session_status = payload["status"]
        await self.send_json(payload)
        if payload["status"] in CLOSED:
            await self.live_leave()
            await self.close(code=CLOSE_ENDED)

    async def disconnect(self, code: int) -> None:
        if self.timer is not None:
            self.timer.cancel()
        await self.live_leave()


class CustomerCobrowseConsumer(CobrowseConsumer):
    """The customer's page: answers the request, then streams rrweb events until the
    session ends."""

    client_messages = {
        "consent": "on_consent",
        "events": "on_events",
        "too_large": "on_too_large",
        "end": "on_end",
        "heartbeat": "on_heartbeat",
    }
    raw: str = ""
    # A frame was refused (rate, size): incremental frames are dropped until the page
    # sends a full snapshot again, which it was asked for.
    resync = False
    last_frame_at = 0.0

    async def connect(self) -> None:
        self.session_id = _session_id(self.scope)
        params = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        token = (params.get("token") or [""])[0]
        await self.live_join([events.customer_group(self.session_id)])
        session = await _customer_session(self.session_id, token)
        if session is None:
            await self.refuse(CLOSE_FORBIDDEN, "not_party", "This co-browse link is not valid.")
            return
        if not session.is_open:
            await self.refuse_ended(session)
            return
        self.interaction_id = session.interaction_id
        self.session_status = session.status
        self.last_frame_at = time.monotonic()
        await self.accept()
        await self.send_json(_hello(session, "customer"))
        if session.status == SessionStatus.ACTIVE:
            await stream.touch(self.session_id)
        self.timer = asyncio.ensure_future(self._timers())

    async def receive(self, text_data: str | None = None, bytes_data=None, **kwargs) -> None:
        self.raw = text_data or ""
        await super().receive(text_data=text_data, bytes_data=bytes_data, **kwargs)

    async def frame_allowed(self, message_type: str, content: dict[str, Any]) -> bool:
        # Event frames are metered per session in Redis (on_events), not per socket.
        if message_type == "events":
            return True
        return await super().frame_allowed(message_type, content)

    async def on_consent(self, content: dict[str, Any]) -> None:
        allow = content.get("allow")
        if not isinstance(allow, bool):
            await self.send_error("bad_json", "consent needs allow, true or false.")
            return
        session, error = await _call(
            services.cobrowse_answer,
            session_id=self.session_id,
            interaction_id=self.interaction_id,
            allow=allow,
        )
        if error is not None:
            await self.send_error(error.code, error.message)
            return
        self.session_status = session.status
        if session.status == SessionStatus.ACTIVE:
            self.last_frame_at = time.monotonic()
            await stream.touch(self.session_id)
            await self.send_json({"type": "started", "session_id": self.session_id})

    async def on_events(self, content: dict[str, Any]) -> None:
        if self.session_status != SessionStatus.ACTIVE:
            await self.send_error("not_active", "Nothing is shared before you allow co-browse.")
            return
        batch = content.get("events")
        if not isinstance(batch, list) or not batch or not all(isinstance(e, dict) for e in batch):
            await self.send_error("bad_json", "events needs events, a list of rrweb events.")
            return
        size = len(self.raw.encode())
        snapshot = any(event.get("type") == RRWEB_FULL_SNAPSHOT for event in batch)
        if snapshot:
            limit = cobrowse_setting("MAX_SNAPSHOT_BYTES")
            if size > limit:
                await db(services.session_too_large)(
                    session_id=self.session_id, size=size, limit=limit
                )
                return
        elif self.resync:
            return  # dropped until the full snapshot asked for arrives
        elif size > cobrowse_setting("MAX_FRAME_BYTES"):
            await self.ask_snapshot(
                "frame_too_large",
                f"An event frame may be at most {cobrowse_setting('MAX_FRAME_BYTES'):,} bytes.",
            )
            return
        appended = await stream.frame_append(
            self.session_id,
            self.raw,
            snapshot=snapshot,
            rate_limit=cobrowse_setting("FRAMES_PER_10_SECONDS"),
        )
        if not appended.allowed:
            await self.ask_snapshot(
                "rate_limited",
                f"Too many event frames: at most {cobrowse_setting('FRAMES_PER_10_SECONDS')} "
                f"per {stream.RATE_WINDOW_SECONDS} seconds in a session.",
                retry_after=stream.RATE_WINDOW_SECONDS,
            )
            return
        self.resync = False
        self.last_frame_at = time.monotonic()
        await self.channel_layer.group_send(
            events.viewers_group(self.session_id),
            {
                "type": events.SESSION_EVENTS_HANDLER,
                "text": self.raw,
                "epoch": appended.epoch,
                "n": appended.n,
            },
        )
        if not snapshot and appended.backlog_bytes > cobrowse_setting("MAX_BACKLOG_BYTES"):
            # Viewers who connect now would replay a long history: start afresh.
            await self.send_json({"type": "snapshot.request"})

    async def ask_snapshot(self, code: str, message: str, **extra: Any) -> None:
        """Refuse the frame; the viewers' page is now behind, so the customer's page is
        asked for a full snapshot, and frames are dropped until it comes."""
        await self.send_error(code, message, **extra)
        self.resync = True
        await self.send_json({"type": "snapshot.request"})

    async def on_too_large(self, content: dict[str, Any]) -> None:
        """The page measured its own snapshot over the limit and did not send it."""
        size = content.get("bytes")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            size = 0
        await db(services.session_too_large)(
            session_id=self.session_id,
            size=size,
            limit=cobrowse_setting("MAX_SNAPSHOT_BYTES"),
        )

    async def on_end(self, content: dict[str, Any]) -> None:
        _, error = await _call(
            services.cobrowse_end,
            session_id=self.session_id,
            interaction_id=self.interaction_id,
            ended_by=EndedBy.CUSTOMER,
            reason="customer",
        )
        if error is not None:
            await self.send_error(error.code, error.message)

    async def cobrowse_pointer(self, event: dict[str, Any]) -> None:
        await self.send_json(event["payload"])

    async def _timers(self) -> None:
        """End the session when this page has sent nothing for IDLE_SECONDS."""
        while True:
            await asyncio.sleep(TIMER_CHECK_SECONDS)
            if self.session_status != SessionStatus.ACTIVE:
                continue
            if time.monotonic() - self.last_frame_at >= cobrowse_setting("IDLE_SECONDS"):
                await db(services.session_idle_check)(session_id=self.session_id)


class ViewerCobrowseConsumer(CobrowseConsumer):
    """A CSR's viewer: the live page, and the pointer (the CSR who started the session
    only; CSR managers watch)."""

    client_messages = {
        "pointer": "on_pointer",
        "catchup": "on_catchup",
        "end": "on_end",
        "heartbeat": "on_heartbeat",
    }
    role: str | None = None
    user: AbstractBaseUser | None = None
    socket_id = ""

    async def connect(self) -> None:
        self.session_id = _session_id(self.scope)
        user: AbstractBaseUser | AnonymousUser | None = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.refuse(CLOSE_UNAUTHENTICATED)
            return
        self.user = user  # type: ignore[assignment]
        await self.live_join([events.viewers_group(self.session_id)])
        session, role = await _viewer_session(self.session_id, user)  # type: ignore[arg-type]
        if session is None or role is None:
            await self.refuse(
                CLOSE_FORBIDDEN, "not_party", "You may not view this co-browse session."
            )
            return
        if not session.is_open:
            await self.refuse_ended(session)
            return
        self.session_bind(user)  # type: ignore[arg-type]
        self.role = role
        self.session_status = session.status
        self.requested_at = session.requested_at
        self.socket_id = uuid.uuid4().hex
        self.pointer_bucket = TokenBucket(
            capacity=cobrowse_setting("POINTER_PER_SECOND"), per_seconds=1.0
        )
        await self.accept()
        if role == "csr":
            await stream.viewer_present(self.session_id, self.socket_id)
        await self.send_json(_hello(session, role))
        await self.send_catchup()
        self.timer = asyncio.ensure_future(self._timers())

    async def frame_allowed(self, message_type: str, content: dict[str, Any]) -> bool:
        # The pointer has a per-second budget of its own (on_pointer).
        if message_type == "pointer":
            return True
        return await super().frame_allowed(message_type, content)

    async def send_catchup(self) -> None:
        """The last full snapshot and every frame since, in one message."""
        epoch, frames = await stream.frames_read(self.session_id)
        await self.send(
            text_data=f'{{"type":"catchup","epoch":{epoch},"frames":[{",".join(frames)}]}}'
        )

    async def on_catchup(self, content: dict[str, Any]) -> None:
        """The viewer saw a gap in the frame numbers: send the whole page again."""
        await self.send_catchup()

    async def on_heartbeat(self, content: dict[str, Any]) -> None:
        if self.role == "csr":
            await stream.viewer_present(self.session_id, self.socket_id)
        await super().on_heartbeat(content)

    async def on_pointer(self, content: dict[str, Any]) -> None:
        """Where the CSR points, in the customer's page coordinates; `highlight` marks a
        spot for a moment. View and point only: nothing here can click or type."""
        if self.role != "csr":
            await self.send_error("read_only", "You are watching this session read-only.")
            return
        if self.session_status != SessionStatus.ACTIVE:
            return
        x, y = content.get("x"), content.get("y")
        numbers = all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in (x, y)
        )
        if not numbers or not (0 <= x <= 100_000 and 0 <= y <= 1_000_000):  # type: ignore[operator]
            await self.send_error("bad_json", "pointer needs x and y, page coordinates ≥ 0.")
            return
        if self.pointer_bucket.take():
            return  # over the budget: a pointer move is dropped, not queued
        payload = {
            "type": "pointer",
            "x": round(float(x), 1),  # type: ignore[arg-type]
            "y": round(float(y), 1),  # type: ignore[arg-type]
            "highlight": content.get("highlight") is True,
            "visible": content.get("visible") is not False,
        }
        await self.channel_layer.group_send(
            events.customer_group(self.session_id),
            {"type": events.SESSION_POINTER_HANDLER, "payload": payload},
        )

    async def on_end(self, content: dict[str, Any]) -> None:
        if self.role != "csr":
            await self.send_error("read_only", "You are watching this session read-only.")
            return
        reason = "panel_closed" if content.get("reason") == "panel_closed" else "csr"
        _, error = await _call(
            services.cobrowse_end,
            session_id=self.session_id,
            ended_by=EndedBy.CSR if reason == "csr" else EndedBy.SYSTEM,
            reason=reason,
            user=self.user,
        )
        if error is not None:
            await self.send_error(error.code, error.message)

    async def cobrowse_events(self, event: dict[str, Any]) -> None:
        """A customer frame, forwarded as it arrived, with its place in the stream."""
        await self.send(
            text_data=f'{{"type":"frame","epoch":{event["epoch"]},"n":{event["n"]},'
            f'"frame":{event["text"]}}}'
        )

    async def _timers(self) -> None:
        """While the request waits, lapse it when the consent timeout is due; the
        state change comes back as `cobrowse.state` on the chat socket, and as `ended`
        here."""
        if self.role != "csr":
            return
        while self.session_status == SessionStatus.REQUESTED:
            await asyncio.sleep(TIMER_CHECK_SECONDS)
            status = await _session_status(self.session_id)
            if status != SessionStatus.REQUESTED:
                self.session_status = status or SessionStatus.ENDED
                return
            await db(services.cobrowse_expire)(session_id=self.session_id)

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        if self.role == "csr" and self.socket_id:
            await stream.viewer_gone(self.session_id, self.socket_id)
            # The CSR may be reloading: after the grace, no viewer back means the panel
            # was closed. Runs in this process; beat's sweep is the backstop.
            check = asyncio.ensure_future(self._viewer_check_later())
            _viewer_checks.add(check)
            check.add_done_callback(_viewer_checks.discard)

    async def _viewer_check_later(self) -> None:
        await asyncio.sleep(cobrowse_setting("VIEWER_GRACE_SECONDS"))
        await db(services.session_viewer_check)(session_id=self.session_id)
