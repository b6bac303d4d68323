"""The live chat sockets: /ws/customer/<id>/ for the customer's widget and /ws/chat/<id>/
for the handling CSR and for CSR managers watching read-only.

Protocol: docs/websocket-protocol.md, "Live chat sockets". The database is the source of
truth and the channel layer only a doorbell (channels-redis delivers at most once): each
socket replays what its client has not seen, then streams live events, reading from the
database any message the layer dropped, so the client gets every message once and in
order. While Redis is down a socket still opens and replays, and is told live updates
are delayed until config.sockets subscribes it again. The consumers check who is
connected and the shape of what arrives, and call one chat service per client message;
state changes and events belong to the services. They reach the ORM only through
config.sockets.db (no per-message thread hop); sends go through chat.group_commit, which
stores those of all the process's sockets in shared transactions.
"""

import asyncio
import math
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils import timezone

from chat import events, signals
from chat.errors import ChatError, ChatRateLimited
from chat.group_commit import limit_message, send_batcher
from chat.models import OPEN_INTERACTION_STATUSES as OPEN
from chat.models import CsatSource, Interaction, SenderKind
from chat.schemas import ChatRole
from chat.selectors import interactions as selectors
from chat.selectors.attachments import attachment_urls, party_for_role
from chat.selectors.messages import REPLAY_PAGE_SIZE, messages_after
from chat.selectors.satisfaction import satisfaction_pending
from chat.services.attachments import attachments_policy_payload
from chat.services.authentication import interaction_authenticate
from chat.services.interactions import interaction_end
from chat.services.messages import SendRequest, interaction_mark_read, interaction_typing
from chat.services.notes import note_add
from chat.services.satisfaction import satisfaction_answer
from chat.services.typing_preview import typing_preview_relay
from config.ratelimit import SharedLimit
from config.sockets import DB_ID_MAX, PortalJsonConsumer, db, db_id_valid, storable

# Close codes, sent after the handshake so that browsers see them; the same as
# /ws/agent/'s (docs/websocket-protocol.md).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
# The chat ended (or was abandoned) longer ago than the customer token's grace period.
CLOSE_GONE = 4410
# The party opened more sockets than CONNECT_BURST in the window: reconnect later.
CLOSE_TOO_MANY = 4429

# Per chat party (the customer of the interaction; one portal user in it), across all
# their sockets and every server process: at most SEND_BURST sends and RESUME_BURST
# resumes per clock-aligned window of this many seconds (counted in Redis).
SEND_BURST = 20
SEND_WINDOW_SECONDS = 10
RESUME_BURST = 5
RESUME_WINDOW_SECONDS = 10
# Each connect replays the chat: at most this many per party and window.
CONNECT_BURST = 10
CONNECT_WINDOW_SECONDS = 10
# Per socket: at most one `typing` with active=true published per this many seconds.
TYPING_INTERVAL_SECONDS = 2.0

SIDE = {ChatRole.CUSTOMER: SenderKind.CUSTOMER, ChatRole.CSR: SenderKind.CSR}
# Interaction events for the contact center only, never forwarded to the customer.
CONTACT_CENTER_ONLY = frozenset({"sentiment"})
# Interaction events for the customer only: their place in line, the long-wait choice.
# And the satisfaction survey.
CUSTOMER_ONLY = frozenset(
    {"queue.position", "wait.options", "wait.chosen", "csat.request", "csat.answered"}
)
# Per customer socket: the typing preview goes to the CSR at most once per this many
# seconds; the newest text of a burst follows when the interval is over.
TYPING_PREVIEW_INTERVAL_SECONDS = 0.25


def _query_int(params: dict[str, list[str]], name: str) -> int:
    """A non-negative integer query parameter; 0 when missing or malformed. Numbers of
    more digits than any sequence number can have count as DB_ID_MAX (Python will not
    even parse one of thousands of digits)."""
    value = (params.get(name) or ["0"])[0]
    if not (value.isascii() and value.isdigit()):
        return 0
    digits = value.lstrip("0") or "0"
    return int(digits) if len(digits) < len(str(DB_ID_MAX)) else DB_ID_MAX


def _seq(value: Any) -> int | None:
    """A sequence number sent by the client: a non-negative integer, else None."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _call(fn: Callable[..., Any], *, limit: SharedLimit | None = None, **kwargs: Any):
    """Run a chat service in a thread, after counting the event against `limit` (in the
    same thread: one hop); a refusal comes back as (None, error)."""

    @db
    def run():
        if limit is not None and (wait := limit.take()):
            return None, ChatRateLimited(limit_message(limit), retry_after=wait)
        try:
            return fn(**kwargs), None
        except ChatError as error:
            return None, error

    return run()


@db
def _stored_payloads(
    interaction_id: int, after_seq: int, until_seq: int | None
) -> list[dict[str, Any]]:
    return [
        dict(events.message_payload(message))
        for message in messages_after(
            interaction_id=interaction_id, after_seq=after_seq, until_seq=until_seq
        )
    ]


@db
def _csat_request(interaction_id: int) -> dict[str, Any] | None:
    """The survey's `csat.request` while the customer may still answer it, else None."""
    rating = satisfaction_pending(interaction_id=interaction_id)
    return None if rating is None else dict(events.csat_request_payload(rating=rating))


@db
def _customer_access(interaction_id: int, token: str) -> Interaction | tuple[int, ChatError]:
    """The interaction when the token opens it, else the close code and why."""
    # An unknown chat and a wrong token look the same: a token guesser learns nothing.
    # An id beyond any row's (≥ 2**63) is unknown; SQLite would fail on it.
    if not db_id_valid(interaction_id):
        return CLOSE_FORBIDDEN, ChatError("not_party", "This chat link is not valid.")
    if not selectors.customer_token_valid(interaction_id=interaction_id, token=token):
        return CLOSE_FORBIDDEN, ChatError("not_party", "This chat link is not valid.")
    interaction = selectors.chat_interaction_get(interaction_id=interaction_id)
    if interaction is None:
        return CLOSE_FORBIDDEN, ChatError("not_party", "This chat link is not valid.")
    if selectors.customer_grace_over(interaction=interaction):
        return CLOSE_GONE, ChatError(
            "chat_ended", "This chat has ended and can no longer be opened."
        )
    return interaction


@db
def _user_access(
    interaction_id: int, user: AbstractBaseUser
) -> tuple[Interaction | None, ChatRole | None]:
    if not db_id_valid(interaction_id):
        return None, None  # no row can have it
    interaction = selectors.chat_interaction_get(interaction_id=interaction_id)
    if interaction is None:
        return None, None
    return interaction, selectors.chat_role_for_user(interaction=interaction, user=user)


class ChatConsumer(PortalJsonConsumer):
    """One client of one interaction's chat. Subclasses decide who may connect."""

    # Client message type → method name.
    client_messages = {
        "send": "on_send",
        "resume": "on_resume",
        "typing": "on_typing",
        "read": "on_read",
        "heartbeat": "on_heartbeat",
        "end": "on_end",
    }

    interaction_id: int
    role: ChatRole | None = None
    user: AbstractBaseUser | None = None
    # The highest seq sent to this client: live messages at or below it are replays.
    last_seq = 0

    async def connect(self) -> None:
        self.interaction_id = self.scope["url_route"]["kwargs"]["interaction_id"]
        self.typing_published_at = -math.inf
        params = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        if not await self.precheck():
            return
        # Subscribe before reading anything the client is shown (its access, the hello
        # snapshot, the replay): whatever changes after the read arrives as an event,
        # and waits in the channel until the replay is done. If Redis is down the
        # socket opens all the same, and is told after the replay that live updates
        # are delayed.
        await self.live_join(self.groups_to_join())
        interaction = await self.authorize(params)
        if interaction is None:
            return
        # The party's allowances, shared by its sockets: the customer (any token of the
        # chat) or this portal user.
        party = "customer" if self.role == ChatRole.CUSTOMER else f"user{self.user.pk}"  # type: ignore[union-attr]
        key = f"{self.interaction_id}:{party}"
        self.send_limit = SharedLimit(
            f"ws-send:{key}", events=SEND_BURST, window_seconds=SEND_WINDOW_SECONDS, what="messages"
        )
        self.resume_limit = SharedLimit(
            f"ws-resume:{key}",
            events=RESUME_BURST,
            window_seconds=RESUME_WINDOW_SECONDS,
            what="resumes",
        )
        connects = SharedLimit(
            f"ws-connect:{key}",
            events=CONNECT_BURST,
            window_seconds=CONNECT_WINDOW_SECONDS,
            what="connections",
        )
        await self.accept()
        if wait := await db(connects.take)():
            await self.send_error("rate_limited", limit_message(connects), retry_after=wait)
            await self.close(code=CLOSE_TOO_MANY)
            return
        hello = events.hello_payload(interaction, self.role)  # type: ignore[arg-type]
        hello["attachments"] = await db(attachments_policy_payload)(interaction)
        await self.send_json(hello)
        await self.replay(
            after_seq=_query_int(params, "last_seq"), server_last_seq=interaction.last_seq
        )
        await self.after_replay(interaction)

    async def after_replay(self, interaction: Interaction) -> None:
        """What a client gets after the replay on connect, besides the messages."""

    async def precheck(self) -> bool:
        """Refusals that need no database (before any group is joined)."""
        return True

    async def authorize(self, params: dict[str, list[str]]) -> Interaction | None:
        """Set self.role and return the interaction, or refuse the socket and return None."""
        raise NotImplementedError

    def groups_to_join(self) -> list[str]:
        return [events.interaction_group(self.interaction_id)]

    async def refuse(self, close_code: int, error: ChatError | None = None) -> None:
        """Accept, explain, close: a socket closed before accepting reaches the browser
        as HTTP 403 with code 1006, and the code would be lost."""
        self.role = None  # handlers send nothing more
        await self.live_leave()
        await self.accept()
        if error is not None:
            await self.send_error(error.code, error.message)
        await self.close(code=close_code)

    async def disconnect(self, code: int) -> None:
        await self.live_leave()

    @property
    def side(self) -> SenderKind | None:
        """Whose messages this client sends; None for an observer."""
        return SIDE.get(self.role)  # type: ignore[arg-type]

    # --- replay -----------------------------------------------------------------------
    async def replay(self, *, after_seq: int, server_last_seq: int | None = None) -> None:
        """Send every message after `after_seq`, then `replay.done`. A client ahead of
        the server holds someone else's copy: it is told to drop it, and gets all."""
        if server_last_seq is None:
            server_last_seq = await db(selectors.interaction_last_seq)(
                interaction_id=self.interaction_id
            )
            server_last_seq = server_last_seq or 0
        if after_seq > server_last_seq:
            await self.send_json(
                {
                    "type": "resync.required",
                    "last_seq": server_last_seq,
                    "message": f"This chat has no message {after_seq}: drop your copy; "
                    "every message follows from the first.",
                }
            )
            after_seq = 0
        self.last_seq = after_seq
        await self.send_stored()
        await self.send_json({"type": "replay.done", "last_seq": self.last_seq})

    async def send_stored(self, *, until_seq: int | None = None) -> None:
        """Send the stored messages after self.last_seq (up to until_seq), a page at a
        time."""
        while True:
            page = await _stored_payloads(self.interaction_id, self.last_seq, until_seq)
            for payload in page:
                await self.send_message(payload)
                self.last_seq = payload["seq"]
            if len(page) < REPLAY_PAGE_SIZE:
                return

    # --- client → server --------------------------------------------------------------
    def error_context(self, content: dict[str, Any]) -> dict[str, Any]:
        """An error answering a `send` or a `note` carries its client_msg_id (when it is a
        string the client can match)."""
        client_msg_id = content.get("client_msg_id")
        if content.get("type") not in ("send", "note") or not isinstance(client_msg_id, str):
            return {}
        return {"client_msg_id": client_msg_id} if storable(client_msg_id) else {}

    async def send_chat_error(self, error: ChatError, **extra: Any) -> None:
        retry_after = getattr(error, "retry_after", None)
        if retry_after:
            extra["retry_after"] = retry_after
        await self.send_error(error.code, error.message, **extra)

    async def on_send(self, content: dict[str, Any]) -> None:
        client_msg_id = content.get("client_msg_id")
        echo = self.error_context(content)
        if self.side is None:
            await self.send_error("read_only", "You are watching this chat read-only.", **echo)
            return
        request = SendRequest(
            interaction_id=self.interaction_id,
            sender_kind=self.side,
            text=content.get("text"),
            client_msg_id=client_msg_id,
            user=self.user,
            attachment_ids=content.get("attachment_ids"),
        )
        result = await send_batcher().send(request, limit=self.send_limit)
        if isinstance(result, ChatError):
            await self.answer_stored(None, result, echo)
            return
        if isinstance(result, Exception):
            raise result
        await self.answer_stored(result, None, echo)

    async def answer_stored(
        self, result: Any, error: ChatError | None, echo: dict[str, Any]
    ) -> None:
        """Answer a send or a note: `ack` with the stored message's seq, or the refusal
        (a party who lost the chat is then closed out)."""
        if error is not None:
            await self.send_chat_error(error, **echo)
            if error.code == "not_party":
                await self.recheck_access()
            return
        message = result.message
        await self.send_json(
            {
                "type": "ack",
                "client_msg_id": message.client_msg_id,
                "seq": message.seq,
                "created_at": message.created_at.isoformat(),
                "duplicate": not result.created,
            }
        )

    async def on_resume(self, content: dict[str, Any]) -> None:
        last_seq = _seq(content.get("last_seq"))
        if last_seq is None:
            await self.send_error("bad_json", "resume needs last_seq, an integer ≥ 0.")
            return
        # A resume may replay the whole chat: metered per party, not per socket.
        wait = await db(self.resume_limit.take)()
        if wait:
            limited = ChatRateLimited(limit_message(self.resume_limit), retry_after=wait)
            await self.send_chat_error(limited)
            return
        await self.replay(after_seq=last_seq)

    async def on_typing(self, content: dict[str, Any]) -> None:
        active = content.get("active")
        if not isinstance(active, bool):
            await self.send_error("bad_json", "typing needs active, true or false.")
            return
        if self.side is None:
            await self.send_error("read_only", "You are watching this chat read-only.")
            return
        if active:
            now = time.monotonic()
            if now - self.typing_published_at < TYPING_INTERVAL_SECONDS:
                return  # the other side was told a moment ago
            self.typing_published_at = now
        _, error = await _call(
            interaction_typing,
            interaction_id=self.interaction_id,
            by=self.side,
            active=active,
            user=self.user,
        )
        if error is not None:
            await self.send_error(error.code, error.message)

    async def on_read(self, content: dict[str, Any]) -> None:
        seq = _seq(content.get("seq"))
        if seq is None:
            await self.send_error("bad_json", "read needs seq, an integer ≥ 0.")
            return
        if self.side is None:
            await self.send_error("read_only", "You are watching this chat read-only.")
            return
        _, error = await _call(
            interaction_mark_read,
            interaction_id=self.interaction_id,
            by=self.side,
            seq=seq,
            user=self.user,
        )
        if error is not None:
            await self.send_error(error.code, error.message)

    async def on_heartbeat(self, content: dict[str, Any]) -> None:
        """Also the safety net for what live delivery can miss: the layer may drop the
        newest message (nothing after it reveals the gap), and a Redis restart forgets
        group memberships while the socket stays open. So each heartbeat re-joins the
        groups (while Redis is down: live.delayed, and retried) and sends any stored
        message past last_seq before the ack."""
        await self.live_rejoin()
        await self.send_stored()
        await self.send_json(
            {"type": "heartbeat.ack", "at": timezone.now().isoformat(), "last_seq": self.last_seq}
        )

    async def on_end(self, content: dict[str, Any]) -> None:
        if self.side is None:
            await self.send_error("read_only", "You are watching this chat read-only.")
            return
        _, error = await _call(
            interaction_end,
            interaction_id=self.interaction_id,
            by=self.side,
            user=self.user,
        )
        if error is not None:
            await self.send_error(error.code, error.message)
            if error.code == "not_party":
                await self.recheck_access()

    def accepting_messages(self) -> bool:
        # Refused, revoked or the session ended: closing.
        return self.role is not None and super().accepting_messages()

    async def session_end(self, message: str) -> None:
        self.role = None  # handlers send nothing more
        await super().session_end(message)

    async def send_message(self, payload: dict[str, Any]) -> None:
        if self.role == ChatRole.CUSTOMER:
            payload = events.customer_view(payload)
        if payload.get("attachments"):
            # Each party gets its own signed URLs (chat.selectors.attachments).
            party = party_for_role(self.role, self.user)
            files = payload["attachments"]
            payload = {**payload, "attachments": []}
            if party is not None:
                payload["attachments"] = [attachment_urls(f, party=party) for f in files]
        await self.send_json(payload)

    async def recheck_access(self) -> None:
        """Only portal users lose access mid-chat (see CsrChatConsumer)."""

    async def live_catch_up(self) -> None:
        """Live events are back after an outage: the messages stored meanwhile, the
        chat's state (its status event may have been lost too) and what follows a
        replay; a CSR who lost the chat meanwhile is closed out as after chat.revoked."""
        interaction = await db(selectors.chat_interaction_get)(interaction_id=self.interaction_id)
        if interaction is None or self.role is None:
            return
        await self.send_stored()
        await self.interaction_event(
            {"payload": dict(events.interaction_status_payload(interaction))}
        )
        await self.after_replay(interaction)
        await self.recheck_access()

    # --- layer → client ---------------------------------------------------------------
    async def interaction_event(self, event: dict[str, Any]) -> None:
        """Forward a payload published to `interaction.<id>`: messages once each and in
        order (missing ones are read from the database first), typing only to the other
        side, queue positions and the long-wait choice only to the customer, sentiment
        never to the customer."""
        if self.role is None:
            return  # refused or revoked: closing
        payload = event["payload"]
        kind = payload.get("type")
        if kind == "message":
            seq = payload["seq"]
            if seq <= self.last_seq:
                return  # already replayed
            if seq > self.last_seq + 1:
                await self.send_stored(until_seq=seq - 1)  # the layer dropped some
            await self.send_message(payload)
            self.last_seq = max(self.last_seq, seq)
            return
        if kind == "typing" and payload.get("from") == self.side:
            return
        if kind in CUSTOMER_ONLY and self.role != ChatRole.CUSTOMER:
            return
        if kind in CONTACT_CENTER_ONLY and self.role == ChatRole.CUSTOMER:
            return
        if kind == "sentiment" and payload.get("seq", 0) > self.last_seq:
            # Shown with the messages it scores: make sure they arrived.
            await self.send_stored(until_seq=payload["seq"])
        if kind == "interaction.status" and payload.get("last_seq", 0) > self.last_seq:
            # The status follows the message that explains it: make sure it arrived.
            await self.send_stored(until_seq=payload["last_seq"])
        await self.send_json(payload)


class CustomerChatConsumer(ChatConsumer):
    """/ws/customer/<id>/?token=…: the customer's widget, with a token from the
    escalation reply. It reads and writes until the chat ends, then only reads for
    PORTAL["CUSTOMER_TOKEN_GRACE_SECONDS"]; after that it is refused with 4410, and a
    socket still open then is closed with 4410.
    Only here may the customer `authenticate` with an identity token."""

    client_messages = {
        **ChatConsumer.client_messages,
        "authenticate": "on_authenticate",
        "wait.choice": "on_wait_choice",
        "csat.answer": "on_csat_answer",
    }
    grace_timer: asyncio.Task | None = None
    preview_task: asyncio.Task | None = None
    preview_sent_at = -math.inf
    preview_text = ""

    async def after_replay(self, interaction: Interaction) -> None:
        closed_at = selectors.chat_closed_at(interaction=interaction)
        if closed_at is not None:
            self.close_when_grace_ends(closed_at)
            # The survey, again, until answered (a public channel's connector asks it).
            if not interaction.channel.is_public:
                request = await _csat_request(interaction.pk)
                if request is not None:
                    await self.send_json(request)
            return
        # While it waits: the place in line and a long-wait choice that stands (routing's).
        for payload in await db(signals.customer_chat_payloads)(interaction=interaction):
            await self.send_json(payload)

    async def on_wait_choice(self, content: dict[str, Any]) -> None:
        """The answer to `wait.options`: keep_waiting, leave_message (with text) or end."""
        choice, text = content.get("choice"), content.get("text")
        if not isinstance(choice, str) or (choice == "leave_message" and not isinstance(text, str)):
            await self.send_error(
                "bad_json",
                "wait.choice needs choice (keep_waiting, leave_message or end), and text for "
                "leave_message.",
            )
            return
        answer, error = await _call(
            signals.customer_wait_choice_make,
            limit=self.send_limit,  # leave_message stores a message: it counts as a send
            interaction_id=self.interaction_id,
            choice=choice,
            text=text if isinstance(text, str) else None,
        )
        if error is not None:
            await self.send_chat_error(error)
            return
        await self.send_json(answer)

    async def interaction_event(self, event: dict[str, Any]) -> None:
        await super().interaction_event(event)
        payload = event["payload"]
        if payload.get("type") == "interaction.status" and payload.get("status") not in OPEN:
            self.close_when_grace_ends(timezone.now())

    def close_when_grace_ends(self, closed_at: datetime) -> None:
        """Close this socket when the token stops opening the chat (it would be refused
        on reconnect from then on; an open socket must not outlive that)."""
        if self.grace_timer is not None or self.role is None:
            return
        ends_at = selectors.customer_grace_ends_at(closed_at=closed_at)
        delay = max(0.0, (ends_at - timezone.now()).total_seconds())
        self.grace_timer = asyncio.create_task(self._close_after(delay))

    async def _close_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        if self.role is None:
            return  # closing already
        self.role = None  # handlers send nothing more
        await self.live_leave()
        await self.send_error("chat_ended", "This chat has ended and can no longer be opened.")
        await self.close(code=CLOSE_GONE)

    async def on_csat_answer(self, content: dict[str, Any]) -> None:
        """The answer to `csat.request`: rating 1-5 and an optional comment."""
        comment = content.get("comment")
        if "rating" not in content or not (comment is None or isinstance(comment, str)):
            await self.send_error(
                "bad_json", "csat.answer needs rating (1 to 5) and, optionally, comment (text)."
            )
            return
        rating, error = await _call(
            satisfaction_answer,
            limit=self.send_limit,
            interaction_id=self.interaction_id,
            rating=content.get("rating"),
            comment=comment,
            via=CsatSource.WIDGET,
        )
        if error is not None:
            await self.send_chat_error(error)
            return
        await self.send_json(dict(events.csat_answered_payload(rating=rating)))

    async def on_typing(self, content: dict[str, Any]) -> None:
        """`typing` may carry the text typed so far (`text`): on a channel with the typing
        preview on, it goes to the handling CSR, throttled; elsewhere it is dropped."""
        text = content.get("text")
        if text is not None and self.side is not None:
            if not isinstance(text, str):
                await self.send_error("bad_json", "typing's text must be a string.")
                return
            self.typing_preview(text)
        await super().on_typing(content)

    def typing_preview(self, text: str) -> None:
        """At most one preview per TYPING_PREVIEW_INTERVAL_SECONDS; the newest text of a
        burst is sent when the interval is over (never an older one after it)."""
        self.preview_text = text
        if self.preview_task is not None and not self.preview_task.done():
            return  # the pending send takes the newest text
        wait = self.preview_sent_at + TYPING_PREVIEW_INTERVAL_SECONDS - time.monotonic()
        self.preview_task = asyncio.create_task(self._preview_send(max(0.0, wait)))

    async def _preview_send(self, delay: float) -> None:
        while True:
            if delay:
                await asyncio.sleep(delay)
            if self.role is None:
                return  # closing
            text = self.preview_text
            self.preview_sent_at = time.monotonic()
            await db(typing_preview_relay)(interaction_id=self.interaction_id, text=text)
            if self.preview_text == text:
                return
            # Typed on while this one went out: the newest follows after the interval.
            next_at = self.preview_sent_at + TYPING_PREVIEW_INTERVAL_SECONDS
            delay = max(0.0, next_at - time.monotonic())

    async def disconnect(self, code: int) -> None:
        if self.preview_task is not None:
            self.preview_task.cancel()
        if self.grace_timer is not None:
            self.grace_timer.cancel()
        await super().disconnect(code)

    async def authorize(self, params: dict[str, list[str]]) -> Interaction | None:
        token = (params.get("token") or [""])[0]
        access = await _customer_access(self.interaction_id, token)
        if not isinstance(access, Interaction):
            await self.refuse(*access)
            return None
        self.role = ChatRole.CUSTOMER
        return access

    async def on_authenticate(self, content: dict[str, Any]) -> None:
        token = content.get("token")
        if not isinstance(token, dict):
            await self.send_error(
                "bad_json", "authenticate needs token: the identity token object, as signed."
            )
            return
        interaction, error = await _call(
            interaction_authenticate, interaction_id=self.interaction_id, token=token
        )
        if error is not None:
            retry = getattr(error, "retry_after", None)
            await self.send_error(
                error.code, error.message, **({"retry_after": retry} if retry else {})
            )
            return
        await self.send_json(events.authenticate_ok_payload(interaction))


class CsrChatConsumer(ChatConsumer):
    """/ws/chat/<id>/: the portal's chat panel. The assigned CSR reads and writes; a CSR
    manager watches read-only. A CSR who loses the chat (transfer, lost connection)
    gets `chat.revoked` and the socket closes with 4403. Both may add internal notes
    (`note`), which the customer never sees."""

    client_messages = {**ChatConsumer.client_messages, "note": "on_note"}

    async def precheck(self) -> bool:
        user: AbstractBaseUser | AnonymousUser | None = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.refuse(CLOSE_UNAUTHENTICATED)
            return False
        self.user = user  # type: ignore[assignment]
        self.session_bind(user)  # type: ignore[arg-type]
        return True

    async def authorize(self, params: dict[str, list[str]]) -> Interaction | None:
        interaction, role = await _user_access(self.interaction_id, self.user)  # type: ignore[arg-type]
        if interaction is None:
            await self.refuse(CLOSE_FORBIDDEN, ChatError("not_found", "This chat does not exist."))
            return None
        if role is None:
            await self.refuse(
                CLOSE_FORBIDDEN, ChatError("not_party", "You are not handling this chat.")
            )
            return None
        self.role = role
        return interaction

    async def on_note(self, content: dict[str, Any]) -> None:
        """An internal note (chat.services.notes): answered with `ack` like a send, and
        metered with the sends."""
        echo = self.error_context(content)
        result, error = await _call(
            note_add,
            limit=self.send_limit,
            interaction_id=self.interaction_id,
            user=self.user,
            text=content.get("text"),
            client_msg_id=content.get("client_msg_id"),
        )
        await self.answer_stored(result, error, echo)

    async def after_replay(self, interaction: Interaction) -> None:
        """The stored sentiment: a `sentiment` event lost while the socket was away is
        not replayed with the messages, so a reconnecting panel is brought up to date."""
        state = await db(events.interaction_sentiment_state)(
            interaction_id=interaction.pk,
            label=interaction.sentiment_label,
            score=interaction.sentiment_score,
            seq=interaction.sentiment_seq,
        )
        if state is not None:
            await self.send_json(state)

    def groups_to_join(self) -> list[str]:
        # Routing tells a CSR who loses a chat on their own group (chat.revoked); the
        # role is not known yet, so observers join it too and ignore what comes.
        return [*super().groups_to_join(), events.csr_group(self.user.pk)]  # type: ignore[union-attr]

    async def recheck_access(self) -> None:
        """Re-read what this user may do here: nothing → closed with 4403; a CSR
        manager who was the CSR stays on as an observer."""
        _, role = await _user_access(self.interaction_id, self.user)  # type: ignore[arg-type]
        if role == self.role:
            return
        self.role = role
        if role is None:
            await self.live_leave()
            await self.close(code=CLOSE_FORBIDDEN)

    async def csr_push(self, event: dict[str, Any]) -> None:
        """`csr.push` on the CSR's own group (e.g. assist's suggestions): forwarded to the
        handling CSR's panel of the chat the frame names, to no other socket."""
        frame = event.get("frame")
        if self.role != ChatRole.CSR or not isinstance(frame, dict):
            return
        if frame.get("interaction_id") == self.interaction_id and self.accepting_messages():
            await self.send_json(frame)

    async def agent_event(self, event: dict[str, Any]) -> None:
        """Of the CSR's own events only `chat.revoked` for this chat concerns this socket."""
        payload = event["payload"]
        if self.role != ChatRole.CSR or payload.get("type") != "chat.revoked":
            return
        if payload.get("interaction_id") != self.interaction_id:
            return
        await self.send_json(payload)
        await self.recheck_access()
