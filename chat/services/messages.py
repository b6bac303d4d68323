"""Messages: storing them in order, the customer's and the CSR's sends, read marks and
typing."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Case, Exists, F, OuterRef, PositiveIntegerField, Value, When

from chat import events, webhooks
from chat.errors import ChatError
from chat.locks import interactions_lock
from chat.models import Attachment, Interaction, InteractionStatus, Message, SenderKind, SystemEvent
from chat.services.attachments import (
    ATTACHMENT_TAKEN_MESSAGE,
    attachment_ids_check,
    attachment_summary,
    attachments_for_send,
)
from chat.services.sentiment import sentiment_schedule_many
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
    """Insert the message numbered interaction.last_seq (taken by the caller), and
    register what follows its commit."""
    message = Message.objects.create(interaction=interaction, seq=interaction.last_seq, **fields)
    _message_publish(message)
    _customer_messages_stored([message])
    return message


def _message_publish(message: Message) -> None:
    """A message was inserted: after commit publish it and send its webhook."""
    events.message_created(message=message)
    webhooks.delivery_schedule(message=message)


def _customer_messages_stored(messages: list[Message]) -> None:
    """After commit, for the customer's messages among these: score their chats'
    sentiment (one request for them all) and tell the apps above of each."""
    customers = [message for message in messages if message.sender_kind == SenderKind.CUSTOMER]
    if not customers:
        return
    sentiment_schedule_many(
        interaction_ids=list(dict.fromkeys(message.interaction_id for message in customers))
    )
    for message in customers:
        on_commit_robust(
            customer_message_stored_send, interaction_id=message.interaction_id, seq=message.seq
        )


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


@dataclass(frozen=True)
class SendRequest:
    """One customer's or CSR's send, as message_send takes it (checked there)."""

    interaction_id: int
    sender_kind: SenderKind
    text: Any
    client_msg_id: Any
    user: AbstractBaseUser | None = None
    event: SystemEvent | str = ""
    data: dict[str, Any] | None = None
    attachment_ids: Any = None


# What a send comes to: stored (or a retry answered), refused, or an unexpected failure.
SendOutcome = SendResult | Exception


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
    handling the chat. Nobody writes to an ended chat. A refusal or a retried send uses
    no sequence number; a retry gets the message stored under its id the first time.
    `attachment_ids` names files the sender uploaded to this chat
    (chat.services.attachments); such a message may have no text. Raises ChatError when
    refused. The sends of the chat sockets go through message_send_many, in batches."""
    request = SendRequest(
        interaction_id=interaction_id,
        sender_kind=sender_kind,
        text=text,
        client_msg_id=client_msg_id,
        user=user,
        event=event,
        data=data,
        attachment_ids=attachment_ids,
    )
    (outcome,) = message_send_many([request])
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def message_send_many(
    requests: Sequence[SendRequest],
    *,
    answered: Callable[[list[SendOutcome]], None] | None = None,
) -> list[SendOutcome]:
    """Store several sends, from any chats, in one transaction (one commit for all:
    group commit), each exactly as message_send would; the outcomes in the order of
    `requests`. A refused send gets its ChatError and takes nothing from the others.
    Sends to one chat are numbered in the order given. `answered` gets the outcomes as
    soon as they are committed and published, before the slower after-commit work
    (sentiment requests, the apps' hooks) is done.

    Should the batch fail in the database (a constraint no check foresaw, a lost
    connection), it is rolled back and each send is tried again in a transaction of its
    own, so that a failure is the failing send's alone."""
    outcomes: list[SendOutcome | None] = [None] * len(requests)
    checked: list[tuple[int, _CheckedSend]] = []
    for index, request in enumerate(requests):
        try:
            checked.append((index, _send_check(request)))
        except ChatError as error:
            outcomes[index] = error
    if checked:
        try:
            _sends_store_atomic(checked, outcomes, answered=answered)
            return outcomes  # type: ignore[return-value]
        except DatabaseError as error:
            if len(checked) == 1:  # on its own already
                (index, send), checked = checked[0], []
                outcomes[index] = _failure_answer(send, error)
    for index, send in checked:  # the batch failed: each on its own
        try:
            _sends_store_atomic([(index, send)], outcomes, answered=None)
        except DatabaseError as error:
            outcomes[index] = _failure_answer(send, error)
    if answered is not None:
        answered(outcomes)  # type: ignore[arg-type]
    return outcomes  # type: ignore[return-value]


def _sends_store_atomic(
    sends: list[tuple[int, "_CheckedSend"]],
    outcomes: list[SendOutcome | None],
    *,
    answered: Callable[[list[SendOutcome]], None] | None,
) -> None:
    """_sends_store in a transaction of its own, its outcomes put in place; `answered`
    (if any) runs after commit, once the messages are published."""
    with transaction.atomic():
        stored = _sends_store(sends)
        for (index, _), outcome in zip(sends, stored, strict=True):
            outcomes[index] = outcome
        if answered is not None:
            transaction.on_commit(lambda: answered(outcomes))  # type: ignore[arg-type]
        _customer_messages_stored(
            [o.message for o in stored if isinstance(o, SendResult) and o.created]
        )


@dataclass(frozen=True)
class _CheckedSend:
    request: SendRequest
    text: str
    client_msg_id: str
    attachment_ids: list[int]


def _send_check(request: SendRequest) -> _CheckedSend:
    """What needs no database: the shape of the send."""
    attachment_ids = attachment_ids_check(request.attachment_ids)
    text = message_text_check(request.text, may_be_empty=bool(attachment_ids))
    client_msg_id = client_msg_id_check(request.client_msg_id)
    if request.sender_kind not in (SenderKind.CUSTOMER, SenderKind.CSR):
        raise ChatError("not_party", "Only the customer or the handling CSR may send.")
    return _CheckedSend(request, text, client_msg_id, attachment_ids)


def _sends_store(sends: list[tuple[int, _CheckedSend]]) -> list[SendOutcome]:
    """Inside the batch's transaction: lock the chats, answer retries and refusals, take
    the sequence numbers of all the chats in one UPDATE and insert the messages in one
    INSERT; their events, webhooks and hooks follow the commit."""
    interaction_ids = {send.request.interaction_id for _, send in sends}
    client_msg_ids = {send.client_msg_id for _, send in sends}
    # Whether a chat holds any of these ids already, read with its lock: one statement
    # in the usual case of no retry.
    sent_before = Exists(
        Message.objects.filter(interaction_id=OuterRef("pk"), client_msg_id__in=client_msg_ids)
    )
    chats = {
        interaction.pk: interaction
        for interaction in interactions_lock(interaction_ids, only=SEND_FIELDS).annotate(
            sent_before=sent_before
        )
    }
    resent = [pk for pk, chat in chats.items() if chat.sent_before]
    stored: dict[tuple[int, str], Message] = {}
    if resent:
        retried = Message.objects.filter(
            interaction_id__in=resent, client_msg_id__in=client_msg_ids
        ).order_by()
        stored = {(message.interaction_id, message.client_msg_id): message for message in retried}
    outcomes: list[SendOutcome] = []
    new: list[tuple[Message, list[Attachment]]] = []
    seqs: dict[int, int] = {}
    claimed: set[int] = set()  # files taken by an earlier send of this batch
    for _, send in sends:
        request = send.request
        key = (request.interaction_id, send.client_msg_id)
        if key in stored:
            outcomes.append(_stored_answer(stored[key], request.sender_kind))
            continue
        interaction = chats.get(request.interaction_id)
        try:
            author, author_name = _send_refusal_check(interaction, request)
            assert interaction is not None
            if claimed.intersection(send.attachment_ids):
                raise ChatError("bad_attachment", ATTACHMENT_TAKEN_MESSAGE)
            files = attachments_for_send(
                interaction=interaction,
                attachment_ids=send.attachment_ids,
                sender_kind=request.sender_kind,
                user=request.user,
            )
        except ChatError as error:
            outcomes.append(error)
            continue
        claimed.update(send.attachment_ids)
        data = request.data or {}
        if files:
            data = {**data, "attachments": [attachment_summary(f) for f in files]}
        seqs[interaction.pk] = seqs.get(interaction.pk, interaction.last_seq) + 1
        message = Message(
            interaction=interaction,
            seq=seqs[interaction.pk],
            sender_kind=request.sender_kind,
            author_id=None if author is None else author.pk,
            author_name=author_name,
            text=send.text,
            client_msg_id=send.client_msg_id,
            event=request.event,
            data=data,
        )
        stored[key] = message  # a second send of the id in this batch is its retry
        new.append((message, files))
        outcomes.append(SendResult(message=message, created=True))
    if not new:
        return outcomes
    _seqs_set(seqs)
    Message.objects.bulk_create([message for message, _ in new])
    for message, files in new:
        if files:
            Attachment.objects.filter(pk__in=[f.pk for f in files]).update(message=message)
        _message_publish(message)
    return outcomes


def _send_refusal_check(
    interaction: Interaction | None, request: SendRequest
) -> tuple[AbstractBaseUser | None, str]:
    """The author and the name a send is stored with; ChatError when it is refused."""
    if interaction is None:
        raise ChatError("not_found", "This chat does not exist.")
    if not interaction.is_open:
        raise ChatError("chat_ended", "This chat has ended; messages can no longer be sent.")
    if request.sender_kind == SenderKind.CSR:
        if request.user is None or not csr_may_write(interaction, request.user):
            raise ChatError("not_party", "You are not handling this chat.")
        return request.user, display_name(request.user)
    return None, interaction.customer_name


def _seqs_set(seqs: dict[int, int]) -> None:
    """Move each chat's last_seq to the number its batch took: one UPDATE for all the
    chats, under the locks the batch holds."""
    if len(seqs) == 1:
        ((pk, seq),) = seqs.items()
        Interaction.objects.filter(pk=pk).update(last_seq=seq)
        return
    Interaction.objects.filter(pk__in=seqs).update(
        last_seq=Case(
            *(When(pk=pk, then=Value(seq)) for pk, seq in seqs.items()),
            output_field=PositiveIntegerField(),
        )
    )


def _stored_answer(message: Message, sender_kind: SenderKind) -> SendOutcome:
    """The answer to a send whose id is stored already: that message, if it is the
    same sender's."""
    if message.sender_kind != sender_kind or message.event == SystemEvent.NOTE:
        # Ids are per interaction, not per sender: never hand one side's message to
        # the other as "theirs", nor an internal note to a send (acked, nothing would
        # reach the customer).
        return ChatError(
            "bad_client_msg_id", "This client_msg_id is already used by another sender."
        )
    return SendResult(message=message, created=False)


def _failure_answer(send: _CheckedSend, error: DatabaseError) -> SendOutcome:
    """The answer to a send whose transaction failed: when its id was taken meanwhile
    (a retried send racing its first try), the stored message; else the error."""
    if not isinstance(error, IntegrityError):
        return error
    existing = Message.objects.filter(
        interaction_id=send.request.interaction_id, client_msg_id=send.client_msg_id
    ).first()
    return error if existing is None else _stored_answer(existing, send.request.sender_kind)


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
