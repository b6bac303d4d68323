"""The CSR's live socket, /ws/agent/: offers and presence reach the CSR's browser here.

Protocol: docs/websocket-protocol.md. The consumer only checks who is connected and
forwards layer events; state changes belong to the routing services. My Work opens the
full socket; every other portal page of a CSR opens it with `?mode=presence` (the CSR's
own events only, `status` instead of the `state` snapshot), so that a CSR with any portal
page open stays present (routing.services.presence). While Redis is down
the socket still opens with its `state` and is told live updates are delayed; once
config.sockets has subscribed it again it gets a fresh `state`.
"""

import uuid
from typing import Any
from urllib.parse import parse_qs

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils import timezone

from chat.events import csr_group
from config.sockets import PortalJsonConsumer, db, db_id_valid
from config.users import Role, is_csr, user_roles
from routing.errors import RoutingError
from routing.events import csr_state_payload, queue_group, status_payload
from routing.selectors.csrs import csr_memberships, csr_profile_or_default
from routing.services import answers, presence

# Close codes, sent after the handshake so that browsers see them (a socket closed
# before it is accepted reaches the browser only as an HTTP 403 and code 1006).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403

AGENT_ROLES = frozenset({Role.CSR, Role.CSR_MANAGER})

# `?mode=presence`: a portal page other than My Work, which only keeps its CSR present
# and shows their status.
PRESENCE_MODE = "presence"


@db
def _may_open_agent_socket(user: AbstractBaseUser) -> bool:
    return bool(user_roles(user) & AGENT_ROLES)


@db
def _state(user: AbstractBaseUser) -> dict[str, Any]:
    return csr_state_payload(user=user)


@db
def _status(user: AbstractBaseUser) -> dict[str, Any]:
    return dict(status_payload(csr_profile_or_default(user_id=user.pk)))


@db
def _open_session(
    user: AbstractBaseUser, page_id: str, presence_only: bool
) -> tuple[bool, list[int], dict[str, Any]]:
    """Whether the user may route chats, the queues whose counts they see, and the first
    frame: their state (My Work), or just their status (presence mode)."""
    routes = is_csr(user)
    if routes:
        presence.csr_page_alive(user=user, page_id=page_id)
    if presence_only:
        return routes, [], dict(status_payload(csr_profile_or_default(user_id=user.pk)))
    queue_ids = [m.queue_id for m in csr_memberships(user_id=user.pk)]
    return routes, queue_ids, csr_state_payload(user=user)


def _call(fn, **kwargs):
    """Run a routing service; a refusal comes back as (None, error) instead of raising."""

    @db
    def run():
        try:
            return fn(**kwargs), None
        except RoutingError as error:
            return None, error

    return run()


class AgentConsumer(PortalJsonConsumer):
    """One CSR browser tab: heartbeats in, offers and presence events out."""

    routes_chats = False
    presence_only = False
    page_id = ""

    # Client message type → method name.
    client_messages = {
        "heartbeat": "on_heartbeat",
        "accept": "on_accept",
        "decline": "on_decline",
        "set_status": "on_set_status",
    }

    async def connect(self) -> None:
        user: AbstractBaseUser | AnonymousUser | None = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._refuse(CLOSE_UNAUTHENTICATED)
            return
        if not await _may_open_agent_socket(user):
            await self._refuse(CLOSE_FORBIDDEN)
            return
        self.session_bind(user)
        params = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        self.presence_only = params.get("mode") == [PRESENCE_MODE]
        self.page_id = uuid.uuid4().hex
        self.routes_chats, queue_ids, state = await _open_session(
            user, self.page_id, self.presence_only
        )
        # Subscribe before reading anything the client will be shown, so no event that
        # follows the snapshot is missed. If Redis is down the socket opens all the
        # same, and is told after the snapshot that live updates are delayed.
        await self.live_join([csr_group(user.pk), *(queue_group(q) for q in queue_ids)])
        await self.accept()
        await self.send_json(state)

    async def _refuse(self, code: int) -> None:
        await self.accept()
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        # The page stops counting as open, nothing more: a CSR with no page left past
        # the grace period is set Offline by the routing sweeper (a reload must not
        # drop offers).
        if self.routes_chats:
            await db(presence.csr_page_closed)(user=self.scope["user"], page_id=self.page_id)
        await self.live_leave()

    async def live_catch_up(self) -> None:
        """Live events are back after an outage: the snapshot again, for whatever
        changed meanwhile (offers, status, counts)."""
        if self.presence_only:
            await self.send_json(await _status(self.scope["user"]))
            return
        await self.send_json(await _state(self.scope["user"]))

    # --- client → server --------------------------------------------------------------
    async def on_heartbeat(self, content: dict[str, Any]) -> None:
        if self.routes_chats:
            await db(presence.csr_page_alive)(user=self.scope["user"], page_id=self.page_id)
        await self.live_rejoin()  # a Redis restart may have forgotten the groups
        await self.send_json({"type": "heartbeat.ack", "at": timezone.now().isoformat()})

    async def on_accept(self, content: dict[str, Any]) -> None:
        offer_id = await self._offer_id(content)
        if offer_id is None:
            return
        interaction, error = await _call(
            answers.offer_accept, offer_id=offer_id, user=self.scope["user"]
        )
        if error is not None:
            await self.send_error(error.code, error.message, offer_id=offer_id)
            return
        await self.send_json(
            {"type": "accepted", "offer_id": offer_id, "interaction_id": interaction.pk}
        )

    async def on_decline(self, content: dict[str, Any]) -> None:
        offer_id = await self._offer_id(content)
        if offer_id is None:
            return
        reason = content.get("reason", "")
        if not isinstance(reason, str) or len(reason) > 200:
            await self.send_error(
                "bad_reason", "A decline reason is text of at most 200 characters."
            )
            return
        _, error = await _call(
            answers.offer_decline, offer_id=offer_id, user=self.scope["user"], reason=reason
        )
        if error is not None:
            await self.send_error(error.code, error.message, offer_id=offer_id)
            return
        await self.send_json({"type": "declined", "offer_id": offer_id})

    async def on_set_status(self, content: dict[str, Any]) -> None:
        if not self.routes_chats:
            await self.send_error("forbidden", "Only CSRs have an availability status.")
            return
        status, reason = content.get("status"), content.get("reason", "")
        if not isinstance(status, str) or not isinstance(reason, str):
            await self.send_error("bad_status", "Send a status and, for Away, a reason code.")
            return
        _, error = await _call(
            presence.csr_status_set,
            user=self.scope["user"],
            status=status,
            away_reason_code=reason,
        )
        if error is not None:
            await self.send_error(error.code, error.message)

    async def _offer_id(self, content: dict[str, Any]) -> int | None:
        if not self.routes_chats:
            await self.send_error("forbidden", "Only CSRs take chats.")
            return None
        offer_id = content.get("offer_id")
        if not db_id_valid(offer_id):
            # Also a number beyond any row's id (≥ 2**63): the query would fail.
            await self.send_error(
                "bad_offer_id", "Send the offer_id of the offer, a positive integer."
            )
            return None
        return offer_id

    # --- layer → client ---------------------------------------------------------------
    async def agent_event(self, event: dict[str, Any]) -> None:
        """Forward a payload published to the CSR's group or one of their queues' groups
        (config.realtime) unchanged."""
        if self.accepting_messages():  # not once the session ended
            await self.send_json(event["payload"])
