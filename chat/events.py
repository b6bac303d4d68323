"""Payload builders for the chat's live events, and the groups they go to.

Both sides of a conversation (the customer's socket and the CSR's) listen on the
interaction's group; every payload that changes the conversation carries `seq`."""

from chat import schemas
from chat.models import Interaction, Message
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


def interaction_status_payload(interaction: Interaction) -> schemas.InteractionStatusPayload:
    csr = interaction.assigned_csr
    return {
        "type": "interaction.status",
        "interaction_id": interaction.pk,
        "status": interaction.status,
        "assigned_csr": (csr.get_full_name() or csr.get_username()) if csr else None,
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
