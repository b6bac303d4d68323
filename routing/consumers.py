"""The CSR's live socket, /ws/agent/: offers and presence reach the CSR's browser here.

Protocol: docs/websocket-protocol.md. The consumer only checks who is connected and
forwards layer events; state changes belong to the routing services.
"""

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils import timezone

from portal.roles import Role, user_roles

# Close codes, sent after the handshake so that browsers see them (a socket closed
# before it is accepted reaches the browser only as an HTTP 403 and code 1006).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403

AGENT_ROLES = frozenset({Role.CSR, Role.CSR_MANAGER})


def agent_group(user_id: int) -> str:
    """The layer group of every socket a CSR has open."""
    return f"agent.{user_id}"


@database_sync_to_async
def _may_open_agent_socket(user: AbstractBaseUser) -> bool:
    return bool(user_roles(user) & AGENT_ROLES)


class AgentConsumer(AsyncJsonWebsocketConsumer):
    """One CSR browser tab: heartbeats in, offers and presence events out."""

    group_name: str | None = None

    # Client message type → method name; later work adds its messages here.
    client_messages = {"heartbeat": "on_heartbeat"}

    async def connect(self) -> None:
        user: AbstractBaseUser | AnonymousUser | None = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._refuse(CLOSE_UNAUTHENTICATED)
            return
        if not await _may_open_agent_socket(user):
            await self._refuse(CLOSE_FORBIDDEN)
            return
        self.group_name = agent_group(user.pk)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()

    async def _refuse(self, code: int) -> None:
        await self.accept()
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        if self.group_name is not None:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    # --- client → server --------------------------------------------------------------
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

    async def on_heartbeat(self, content: dict[str, Any]) -> None:
        await self.send_json({"type": "heartbeat.ack", "at": timezone.now().isoformat()})

    async def send_error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})

    # --- layer → client ---------------------------------------------------------------
    async def agent_event(self, event: dict[str, Any]) -> None:
        """Forward a payload published to `agent.<user id>` (config.realtime) unchanged."""
        await self.send_json(event["payload"])
