"""The shapes of the live events the routing engine sends (see docs/websocket-protocol.md)."""

from typing import Literal, TypedDict


class OfferPayload(TypedDict):
    type: Literal["offer"]
    offer_id: int
    interaction_id: int
    customer_name: str
    channel: str
    queue: str
    intent: str
    waiting_seconds: int
    expires_at: str
    expires_in_seconds: int
    transfer: bool
    transferred_by: str | None
    note: str


class OfferClosedPayload(TypedDict):
    type: Literal["offer.closed"]
    offer_id: int
    interaction_id: int
    reason: Literal["accepted", "declined", "expired", "withdrawn"]
    message: str


class StatusReason(TypedDict):
    code: str
    label: str


class StatusPayload(TypedDict):
    type: Literal["status"]
    status: str
    status_label: str
    away_reason: str | None
    # Why the CSR is Away, or Offline when the portal set them so (code "disconnected").
    reason: StatusReason | None
    note: str
    changed_at: str


class QueueCounts(TypedDict):
    id: int
    slug: str
    name: str
    waiting: int
    longest_wait_seconds: int
    csrs_available: int


class QueueCountsPayload(TypedDict):
    type: Literal["queue.counts"]
    queue: QueueCounts


class MembershipState(TypedDict):
    queue_id: int
    slug: str
    name: str
    joined: bool


class QueuesPayload(TypedDict):
    type: Literal["queues"]
    queues: list[MembershipState]


class ChatRevokedPayload(TypedDict):
    type: Literal["chat.revoked"]
    interaction_id: int
    reason: str


class WrapupReleasedPayload(TypedDict):
    type: Literal["wrapup.released"]
    interaction_id: int
    outcome: Literal["completed", "timed_out"]
    code: str | None  # the disposition code's label
    message: str


class QueuePositionPayload(TypedDict):
    type: Literal["queue.position"]
    interaction_id: int
    position: int
    estimated_wait_seconds: int | None


WaitChoiceName = Literal["keep_waiting", "leave_message", "end"]


class WaitOptionsPayload(TypedDict):
    type: Literal["wait.options"]
    interaction_id: int
    waited_seconds: int
    max_wait_seconds: int
    choices: list[WaitChoiceName]
    message: str


class WaitChosenPayload(TypedDict):
    type: Literal["wait.chosen"]
    interaction_id: int
    choice: WaitChoiceName
