"""/ws/supervision/?view=queues|csrs|chats|health: the managers' live socket.

Only CSR managers and administrators connect (anyone else: 4401 / 4403). The socket
sends a `supervision.snapshot` of its view (in the manager's queues), then forwards the
live tick's `supervision.update` rows of that view and the alerts, dropping what lies
outside the manager's queues, and `supervision.health` to the health view. Protocol:
docs/websocket-protocol.md, "Manager tools socket"."""

from typing import Any
from urllib.parse import parse_qs

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.utils import timezone

from config.sockets import PortalJsonConsumer, db
from supervision import events, ticker
from supervision.selectors.scope import may_supervise, supervised_queue_ids

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403

VIEWS = {"queues": "queues", "csrs": "csrs", "chats": "chats", "health": None}


@db
def _open(user: AbstractBaseUser, view: str) -> tuple[bool, frozenset[int] | None]:
    if not may_supervise(user):
        return False, None
    events.watchers_touch(VIEWS[view])
    return True, supervised_queue_ids(user=user)


@db
def _snapshot(view: str, scope: frozenset[int] | None) -> dict[str, Any]:
    section = VIEWS[view]
    state = events.live_state((section,) if section else ())
    snapshot: dict[str, Any] = {
        "type": "supervision.snapshot",
        "view": view,
        "server_time": state["server_time"],
        "alerts": [a for a in state["alerts"] if in_scope_alert(a, scope)],
    }
    if section is not None:
        snapshot[section] = filter_rows(section, state[section], scope)
    else:
        snapshot["health"] = cache.get(events.HEALTH_KEY)
    return snapshot


def in_scope_alert(alert: dict[str, Any], scope: frozenset[int] | None) -> bool:
    return scope is None or alert.get("queue_id") is None or alert["queue_id"] in scope


def filter_rows(
    section: str, rows: list[dict[str, Any]], scope: frozenset[int] | None
) -> list[dict[str, Any]]:
    """The rows of a section that lie in the manager's queues."""
    if scope is None:
        return rows
    if section == "queues":
        return [row for row in rows if row["id"] in scope]
    if section == "chats":
        return [row for row in rows if row["queue_id"] in scope]
    return [row for row in rows if scope.intersection(row["queue_ids"])]


class SupervisionConsumer(PortalJsonConsumer):
    client_messages = {"heartbeat": "on_heartbeat"}
    view = "queues"
    scope_ids: frozenset[int] | None = None
    allowed = False

    async def connect(self) -> None:
        user: AbstractBaseUser | AnonymousUser | None = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._refuse(CLOSE_UNAUTHENTICATED, "Log in to use the manager tools.")
            return
        params = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        view = (params.get("view") or ["queues"])[0]
        self.view = view if view in VIEWS else "queues"
        allowed, self.scope_ids = await _open(user, self.view)
        if not allowed:
            await self._refuse(CLOSE_FORBIDDEN, "The manager tools are for CSR managers.")
            return
        self.session_bind(user)  # type: ignore[arg-type]
        self.allowed = True
        ticker.socket_opened()
        await self.live_join([events.GROUP])
        await self.accept()
        await self.send_json(await _snapshot(self.view, self.scope_ids))

    async def _refuse(self, code: int, message: str) -> None:
        await self.accept()
        await self.send_error(
            "forbidden" if code == CLOSE_FORBIDDEN else "unauthenticated", message
        )
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        if self.allowed:
            self.allowed = False
            ticker.socket_closed()
        await self.live_leave()

    async def live_catch_up(self) -> None:
        await self.send_json(await _snapshot(self.view, self.scope_ids))

    async def on_heartbeat(self, content: dict[str, Any]) -> None:
        await db(events.watchers_touch)(VIEWS[self.view])
        await self.live_rejoin()
        await self.send_json({"type": "heartbeat.ack", "at": timezone.now().isoformat()})

    async def supervision_event(self, event: dict[str, Any]) -> None:
        """Forward the tick's rows of this view, in the manager's queues."""
        if not self.allowed or not self.accepting_messages():
            return
        payload = event["payload"]
        if payload.get("type") == "supervision.health":
            await self.send_json(payload)
            return
        section = VIEWS[self.view]
        frame: dict[str, Any] = {
            "type": "supervision.update",
            "server_time": payload["server_time"],
            "alerts": [a for a in payload["alerts"] if in_scope_alert(a, self.scope_ids)],
            "alerts_cleared": payload["alerts_cleared"],
        }
        if section is not None:
            frame[section] = filter_rows(section, payload.get(section, []), self.scope_ids)
            frame[f"{section}_removed"] = payload.get(f"{section}_removed", [])
        if (
            frame["alerts"]
            or frame["alerts_cleared"]
            or frame.get(section or "")
            or (section is not None and frame[f"{section}_removed"])
        ):
            await self.send_json(frame)
