"""The CSR's live socket, /ws/agent/: offers and presence reach the CSR's browser here.

Protocol: docs/websocket-protocol.md. The consumer only checks who is connected and
forwards layer events; state changes belong to the routing services. While Redis is down
the socket still opens with its `state` and is told live updates are delayed; once
config.sockets has subscribed it again it gets a fresh `state`.
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils import timezone

from chat.events import csr_group
from config.sockets import PortalJsonConsumer, db
from config.users import Role, is_csr, user_roles
from routing.errors import RoutingError
from routing.events import csr_state_payload, queue_group
from routing.selectors.csrs import csr_memberships
from routing.services import answers, presence

# Close codes, sent after the handshake so that browsers see them (a socket closed
# before it is accepted reaches the browser only as an HTTP 403 and code 1006).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403

AGENT_ROLES = frozenset({Role.CSR, Role.CSR_MANAGER})


@db
def _may_open_agent_socket(user: AbstractBaseUser) -> bool:
    return bool(user_roles(user) & AGENT_ROLES)


@db
def _state(user: AbstractBaseUser) -> dict[str, Any]:
    return csr_state_payload(user=user)


@db
def _open_session(user: AbstractBaseUser) -> tuple[bool, list[int], dict[str, Any]]:
    """Whether the user may route chats, the queues whose counts they see, their state."""
    routes = is_csr(user)
    if routes:
        presence.csr_heartbeat(user=user)
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
        self.routes_chats, queue_ids, state = await _open_session(user)
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
        # Presence is not changed here: a CSR whose socket stays gone past the grace
        # period is set Offline by the routing sweeper (a reload must not drop offers).
        await self.live_leave()

    async def live_catch_up(self) -> None:
        """Live events are back after an outage: the snapshot again, for whatever
        changed meanwhile (offers, status, counts)."""
        await self.send_json(await _state(self.scope["user"]))

    # --- client → server --------------------------------------------------------------
    async def on_heartbeat(self, content: dict[str, Any]) -> None:
        if self.routes_chats:
            await db(presence.csr_heartbeat)(user=self.scope["user"])
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
        if not isinstance(offer_id, int) or isinstance(offer_id, bool) or offer_id < 1:
            await self.send_error("bad_offer_id", "Send the offer_id of the offer, a number.")
            return None
        return offer_id

    # --- layer → client ---------------------------------------------------------------
    async def agent_event(self, event: dict[str, Any]) -> None:
        """Forward a payload published to the CSR's group or one of their queues' groups
        (config.realtime) unchanged."""
        await self.send_json(event["payload"])
