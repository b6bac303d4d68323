"""The shapes of the chat's live events (see docs/websocket-protocol.md)."""

from typing import Any, Literal, TypedDict


class MessagePayload(TypedDict):
    type: Literal["message"]
    interaction_id: int
    seq: int
    sender_kind: str
    author_name: str
    text: str
    client_msg_id: str
    event: str
    data: dict[str, Any]
    pre_escalation: bool
    created_at: str


class InteractionStatusPayload(TypedDict):
    type: Literal["interaction.status"]
    interaction_id: int
    status: str
    assigned_csr: str | None
    authenticated: bool
    ended_by: str
    last_seq: int
