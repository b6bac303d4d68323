"""The shapes of the chat's live events (see docs/websocket-protocol.md)."""

from enum import StrEnum
from typing import Any, Literal, NotRequired, TypedDict


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
    internal: bool
    # The files the message carries (chat.services.attachments.attachment_summary); each
    # socket adds the signed URLs of its own party.
    attachments: list[dict[str, Any]]
    created_at: str


class InteractionStatusPayload(TypedDict):
    type: Literal["interaction.status"]
    interaction_id: int
    status: str
    assigned_csr: str | None
    authenticated: bool
    ended_by: str
    last_seq: int


class ChatRole(StrEnum):
    """Who is on a live chat socket: the customer, the handling CSR, or a CSR manager
    watching read-only."""

    CUSTOMER = "customer"
    CSR = "csr"
    OBSERVER = "observer"


class HelloInteraction(TypedDict):
    id: int
    status: str
    assigned_csr: str | None
    authenticated: bool
    channel: str
    queue: str
    last_seq: int
    customer_read_seq: int
    csr_read_seq: int
    # The channel shows the CSR what the customer types before sending (docs/websocket-protocol.md).
    typing_preview: bool


class HelloPayload(TypedDict):
    type: Literal["hello"]
    role: Literal["customer", "csr", "observer"]
    interaction: HelloInteraction
    # Whether files may be sent now, and the limits (chat.services.attachments); the
    # chat sockets add it.
    attachments: NotRequired[dict[str, Any]]


class ReplayDonePayload(TypedDict):
    type: Literal["replay.done"]
    last_seq: int


class ResyncRequiredPayload(TypedDict):
    type: Literal["resync.required"]
    last_seq: int
    message: str


class AckPayload(TypedDict):
    type: Literal["ack"]
    client_msg_id: str
    seq: int
    created_at: str
    duplicate: bool


# "from" is a Python keyword, hence the functional form.
TypingPayload = TypedDict(
    "TypingPayload",
    {
        "type": Literal["typing"],
        "interaction_id": int,
        "from": Literal["customer", "csr"],
        "active": bool,
        "name": str,
    },
)


class ReadPayload(TypedDict):
    type: Literal["read"]
    interaction_id: int
    by: Literal["customer", "csr"]
    seq: int


class AuthenticateOkPayload(TypedDict):
    """The customer socket's answer to a valid `authenticate`."""

    type: Literal["authenticate.ok"]
    interaction_id: int
    authenticated_at: str


class ChatErrorPayload(TypedDict):
    type: Literal["error"]
    code: str
    message: str
    client_msg_id: NotRequired[str]
    retry_after: NotRequired[int]


class SentimentSource(TypedDict):
    """One customer message a sentiment score came from (text cut to 200 characters)."""

    seq: int
    text: str
    score: float
    weight: float


class SentimentTrendPoint(TypedDict):
    seq: int
    score: float


class SentimentPayload(TypedDict):
    """The customer's sentiment, for the contact center only: the customer's socket
    never gets it. `seq` is the newest customer message it covers; `messages` are the
    ones it came from and `trend` the last per-message scores, oldest first."""

    type: Literal["sentiment"]
    interaction_id: int
    seq: int
    label: Literal["positive", "neutral", "negative"]
    score: float
    messages: list[SentimentSource]
    trend: list[SentimentTrendPoint]


class SessionRevokedPayload(TypedDict):
    """Layer only (never sent as is): a portal user's sessions ended — the one whose
    digest is `session` (a logout), or every one (`session` is None: a password change,
    a deactivated or deleted account). Their sockets send `message` and close."""

    type: Literal["session.revoked"]
    user_id: int
    session: str | None
    message: str


class CsatChoice(TypedDict):
    rating: int
    label: str


class CsatRequestPayload(TypedDict):
    """The satisfaction survey, to the customer's widget only: after the chat ended, and
    again on every (re)connect while it is unanswered and open."""

    type: Literal["csat.request"]
    interaction_id: int
    question: str
    choices: list[CsatChoice]
    comment_max_chars: int
    closes_at: str


class CsatAnsweredPayload(TypedDict):
    """The survey was answered: the answering socket's acknowledgement, and to the
    customer's other sockets (the form goes)."""

    type: Literal["csat.answered"]
    interaction_id: int
    rating: int


class TypingPreviewFrame(TypedDict):
    """What the customer is typing, to the handling CSR's chat panel only (never stored);
    `text` "" clears the preview."""

    type: Literal["typing.preview"]
    interaction_id: int
    name: str
    text: str
