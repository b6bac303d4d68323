"""Messages: storing them in order, the customer's and the CSR's sends, read marks and
typing."""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F

from chat import events, webhooks
from chat.errors import ChatError
from chat.locks import interaction_lock
from chat.models import Attachment, Interaction, InteractionStatus, Message, SenderKind, SystemEvent
from chat.services.attachments import (
    attachment_ids_check,
    attachment_summary,
    attachments_for_send,
)
from chat.services.sentiment import sentiment_schedule
from chat.signals import customer_message_stored_send
from config.oncommit import on_commit_robust
from config.users import display_name

MAX_MESSAGE_CHARS = 5000

# What a send reads of its interaction, under the row lock: every message of every chat
# goes through it, and reading the whole row (and the customer's) costs more than the
# rest of the send. The customer's name is the interaction's own copy (no join).
SEND_FIELDS = ("status", "assigned_csr", "last_seq", "channel", "customer_name")
MAX_CLIENT_MSG_ID_CHARS = 64


@dataclass(frozen=True)
class SendResult:
    message: Message
    created: bool  # False when the client message id was seen before (a retried send)


def message_create(
    *,
    interaction: Interaction,
    sender_kind: SenderKind,
    text: str,
    author: AbstractBaseUser | None = None,
    author_name: str = "",
    client_msg_id: str = "",
    event: SystemEvent | str = "",
    data: dict[str, Any] | None = None,
    internal: bool = False,
) -> Message:
    """Store one message with the interaction's next sequence number, then publish it
    once the transaction commits. The way every message after the escalation is added
    (message_send adds the checks of a customer's or CSR's send). Callers pass the copy
    they read under the interaction's row lock (chat.locks). An `internal` message is for
    the contact center only (chat.events.customer_view, no webhook)."""
    with transaction.atomic(savepoint=False):
        interaction.last_seq = _seq_take(interaction)
        return _message_store(
            interaction,
            sender_kind=sender_kind,
            author=author,
            author_name=author_name,
            text=text,
            client_msg_id=client_msg_id,
            event=event,
            data=data or {},
            internal=internal,
        )


def _seq_take(interaction: Interaction) -> int:
    """Take the interaction's next sequence number: the UPDATE holds the row's lock until
    the transaction ends, so no two writers get the same number. It compares and sets
    against the caller's copy, current when read under the row lock as the services do
    (one statement); a stale copy takes the row's next number in two."""
    seq = interaction.last_seq + 1
    if Interaction.objects.filter(pk=interaction.pk, last_seq=seq - 1).update(last_seq=seq):
        return seq
    if not Interaction.objects.filter(pk=interaction.pk).update(last_seq=F("last_seq") + 1):
        raise Interaction.DoesNotExist(f"No interaction {interaction.pk}")
    return Interaction.objects.filter(pk=interaction.pk).values_list("last_seq", flat=True).get()


def _message_store(interaction: Interaction, **fields: Any) -> Message:
    """Insert the message numbered interaction.last_seq (taken by the caller); after
    commit publish it, send its webhook and, for the customer's, score the chat's
    sentiment."""
    message = Message.objects.create(interaction=interaction, seq=interaction.last_seq, **fields)
    events.message_created(message=message)
    webhooks.delivery_schedule(message=message)
    if message.sender_kind == SenderKind.CUSTOMER:
        sentiment_schedule(interaction_id=interaction.pk)
        on_commit_robust(
            customer_message_stored_send, interaction_id=interaction.pk, seq=message.seq
        )
    return message


def message_text_check(text: Any, *, may_be_empty: bool = False) -> str:
    """The text of a message, checked: not blank (unless `may_be_empty`, for a message
    of files only) and within MAX_MESSAGE_CHARS; ChatError otherwise."""
    if may_be_empty and (text is None or (isinstance(text, str) and not text.strip())):
        return ""  # a message of files only
    if not isinstance(text, str) or not text.strip():
        raise ChatError("empty", "A message needs some text.")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ChatError(
            "too_long",
            f"A message can be at most {MAX_MESSAGE_CHARS:,} characters; this one has "
            f"{len(text):,}.",
        )
    return text


def client_msg_id_check(client_msg_id: Any) -> str:
    """The sender's id of a message, checked: a non-empty string within
    MAX_CLIENT_MSG_ID_CHARS; ChatError otherwise."""
    if not isinstance(client_msg_id, str) or not client_msg_id:
        raise ChatError("bad_client_msg_id", "Every message needs a client_msg_id.")
    if len(client_msg_id) > MAX_CLIENT_MSG_ID_CHARS:
        raise ChatError(
            "bad_client_msg_id",
            f"client_msg_id can be at most {MAX_CLIENT_MSG_ID_CHARS} characters.",
        )
    return client_msg_id


# The names these checks had before they were public.
_check_text = message_text_check
_check_client_msg_id = client_msg_id_check


def csr_may_write(interaction: Interaction, user: AbstractBaseUser) -> bool:
    """The handling CSR writes until the chat ends; after a transfer they keep writing
    until another CSR accepts (assigned_csr changes then)."""
    return interaction.assigned_csr_id == user.pk and interaction.status in (
        InteractionStatus.ACTIVE,
        InteractionStatus.QUEUED,
        InteractionStatus.OFFERED,
    )


class _SendRefused(Exception):
    """Inside message_send's transaction: roll it back, then explain."""

    def __init__(self, error: ChatError | IntegrityError):
        super().__init__()
        self.error = error


def message_send(
    *,
    interaction_id: int,
    sender_kind: SenderKind,
    text: Any,
    client_msg_id: Any,
    user: AbstractBaseUser | None = None,
    event: SystemEvent | str = "",
    data: dict[str, Any] | None = None,
    attachment_ids: Any = None,
) -> SendResult:
    """A customer's or CSR's message: validated, stored once per client message id with
    the next sequence number, and published after commit. A CSR's message may carry an
    `event` and its `data` (an article card, a pushed page: the assist app).

    Customers may write while they wait and while the chat is active; a CSR only while
    handling the chat. Nobody writes to an ended chat. A refusal or a retried send rolls
    the transaction back (no sequence number is used up); a retry then gets the message
    stored under its id the first time. `attachment_ids` names files the sender
    uploaded to this chat (chat.services.attachments); such a message may have no text."""
    attachment_ids = attachment_ids_check(attachment_ids)
    text = message_text_check(text, may_be_empty=bool(attachment_ids))
    client_msg_id = client_msg_id_check(client_msg_id)
    if sender_kind not in (SenderKind.CUSTOMER, SenderKind.CSR):
        raise ChatError("not_party", "Only the customer or the handling CSR may send.")
    try:
        with transaction.atomic():
            interaction = interaction_lock(interaction_id, only=SEND_FIELDS)
            if interaction is None:
                raise _SendRefused(ChatError("not_found", "This chat does not exist."))
            if not interaction.is_open:
                raise _SendRefused(
                    ChatError("chat_ended", "This chat has ended; messages can no longer be sent.")
                )
            if sender_kind == SenderKind.CSR:
                if user is None or not csr_may_write(interaction, user):
                    raise _SendRefused(ChatError("not_party", "You are not handling this chat."))
                author, author_name = user, display_name(user)
            else:
                author, author_name = None, interaction.customer_name
            try:
                files = attachments_for_send(
                    interaction=interaction,
                    attachment_ids=attachment_ids,
                    sender_kind=sender_kind,
                    user=user,
                )
            except ChatError as error:
                raise _SendRefused(error) from None
            if files:
                data = {**(data or {}), "attachments": [attachment_summary(f) for f in files]}
            interaction.last_seq = _seq_take(interaction)
            try:
                message = _message_store(
                    interaction,
                    sender_kind=sender_kind,
                    author=author,
                    author_name=author_name,
                    text=text,
                    client_msg_id=client_msg_id,
                    event=event,
                    data=data or {},
                )
            except IntegrityError as error:
                raise _SendRefused(error) from None  # the id is taken: a retried send?
            if files:
                Attachment.objects.filter(pk__in=[f.pk for f in files]).update(message=message)
    except _SendRefused as refused:
        existing = Message.objects.filter(
            interaction_id=interaction_id, client_msg_id=client_msg_id
        ).first()
        if existing is None:
            raise refused.error from None
        if existing.sender_kind != sender_kind:
            # Ids are per interaction, not per sender: never hand one side's message to
            # the other as "theirs".
            raise ChatError(
                "bad_client_msg_id", "This client_msg_id is already used by another sender."
            ) from None
        return SendResult(message=existing, created=False)
    return SendResult(message=message, created=True)


def interaction_mark_read(
    *, interaction_id: int, by: SenderKind, seq: int, user: AbstractBaseUser | None = None
) -> int:
    """Record that the customer or the handling CSR has read the chat up to `seq`.

    The mark only moves forward and never past the newest message; when it moves, both
    sides are told after commit. Returns that side's mark. Allowed after the chat ended
    (the customer may still be reading it)."""
    if by not in (SenderKind.CUSTOMER, SenderKind.CSR):
        raise ChatError("not_party", "Only the customer or the handling CSR has a read mark.")
    field = "customer_read_seq" if by == SenderKind.CUSTOMER else "csr_read_seq"
    interaction = (
        Interaction.objects.filter(pk=interaction_id)
        .values("assigned_csr_id", "last_seq", field)
        .first()
    )
    if interaction is None:
        raise ChatError("not_found", "This chat does not exist.")
    if by == SenderKind.CSR and (user is None or interaction["assigned_csr_id"] != user.pk):
        raise ChatError("not_party", "You are not handling this chat.")
    # last_seq only grows, so the target stays valid; the conditional update keeps the
    # mark monotonic against concurrent marks without locking the interaction row.
    target = min(max(seq, 0), interaction["last_seq"])
    with transaction.atomic():
        moved = Interaction.objects.filter(pk=interaction_id, **{f"{field}__lt": target}).update(
            **{field: target}
        )
        if moved:
            events.read_marked(interaction_id=interaction_id, by=by, seq=target)
    return target if moved else max(target, interaction[field])


def interaction_typing(
    *, interaction_id: int, by: SenderKind, active: bool, user: AbstractBaseUser | None = None
) -> None:
    """Tell the chat that the customer or the CSR started or stopped typing (nothing is
    stored). Only those who may send may type."""
    interaction = Interaction.objects.filter(pk=interaction_id).first()
    if interaction is None:
        raise ChatError("not_found", "This chat does not exist.")
    if not interaction.is_open:
        raise ChatError("chat_ended", "This chat has ended.")
    if by == SenderKind.CSR:
        if user is None or not csr_may_write(interaction, user):
            raise ChatError("not_party", "You are not handling this chat.")
        name = display_name(user)
    elif by == SenderKind.CUSTOMER:
        name = interaction.customer_name
    else:
        raise ChatError("not_party", "Only the customer or the handling CSR may type.")
    events.typing_changed(interaction_id=interaction_id, by=by, active=active, name=name)
