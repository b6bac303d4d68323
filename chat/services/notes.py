"""Internal notes: what a CSR writes into a chat for the contact center only (the next
CSR after a transfer, managers, the internal transcript). Stored like a whisper, as an
internal message (chat.events.customer_view hides it, no webhook, left out of the
connector API and of the customer's transcript)."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from chat.errors import ChatError
from chat.locks import interaction_lock
from chat.models import Interaction, Message, SenderKind, SystemEvent
from chat.services.messages import (
    SendResult,
    client_msg_id_check,
    csr_may_write,
    message_create,
    message_text_check,
)
from chat.signals import manager_may_access
from config.users import display_name, is_csr_manager

NOTE_FIELDS = ("status", "assigned_csr", "last_seq", "queue")


def user_may_note(*, interaction: Interaction, user: AbstractBaseUser) -> bool:
    """The CSR handling the chat, or a CSR manager who may open it (chat.signals:
    limited to the queues they supervise), writes notes while it is open."""
    if csr_may_write(interaction, user):
        return True
    return (
        interaction.is_open
        and is_csr_manager(user)
        and manager_may_access(interaction=interaction, user=user)
    )


def note_add(
    *, interaction_id: int, user: AbstractBaseUser, text: Any, client_msg_id: Any
) -> SendResult:
    """Store an internal note by `user`, once per client message id (a retry gets the
    note stored the first time, even after the chat ended). Same text limits as a
    message; ChatError when the chat does not exist, has ended, or the user may not
    write notes in it."""
    text = message_text_check(text)
    client_msg_id = client_msg_id_check(client_msg_id)
    with transaction.atomic():
        interaction = interaction_lock(interaction_id, only=NOTE_FIELDS)
        if interaction is None:
            raise ChatError("not_found", "This chat does not exist.")
        # The row lock orders sends of this chat: a retry finds the first one here.
        existing = Message.objects.filter(
            interaction_id=interaction_id, client_msg_id=client_msg_id
        ).first()
        if existing is not None:
            if existing.event != SystemEvent.NOTE or existing.author_id != user.pk:
                raise ChatError(
                    "bad_client_msg_id", "This client_msg_id is already used by another message."
                )
            return SendResult(message=existing, created=False)
        if not interaction.is_open:
            raise ChatError("chat_ended", "This chat has ended; notes can no longer be added.")
        if not user_may_note(interaction=interaction, user=user):
            raise ChatError(
                "not_party", "Only the CSR handling this chat or a manager may add notes."
            )
        message = message_create(
            interaction=interaction,
            sender_kind=SenderKind.CSR,
            author=user,
            author_name=display_name(user),
            text=text,
            client_msg_id=client_msg_id,
            event=SystemEvent.NOTE,
            internal=True,
        )
    return SendResult(message=message, created=True)
