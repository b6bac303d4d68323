"""Typed payloads of co-browse's live events (docs/websocket-protocol.md, "Co-browse")."""

from typing import Literal, TypedDict


class CobrowseStatePayload(TypedDict):
    """On the chat sockets (both sides): a session was requested, started or ended, or —
    after a customer's replay — the session that stands. `session` is None once none
    is open."""

    type: Literal["cobrowse.state"]
    interaction_id: int
    session_id: int
    status: str  # requested, active, declined, unanswered, ended
    csr_name: str
    consent_timeout_seconds: int
    reason: str  # why it ended (models.EndReason), "" while open
    ended_by: str  # customer, csr, system; "" while open
    message: str  # for people: what happened


class SessionControlPayload(TypedDict):
    """On the co-browse sockets: the session started (the customer allowed) or ended."""

    type: Literal["state"]
    session_id: int
    status: str
    reason: str
    ended_by: str
    message: str
