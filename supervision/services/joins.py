"""A manager joining a chat: monitor it unseen, whisper to its CSR, barge in (visible,
writing to the customer), take it over, leave. Each leaves a message with who and when:
internal (the contact center's only: chat.events.customer_view, no webhook, not in the
customer's transcript) for monitoring and whispers, visible for barging in, taking over
and leaving after a barge-in."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from chat import events as chat_events
from chat.errors import ChatError
from chat.locks import interaction_lock
from chat.models import Interaction, InteractionStatus, Message, SenderKind, SystemEvent
from chat.services.messages import client_msg_id_check, message_create, message_text_check
from config.users import display_name
from routing import events as routing_events
from routing.services.requests import route_after_commit
from supervision.errors import SupervisionError
from supervision.models import AuditAction, ChatJoin, JoinMode
from supervision.selectors.scope import queue_in_scope, supervised_queue_ids
from supervision.services.audit import audit_record


def supervisor_name(manager: AbstractBaseUser) -> str:
    return f"{display_name(manager)} (supervisor)"


def _lock(manager: AbstractBaseUser, interaction_id: int) -> Interaction:
    """The chat, locked; refused unless open and in the manager's queues."""
    interaction = interaction_lock(interaction_id, "assigned_csr", "queue")
    if interaction is None:
        raise SupervisionError("not_found", "There is no such chat.", status=404)
    if not queue_in_scope(scope=supervised_queue_ids(user=manager), queue_id=interaction.queue_id):
        raise SupervisionError("out_of_scope", "You do not supervise this chat's queue.", 403)
    if not interaction.is_open:
        raise SupervisionError("chat_ended", "This chat has ended.", status=409)
    return interaction


def _open_join(interaction: Interaction, manager: AbstractBaseUser) -> ChatJoin | None:
    return ChatJoin.objects.filter(
        interaction=interaction, manager_id=manager.pk, left_at__isnull=True
    ).first()


def chat_join_state(*, interaction_id: int, manager: AbstractBaseUser) -> dict[str, Any]:
    """What the manager's join bar shows: their mode in the chat and whether it is theirs."""
    interaction = (
        Interaction.objects.filter(pk=interaction_id)
        .only("status", "assigned_csr_id", "queue_id")
        .first()
    )
    if interaction is None:
        raise SupervisionError("not_found", "There is no such chat.", status=404)
    if not queue_in_scope(scope=supervised_queue_ids(user=manager), queue_id=interaction.queue_id):
        raise SupervisionError("out_of_scope", "You do not supervise this chat's queue.", 403)
    join = ChatJoin.objects.filter(
        interaction_id=interaction_id, manager_id=manager.pk, left_at__isnull=True
    ).first()
    return {
        "mode": join.mode if join else "",
        "owner": interaction.assigned_csr_id == manager.pk,
        "open": interaction.is_open,
        "has_csr": interaction.assigned_csr_id is not None,
    }


@transaction.atomic
def chat_monitor(*, manager: AbstractBaseUser, interaction_id: int) -> ChatJoin:
    """Watch the chat unseen by the customer: an internal note says who, and when."""
    interaction = _lock(manager, interaction_id)
    join = _open_join(interaction, manager)
    if join is not None:
        return join
    join = ChatJoin.objects.create(
        interaction=interaction, manager_id=manager.pk, mode=JoinMode.MONITORING
    )
    message_create(
        interaction=interaction,
        sender_kind=SenderKind.SYSTEM,
        text=f"{supervisor_name(manager)} is monitoring the chat",
        event=SystemEvent.SUPERVISOR_MONITORING,
        data={"manager": display_name(manager)},
        internal=True,
    )
    audit_record(actor=manager, action=AuditAction.CHAT_MONITOR, interaction_id=interaction.pk)
    return join


@transaction.atomic
def chat_whisper(
    *, manager: AbstractBaseUser, interaction_id: int, text: Any, client_msg_id: Any
) -> Message:
    """A message to the chat's CSR only: shown in their panel as from the manager, never
    to the customer, the connector, the webhook or the customer's transcript."""
    text, client_msg_id = _checked(text, client_msg_id)
    interaction = _lock(manager, interaction_id)
    if interaction.assigned_csr_id is None or interaction.assigned_csr_id == manager.pk:
        raise SupervisionError("no_csr", "There is no CSR in this chat to whisper to.", 409)
    existing = _retried(interaction, client_msg_id)
    if existing is not None:
        return existing
    message = message_create(
        interaction=interaction,
        sender_kind=SenderKind.CSR,
        author=manager,
        author_name=supervisor_name(manager),
        text=text,
        client_msg_id=client_msg_id,
        event=SystemEvent.WHISPER,
        data={"to_csr": display_name(interaction.assigned_csr)},
        internal=True,
    )
    audit_record(actor=manager, action=AuditAction.CHAT_WHISPER, interaction_id=interaction.pk)
    return message


@transaction.atomic
def chat_barge_in(*, manager: AbstractBaseUser, interaction_id: int) -> ChatJoin:
    """Join the conversation visibly: "Jordan Lee (supervisor) joined the chat"."""
    interaction = _lock(manager, interaction_id)
    join = _open_join(interaction, manager)
    if join is not None and join.mode == JoinMode.BARGED_IN:
        return join
    if join is None:
        join = ChatJoin.objects.create(
            interaction=interaction, manager_id=manager.pk, mode=JoinMode.BARGED_IN
        )
    else:
        join.mode = JoinMode.BARGED_IN
        join.save(update_fields=["mode"])
    message_create(
        interaction=interaction,
        sender_kind=SenderKind.SYSTEM,
        text=f"{supervisor_name(manager)} joined the chat",
        event=SystemEvent.SUPERVISOR_JOINED,
        data={"manager": display_name(manager)},
    )
    audit_record(actor=manager, action=AuditAction.CHAT_BARGE_IN, interaction_id=interaction.pk)
    return join


@transaction.atomic
def chat_supervisor_send(
    *, manager: AbstractBaseUser, interaction_id: int, text: Any, client_msg_id: Any
) -> Message:
    """The manager's message to the customer, once barged in or after taking over."""
    text, client_msg_id = _checked(text, client_msg_id)
    interaction = _lock(manager, interaction_id)
    join = _open_join(interaction, manager)
    owner = interaction.assigned_csr_id == manager.pk
    if not owner and (join is None or join.mode != JoinMode.BARGED_IN):
        raise SupervisionError("not_joined", "Barge in first to write to the customer.", status=409)
    existing = _retried(interaction, client_msg_id)
    if existing is not None:
        return existing
    return message_create(
        interaction=interaction,
        sender_kind=SenderKind.CSR,
        author=manager,
        author_name=supervisor_name(manager),
        text=text,
        client_msg_id=client_msg_id,
    )


@transaction.atomic
def chat_take_over(*, manager: AbstractBaseUser, interaction_id: int, reason: str = "") -> None:
    """The chat becomes the manager's: its CSR is told (their panel closes) and has room
    for the next chat."""
    interaction = _lock(manager, interaction_id)
    if interaction.status != InteractionStatus.ACTIVE:
        raise SupervisionError("not_active", "Only an active chat can be taken over.", 409)
    previous = interaction.assigned_csr
    if previous is not None and previous.pk == manager.pk:
        raise SupervisionError("already_yours", "This chat is already yours.", status=409)
    interaction.assigned_csr = manager  # type: ignore[assignment]
    interaction.save(update_fields=["assigned_csr"])
    join = _open_join(interaction, manager)
    if join is None:
        ChatJoin.objects.create(
            interaction=interaction, manager_id=manager.pk, mode=JoinMode.BARGED_IN
        )
    elif join.mode != JoinMode.BARGED_IN:
        join.mode = JoinMode.BARGED_IN
        join.save(update_fields=["mode"])
    from_name = display_name(previous) if previous is not None else ""
    message_create(
        interaction=interaction,
        sender_kind=SenderKind.SYSTEM,
        text=f"{supervisor_name(manager)} took over the chat"
        + (f" from {from_name}" if from_name else ""),
        event=SystemEvent.TAKEN_OVER,
        data={"manager": display_name(manager), "from_csr": from_name},
    )
    chat_events.interaction_status_changed(interaction=interaction)
    if previous is not None:
        routing_events.chat_revoked(
            user_id=previous.pk,
            interaction_id=interaction.pk,
            reason=f"taken over by {supervisor_name(manager)}",
        )
        route_after_commit(csr_id=previous.pk)
    routing_events.queue_changed(queue_id=interaction.queue_id)
    audit_record(
        actor=manager,
        action=AuditAction.CHAT_TAKE_OVER,
        reason=reason,
        interaction_id=interaction.pk,
        target_user_id=previous.pk if previous is not None else None,
    )


@transaction.atomic
def chat_leave(*, manager: AbstractBaseUser, interaction_id: int) -> None:
    """Stop monitoring or leave after barging in (said to the customer then). A chat the
    manager took over is theirs: they end it or reassign it instead."""
    interaction = _lock(manager, interaction_id)
    if interaction.assigned_csr_id == manager.pk:
        raise SupervisionError(
            "owner", "This chat is yours now: end it or reassign it instead.", status=409
        )
    join = _open_join(interaction, manager)
    if join is None:
        raise SupervisionError("not_joined", "You have not joined this chat.", status=409)
    join.left_at = timezone.now()
    join.save(update_fields=["left_at"])
    visible = join.mode == JoinMode.BARGED_IN
    message_create(
        interaction=interaction,
        sender_kind=SenderKind.SYSTEM,
        text=f"{supervisor_name(manager)} left the chat"
        if visible
        else f"{supervisor_name(manager)} stopped monitoring the chat",
        event=SystemEvent.SUPERVISOR_LEFT,
        data={"manager": display_name(manager)},
        internal=not visible,
    )
    audit_record(actor=manager, action=AuditAction.CHAT_LEAVE, interaction_id=interaction.pk)


def _checked(text: Any, client_msg_id: Any) -> tuple[str, str]:
    try:
        return message_text_check(text), client_msg_id_check(client_msg_id)
    except ChatError as error:
        raise SupervisionError(error.code, error.message) from None


def _retried(interaction: Interaction, client_msg_id: str) -> Message | None:
    """The message already stored under this client id (a retried send), if any."""
    return Message.objects.filter(interaction=interaction, client_msg_id=client_msg_id).first()
