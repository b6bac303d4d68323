"""Payload builders for the chat's live events, and the groups they go to.

Both sides of a conversation (the customer's socket and the CSR's) listen on the
interaction's group; every payload that changes the conversation carries `seq`."""

from chat import schemas
from chat.models import Message
from config.realtime import publish_on_commit

INTERACTION_HANDLER = "interaction.event"


def interaction_group(interaction_id: int) -> str:
    return f"interaction.{interaction_id}"


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
        "created_at": message.created_at.isoformat(),
    }


def message_created(*, message: Message) -> None:
    publish_on_commit(
        interaction_group(message.interaction_id), INTERACTION_HANDLER, message_payload(message)
    )
