"""Interactions: opening one with the bot's transcript, and ending it."""

import logging
from datetime import datetime
from typing import Any, NotRequired, TypedDict

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from chat import events
from chat.errors import ChatError
from chat.locks import interaction_lock
from chat.models import (
    BotClient,
    Channel,
    Customer,
    Interaction,
    InteractionStatus,
    Message,
    SenderKind,
    SystemEvent,
)
from chat.services.customers import customer_snapshot
from chat.services.messages import message_create
from chat.services.satisfaction import satisfaction_ask
from chat.services.sentiment import sentiment_schedule
from chat.signals import interaction_closed
from config.users import display_name

logger = logging.getLogger(__name__)

ABANDONED_TEXT = "The customer left before a CSR joined."


class TranscriptEntry(TypedDict):
    """One line of the bot conversation; `sender` is SenderKind.CUSTOMER or BOT."""

    sender: str
    text: str
    at: NotRequired[datetime | None]


def interaction_open(
    *,
    customer: Customer,
    channel: Channel,
    queue: Any,
    bot_client: BotClient,
    intent: str = "",
    context: dict[str, Any] | None = None,
    transcript: list[TranscriptEntry] | None = None,
    priority: int = 0,
    authenticated_at: datetime | None = None,
    idempotency_key: str = "",
    fingerprint: str = "",
) -> Interaction:
    """A new interaction waiting in `queue`, with the bot conversation as its first
    messages (numbered 1, 2, …) and the escalation notice after them. It keeps the
    customer's details as they are now (`customer_snapshot`; the verified identity when
    the escalation authenticated them). Joins the caller's transaction; whoever queued
    it asks for routing once it commits."""
    transcript = transcript or []
    now = timezone.now()
    escalated_seq = len(transcript) + 1
    verified_identity = customer.verified_identity if authenticated_at is not None else ""
    interaction = Interaction.objects.create(
        status=InteractionStatus.QUEUED,
        customer=customer,
        **customer_snapshot(customer=customer, verified_identity=verified_identity),
        channel=channel,
        queue=queue,
        intent=intent,
        context=context or {},
        priority=priority,
        authenticated=authenticated_at is not None,
        authenticated_at=authenticated_at,
        bot_client=bot_client,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        last_seq=escalated_seq,
        created_at=now,
        queued_at=now,
    )
    messages = [
        Message(
            interaction=interaction,
            seq=seq,
            sender_kind=entry["sender"],
            author_name=customer.name
            if entry["sender"] == SenderKind.CUSTOMER
            else bot_client.name,
            text=entry["text"],
            pre_escalation=True,
            created_at=entry.get("at") or now,
        )
        for seq, entry in enumerate(transcript, start=1)
    ]
    messages.append(
        Message(
            interaction=interaction,
            seq=escalated_seq,
            sender_kind=SenderKind.SYSTEM,
            text=f"Customer escalated to the {queue.name} queue",
            event=SystemEvent.ESCALATED,
            data={"queue": queue.slug, "intent": intent},
            created_at=now,
        )
    )
    Message.objects.bulk_create(messages)
    if any(entry["sender"] == SenderKind.CUSTOMER for entry in transcript):
        # The CSR sees how the customer felt with the bot before the first live word.
        sentiment_schedule(interaction_id=interaction.pk)
    return interaction


def interaction_end(
    *, interaction_id: int, by: SenderKind, user: AbstractBaseUser | None = None
) -> Interaction:
    """End a chat, by its CSR or its customer: a system message, both sides told. A
    customer leaving before any CSR took the chat abandons it instead. An ended chat's
    customer is asked to rate it (chat.services.satisfaction.satisfaction_ask).

    Sends chat.signals.interaction_closed in the same transaction: routing withdraws a
    pending offer and gives the CSR's room to the next chat."""
    with transaction.atomic():
        interaction = interaction_lock(interaction_id, "assigned_csr", "queue")
        if interaction is None:
            raise ChatError("not_found", "This chat does not exist.")
        if by == SenderKind.CSR and (user is None or interaction.assigned_csr_id != user.pk):
            raise ChatError("not_party", "You are not handling this chat.")
        if not interaction.is_open:
            raise ChatError("chat_ended", "This chat has already ended.")
        csr = interaction.assigned_csr
        interaction.ended_at = timezone.now()
        # Waiting with no CSR yet: the customer abandons it. A chat being transferred
        # (queued or offered again) still has its CSR, and ends as an active one does.
        if by == SenderKind.CUSTOMER and csr is None:
            interaction.status = InteractionStatus.ABANDONED
            text, event, data = ABANDONED_TEXT, SystemEvent.ABANDONED, {}
        else:
            interaction.status = InteractionStatus.ENDED
            interaction.ended_by = by
            if by == SenderKind.CSR:
                text = f"{display_name(csr)} ended the chat"
            else:
                text = "The customer ended the chat"
            event, data = SystemEvent.ENDED, {"by": by}
        interaction.save(update_fields=["status", "ended_at", "ended_by"])
        message_create(
            interaction=interaction,
            sender_kind=SenderKind.SYSTEM,
            text=text,
            event=event,
            data=data,
        )
        events.interaction_status_changed(interaction=interaction)
        # After the status: the widget shows the chat ended, then asks.
        satisfaction_ask(interaction=interaction)
        interaction_closed.send(
            sender=Interaction, interaction=interaction, csr_id=csr.pk if csr else None
        )
    logger.info("Interaction %s %s by the %s", interaction.pk, interaction.status, by)
    return interaction
