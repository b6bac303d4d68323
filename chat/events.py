"""Payload builders for the chat's live events, and the groups they go to.

Both sides of a conversation (the customer's socket and the CSR's) listen on the
interaction's group; every payload that changes the conversation carries `seq`."""

from enum import StrEnum

from chat import schemas, sentiment
from chat.models import Interaction, Message, SatisfactionRating
from chat.selectors import satisfaction
from chat.selectors.attachments import message_attachments
from chat.selectors.messages import customer_messages_newest
from config.realtime import group_send_many, publish_on_commit
from config.sockets import SESSION_REVOKED_HANDLER, session_digest
from config.users import display_name

INTERACTION_HANDLER = "interaction.event"


def interaction_group(interaction_id: int) -> str:
    return f"interaction.{interaction_id}"


def csr_group(user_id: int) -> str:
    """A CSR's own group: their /ws/agent/ socket and their chat panels listen on it
    (routing sends offers, presence and `chat.revoked` there)."""
    return f"agent.{user_id}"


class SessionEnd(StrEnum):
    """Why a portal user's sockets are closed (chat.receivers)."""

    LOGGED_OUT = "logged_out"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - a reason, not a secret
    DEACTIVATED = "deactivated"


SESSION_END_MESSAGES = {
    SessionEnd.LOGGED_OUT: "You logged out.",
    SessionEnd.PASSWORD_CHANGED: "Your password was changed: log in again.",
    SessionEnd.DEACTIVATED: "Your account was deactivated.",
}


def user_sockets_end(*, user_id: int, reason: SessionEnd, session_key: str | None = None) -> None:
    """Close the user's open sockets (/ws/agent/ and /ws/chat/, in every process) once
    the change commits: those opened with `session_key` (a logout), or all of them.
    They listen on the user's own group; each says why and closes with 4401."""
    payload: schemas.SessionRevokedPayload = {
        "type": "session.revoked",
        "user_id": user_id,
        "session": session_digest(session_key) if session_key else None,
        "message": SESSION_END_MESSAGES[reason],
    }
    publish_on_commit(csr_group(user_id), SESSION_REVOKED_HANDLER, payload)


def message_payload(message: Message) -> schemas.MessagePayload:
    return {
        "type": "message",
        "interaction_id": message.interaction_id,
        "seq": message.seq,
        "sender_kind": message.sender_kind,
        "author_name": message.author_name,
        "text": message.text,
        "client_msg_id": message.client_msg_id,
        "event": message.event,
        "data": message.data,
        "pre_escalation": message.pre_escalation,
        "internal": message.internal,
        "attachments": message_attachments(message.data),
        "created_at": message.created_at.isoformat(),
    }


# CSR messages whose `data` is for the customer: an article's card, a pushed page (assist).
CUSTOMER_CARD_EVENTS = frozenset({"article_shared", "page_pushed"})


def customer_view(payload: dict) -> dict:
    """A message payload as the customer may see it: `data` holds what is for the contact
    center only (transfer notes, CSR ids). An internal message (a whisper, a note) keeps
    only its place in the sequence, so the customer's numbering has no gap to resume."""
    if payload.get("internal"):
        return {
            "type": "message",
            "interaction_id": payload["interaction_id"],
            "seq": payload["seq"],
            "hidden": True,
        }
    if payload.get("event") in CUSTOMER_CARD_EVENTS:
        return payload  # its data is the card the customer receives
    return {**payload, "data": {}}


def message_created(*, message: Message) -> None:
    publish_on_commit(
        interaction_group(message.interaction_id), INTERACTION_HANDLER, message_payload(message)
    )


def interaction_status_payload(interaction: Interaction) -> schemas.InteractionStatusPayload:
    csr = interaction.assigned_csr
    return {
        "type": "interaction.status",
        "interaction_id": interaction.pk,
        "status": interaction.status,
        "assigned_csr": display_name(csr) if csr else None,
        "authenticated": interaction.authenticated,
        "ended_by": interaction.ended_by,
        "last_seq": interaction.last_seq,
    }


def interaction_status_changed(*, interaction: Interaction) -> None:
    publish_on_commit(
        interaction_group(interaction.pk),
        INTERACTION_HANDLER,
        interaction_status_payload(interaction),
    )


def authenticate_ok_payload(interaction: Interaction) -> schemas.AuthenticateOkPayload:
    """The answer to the customer who just authenticated (authenticated_at is set)."""
    assert interaction.authenticated_at is not None
    return {
        "type": "authenticate.ok",
        "interaction_id": interaction.pk,
        "authenticated_at": interaction.authenticated_at.isoformat(),
    }


def hello_payload(interaction: Interaction, role: schemas.ChatRole) -> schemas.HelloPayload:
    """The first frame of a chat socket: who the client is here and the chat's state.
    Reads `assigned_csr`, `channel` and `queue`: load them with the interaction."""
    csr = interaction.assigned_csr
    return {
        "type": "hello",
        "role": role.value,  # type: ignore[typeddict-item]
        "interaction": {
            "id": interaction.pk,
            "status": interaction.status,
            "assigned_csr": display_name(csr) if csr else None,
            "authenticated": interaction.authenticated,
            "channel": interaction.channel.name,
            "queue": interaction.queue.name,
            "last_seq": interaction.last_seq,
            "customer_read_seq": interaction.customer_read_seq,
            "csr_read_seq": interaction.csr_read_seq,
            "typing_preview": interaction.channel.typing_preview,
        },
    }


def typing_payload(
    *, interaction_id: int, by: str, active: bool, name: str
) -> schemas.TypingPayload:
    return {
        "type": "typing",
        "interaction_id": interaction_id,
        "from": str(by),  # type: ignore[typeddict-item]
        "active": active,
        "name": name,
    }


def typing_changed(*, interaction_id: int, by: str, active: bool, name: str) -> None:
    """Someone started or stopped typing: not stored, sent to both sides (each socket
    drops the typing of its own side)."""
    publish_on_commit(
        interaction_group(interaction_id),
        INTERACTION_HANDLER,
        typing_payload(interaction_id=interaction_id, by=by, active=active, name=name),
    )


def read_payload(*, interaction_id: int, by: str, seq: int) -> schemas.ReadPayload:
    return {
        "type": "read",
        "interaction_id": interaction_id,
        "by": str(by),  # type: ignore[typeddict-item]
        "seq": seq,
    }


def read_marked(*, interaction_id: int, by: str, seq: int) -> None:
    publish_on_commit(
        interaction_group(interaction_id),
        INTERACTION_HANDLER,
        read_payload(interaction_id=interaction_id, by=by, seq=seq),
    )


def sentiment_payload(
    *,
    interaction_id: int,
    seq: int,
    label: str,
    score: float,
    messages: list[schemas.SentimentSource],
    trend: list[schemas.SentimentTrendPoint],
) -> schemas.SentimentPayload:
    return {
        "type": "sentiment",
        "interaction_id": interaction_id,
        "seq": seq,
        "label": label,  # type: ignore[typeddict-item]
        "score": score,
        "messages": messages,
        "trend": trend,
    }


def sentiment_changed(*, payload: schemas.SentimentPayload) -> None:
    """A new score: to the interaction's group, where only contact-center sockets
    forward it (chat.consumers.CONTACT_CENTER_ONLY)."""
    publish_on_commit(interaction_group(payload["interaction_id"]), INTERACTION_HANDLER, payload)


# Texts in `sentiment` events are cut to this length.
SENTIMENT_EXCERPT_CHARS = 200


def interaction_sentiment_state(
    *, interaction_id: int, label: str, score: float | None, seq: int
) -> schemas.SentimentPayload | None:
    """The stored sentiment as the chat panel shows it, in one query. None when the
    interaction was never scored."""
    if not label or score is None or not seq:
        return None
    recent = customer_messages_newest(interaction_id, until_seq=seq)
    return sentiment_state_payload(
        interaction_id=interaction_id, label=label, score=score, seq=seq, recent=recent
    )


def sentiment_state_payload(
    *, interaction_id: int, label: str, score: float, seq: int, recent: list[Message]
) -> schemas.SentimentPayload:
    """The `sentiment` event: the window (the last sentiment.WINDOW of `recent`, all
    scored) and the trend (the scored ones of `recent`)."""
    window = recent[-sentiment.WINDOW :]
    weights = sentiment.recency_weights(len(window))
    return sentiment_payload(
        interaction_id=interaction_id,
        seq=seq,
        label=label,
        score=score,
        messages=[
            {
                "seq": message.seq,
                "text": message.text[:SENTIMENT_EXCERPT_CHARS],
                "score": message.sentiment_score,  # type: ignore[typeddict-item]
                "weight": round(weight, 3),
            }
            for message, weight in zip(window, weights, strict=True)
        ],
        trend=[
            {"seq": message.seq, "score": message.sentiment_score}
            for message in recent
            if message.sentiment_score is not None
        ],
    )


# --- The satisfaction survey and the typing preview --------------------------------------


def csat_request_payload(*, rating: SatisfactionRating) -> schemas.CsatRequestPayload:
    return {
        "type": "csat.request",
        "interaction_id": rating.interaction_id,
        "question": satisfaction.CSAT_QUESTION,
        "choices": [
            {"rating": value, "label": label} for value, label in satisfaction.CSAT_LABELS.items()
        ],
        "comment_max_chars": satisfaction.CSAT_COMMENT_MAX_CHARS,
        "closes_at": satisfaction.satisfaction_closes_at(rating=rating).isoformat(),
    }


def csat_requested(*, rating: SatisfactionRating) -> None:
    """Ask the customer's widget (chat.consumers.CUSTOMER_ONLY keeps it from the CSR)."""
    publish_on_commit(
        interaction_group(rating.interaction_id),
        INTERACTION_HANDLER,
        csat_request_payload(rating=rating),
    )


def csat_answered_payload(*, rating: SatisfactionRating) -> schemas.CsatAnsweredPayload:
    assert rating.rating is not None
    return {
        "type": "csat.answered",
        "interaction_id": rating.interaction_id,
        "rating": rating.rating,
    }


def csat_answered(*, rating: SatisfactionRating) -> None:
    publish_on_commit(
        interaction_group(rating.interaction_id),
        INTERACTION_HANDLER,
        csat_answered_payload(rating=rating),
    )


CSR_PUSH_HANDLER = "csr.push"


def typing_preview_publish(*, csr_id: int, interaction_id: int, name: str, text: str) -> None:
    """Push the customer's unsent text to the handling CSR's panel of the chat, now (it is
    never stored, so there is no commit to wait for): on the CSR's own group, where
    CsrChatConsumer.csr_push hands it to that chat's panel of the handling CSR alone."""
    frame: schemas.TypingPreviewFrame = {
        "type": "typing.preview",
        "interaction_id": interaction_id,
        "name": name,
        "text": text,
    }
    group_send_many([(csr_group(csr_id), {"type": CSR_PUSH_HANDLER, "frame": dict(frame)})])
