"""State changes of the chat app: bot clients, escalations, messages."""

import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NotRequired, TypedDict

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from redis.exceptions import RedisError

from chat import events, identity, schemas, sentiment, webhooks
from chat.models import (
    BotClient,
    Channel,
    Customer,
    CustomerToken,
    Interaction,
    InteractionStatus,
    Message,
    SenderKind,
    SystemEvent,
)
from chat.selectors import (
    app_studio_settings_get,
    channel_get_for_escalation,
    customer_messages_newest,
    customer_messages_newest_many,
    interaction_get_by_idempotency_key,
)
from chat.tokens import BOT_TOKEN_PREFIX, CUSTOMER_TOKEN_PREFIX, token_digest, token_new
from config.cache import redis_client
from config.inserts import insert, insert_many, insert_unless_conflict
from config.oncommit import on_commit_robust
from config.ratelimit import window_count
from config.rawsql import (
    for_update,
    partial_instance,
    placeholders,
    quote,
    raw_first,
    related_value,
)
from config.taskqueue import enqueue
from routing.selectors import queue_for_escalation

logger = logging.getLogger(__name__)

# last_used_at is a hint for administrators: write it at most this often per client.
BOT_CLIENT_TOUCH_INTERVAL = timedelta(minutes=1)
# The name given to a new customer the bot could not name.
UNNAMED_CUSTOMER = "Guest"


@transaction.atomic
def bot_client_create(
    *, name: str, channels: list[Channel] | None = None, active: bool = True
) -> tuple[BotClient, str]:
    """Create a bot API client; the clear-text token is returned once and never stored."""
    token = token_new(BOT_TOKEN_PREFIX)
    client = BotClient.objects.create(
        name=name, token_hash=token_digest(token), token_prefix=token[:10], active=active
    )
    if channels:
        client.allowed_channels.set(channels)
    return client, token


@transaction.atomic
def bot_client_rotate_token(*, client: BotClient) -> str:
    """Give a client a new token; the old one stops working at once."""
    token = token_new(BOT_TOKEN_PREFIX)
    client.token_hash = token_digest(token)
    client.token_prefix = token[:10]
    client.save(update_fields=["token_hash", "token_prefix"])
    return token


def bot_client_touch(*, client: BotClient) -> bool:
    """Record that the client just used the API, at most once per
    BOT_CLIENT_TOUCH_INTERVAL (no query at all in between). True when it wrote."""
    now = timezone.now()
    if client.last_used_at is not None and now - client.last_used_at < BOT_CLIENT_TOUCH_INTERVAL:
        return False
    # Conditional, so concurrent requests of one client write once between them.
    written = (
        BotClient.objects.filter(pk=client.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - BOT_CLIENT_TOUCH_INTERVAL))
        .update(last_used_at=now)
    )
    client.last_used_at = now
    return bool(written)


class IdempotencyKeyConflict(Exception):
    """An idempotency key was used before with a different request body (409)."""


class CustomerData(TypedDict):
    """Who the customer is, as the bot knows them. Empty or missing values keep what an
    earlier escalation stored for the same external_id."""

    external_id: NotRequired[str]
    name: NotRequired[str]
    email: NotRequired[str]
    phone: NotRequired[str]
    # A claim of authentication counts only with a valid identity token (chat.identity).
    authenticated: NotRequired[bool]
    identity_token: NotRequired[dict[str, Any]]
    metadata: NotRequired[dict[str, Any]]


class TranscriptEntry(TypedDict):
    """One line of the bot conversation; `sender` is SenderKind.CUSTOMER or BOT."""

    sender: str
    text: str
    at: NotRequired[datetime | None]


@dataclass(frozen=True)
class EscalationWarning:
    """Something the escalation did not take as sent, though it went through."""

    code: str
    field: str
    message: str


@dataclass(frozen=True)
class EscalationResult:
    interaction: Interaction
    customer_token: str  # clear text, handed out once; only its digest is stored
    created: bool  # False for an idempotent replay
    warnings: tuple[EscalationWarning, ...] = ()


def escalation_fingerprint(*, body: Any) -> str:
    """SHA-256 of the request body as canonical JSON (sorted keys, no spaces), so the
    same content sent with other spacing or key order has the same fingerprint."""
    canonical = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def escalation_create(
    *,
    client: BotClient,
    channel_slug: str,
    customer: CustomerData,
    queue_slug: str | None = None,
    intent: str = "",
    context: dict[str, Any] | None = None,
    transcript: list[TranscriptEntry] | None = None,
    priority: int = 0,
    idempotency_key: str = "",
    fingerprint: str = "",
) -> EscalationResult:
    """Hand a customer over from a bot: in one transaction upsert the customer, create
    the queued interaction, store the bot transcript and the escalation notice, and mint
    a customer token; route the interaction once that commits.

    With an idempotency key already used by this client: the same fingerprint replays
    the first escalation (with a new customer token), another raises
    IdempotencyKeyConflict. The key is not looked up first: the insert hits the unique
    constraint, everything rolls back, and the first interaction is re-read. A replay is
    rare, and the lookup cost every escalation a query; two concurrent requests with one
    key end the same way.
    """
    try:
        with transaction.atomic():
            return _escalation_write(
                client=client,
                channel_slug=channel_slug,
                customer_data=customer,
                queue_slug=queue_slug,
                intent=intent,
                context=context or {},
                transcript=transcript or [],
                priority=priority,
                idempotency_key=idempotency_key,
                fingerprint=fingerprint,
            )
    except IntegrityError:
        existing = interaction_get_by_idempotency_key(client=client, key=idempotency_key)
        if existing is None:
            raise
        logger.info("Escalation with key %r replays interaction %s", idempotency_key, existing.pk)
        return _escalation_replay(
            interaction=existing, key=idempotency_key, fingerprint=fingerprint
        )


def _escalation_replay(*, interaction: Interaction, key: str, fingerprint: str) -> EscalationResult:
    if interaction.request_fingerprint != fingerprint:
        raise IdempotencyKeyConflict(
            f"Idempotency key '{key}' was already used for escalation {interaction.pk} with a "
            "different request body. Send a new key for a new escalation, or the original "
            "body to get that escalation back."
        )
    # Only digests are stored, so the first token cannot be returned: mint another. The
    # first one stays valid.
    token = _customer_token_create(interaction=interaction)
    return EscalationResult(interaction=interaction, customer_token=token, created=False)


def _escalation_write(
    *,
    client: BotClient,
    channel_slug: str,
    customer_data: CustomerData,
    queue_slug: str | None,
    intent: str,
    context: dict[str, Any],
    transcript: list[TranscriptEntry],
    priority: int,
    idempotency_key: str,
    fingerprint: str,
) -> EscalationResult:
    channel = channel_get_for_escalation(client=client, slug=channel_slug)
    queue = queue_for_escalation(channel=channel, queue_slug=queue_slug, intent=intent)
    verified, warnings = _escalation_identity(channel=channel, customer_data=customer_data)
    customer = _customer_upsert(data=customer_data, verified=verified)
    now = timezone.now()
    escalated_seq = len(transcript) + 1
    interaction = insert(
        Interaction(
            status=InteractionStatus.QUEUED,
            customer=customer,
            channel=channel,
            queue=queue,
            intent=intent,
            context=context,
            priority=priority,
            authenticated=verified is not None,
            authenticated_at=now if verified is not None else None,
            bot_client=client,
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint,
            last_seq=escalated_seq,
            created_at=now,
            queued_at=now,
        )
    )
    messages = [
        Message(
            interaction=interaction,
            seq=seq,
            sender_kind=entry["sender"],
            author_name=customer.name if entry["sender"] == SenderKind.CUSTOMER else client.name,
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
    insert_many(messages)
    if any(entry["sender"] == SenderKind.CUSTOMER for entry in transcript):
        # The CSR sees how the customer felt with the bot before the first live word.
        _sentiment_schedule(interaction_id=interaction.pk)
    token = _customer_token_create(interaction=interaction)
    # robust: the escalation is committed whatever the broker does; a queued interaction
    # that missed its task is still waiting in its queue, not lost.
    from routing.services import routing_request  # routing builds on chat: import late

    on_commit_robust(routing_request, queue_ids=[queue.pk])
    return EscalationResult(
        interaction=interaction, customer_token=token, created=True, warnings=warnings
    )


def _escalation_identity(
    *, channel: Channel, customer_data: CustomerData
) -> tuple[identity.VerifiedIdentity | None, tuple[EscalationWarning, ...]]:
    """Whether the escalation proves who the customer is: only a valid identity token
    for customer.external_id does. A bare `authenticated: true`, or a token that does
    not check out, is not an error (the customer still reaches a CSR): the interaction
    arrives unauthenticated, with a warning saying why."""
    token = customer_data.get("identity_token")
    if token is None:
        if not customer_data.get("authenticated"):
            return None, ()
        warning = EscalationWarning(
            code="authentication_unverified",
            field="customer.authenticated",
            message="authenticated: true needs customer.identity_token, signed with the "
            "channel's identity secret (docs/authentication.md); the customer arrives "
            "unauthenticated.",
        )
    else:
        try:
            verified = identity.verify(
                token=token,
                secret=channel.identity_secret,
                customer_id=customer_data.get("external_id", ""),
            )
        except identity.IdentityError as error:
            warning = EscalationWarning(
                code=error.code,
                field="customer.identity_token",
                message=f"{error.message} The customer arrives unauthenticated.",
            )
        else:
            return verified, ()
    logger.warning("Escalation on channel %r not authenticated: %s", channel.slug, warning.code)
    return None, (warning,)


def _customer_upsert(
    *, data: CustomerData, verified: identity.VerifiedIdentity | None = None
) -> Customer:
    """The customer with this external_id, updated (empty values keep the stored ones,
    metadata is merged key by key), or a new customer; always new without an
    external_id. A claim of authentication sets `authenticated` to whether it was
    verified."""
    external_id = data.get("external_id", "")
    given: dict[str, Any] = {
        field: data[field]  # type: ignore[literal-required]
        for field in ("name", "email", "phone")
        if data.get(field)
    }
    if "authenticated" in data or "identity_token" in data:
        given["authenticated"] = verified is not None
    if verified is not None:
        given["verified_identity"] = verified.identity
    metadata = data.get("metadata") or {}
    defaults = {"name": UNNAMED_CUSTOMER, **given, "metadata": metadata}
    if not external_id:
        return insert(Customer(**defaults))
    # Locked: two escalations of one customer must not lose each other's metadata.
    customer = raw_first(Customer, _customer_lock_sql(), [external_id])
    if customer is None:
        created = insert_unless_conflict(Customer(external_id=external_id, **defaults))
        if created is not None:
            return created
        # Another escalation created this customer a moment ago (its insert committed
        # first, ours waited for it): update theirs.
        customer = Customer.objects.select_for_update().get(external_id=external_id)
    for field, value in given.items():
        setattr(customer, field, value)
    customer.metadata = {**customer.metadata, **metadata}
    customer.save(update_fields=[*given, "metadata", "updated_at"])
    return customer


@functools.cache
def _customer_lock_sql() -> str:
    customers = quote(Customer._meta.db_table)
    return f"SELECT {customers}.* FROM {customers} WHERE {customers}.external_id = %s{for_update()}"  # noqa: S608 - our names


def _customer_token_create(*, interaction: Interaction) -> str:
    token = token_new(CUSTOMER_TOKEN_PREFIX)
    insert(CustomerToken(interaction=interaction, token_hash=token_digest(token)))
    return token


def _next_seq(interaction: Interaction) -> int:
    """Take the interaction's next sequence number in one statement (PostgreSQL and
    SQLite ≥ 3.35 both return the updated value); the row stays locked until commit.
    The same statement reads the channel's webhook settings: a caller whose copy lacks
    the channel gets them attached, so scheduling the webhook costs no query."""
    taken = _seq_take(interaction.pk)
    if taken is None:
        raise Interaction.DoesNotExist(f"No interaction {interaction.pk}")
    if not Interaction.channel.is_cached(interaction):  # type: ignore[attr-defined]
        interaction.channel = taken["interaction"].channel
    return taken["interaction"].last_seq


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
) -> Message:
    """Store one message with the interaction's next sequence number, then publish it
    once the transaction commits. The only way messages are added after an escalation.

    The sequence is taken by an UPDATE of the interaction row, which holds that row's
    lock until commit, so two writers can never get the same number."""
    # No savepoint inside a caller's transaction: a failure here fails the caller anyway,
    # and SAVEPOINT/RELEASE cost two round trips per message.
    with transaction.atomic(savepoint=False):
        seq = _next_seq(interaction)
        # Keep the caller's copy current, so a later save() cannot write an old number.
        interaction.last_seq = seq
        return _message_insert(
            interaction=interaction,
            seq=seq,
            sender_kind=sender_kind,
            author=author,
            author_name=author_name,
            text=text,
            client_msg_id=client_msg_id,
            event=event,
            data=data or {},
        )


def _message_insert(*, interaction: Interaction, **fields: Any) -> Message:
    """Insert a message whose seq is already taken (the interaction row is locked), and
    publish it and schedule its webhook after commit."""
    message = insert(Message(interaction=interaction, **fields))
    events.message_created(message=message)
    webhooks.delivery_schedule(message=message)
    if message.sender_kind == SenderKind.CUSTOMER:
        _sentiment_schedule(interaction_id=interaction.pk)
    return message


# --- Live chat ------------------------------------------------------------------------

MAX_MESSAGE_CHARS = 5000
MAX_CLIENT_MSG_ID_CHARS = 64


class ChatError(Exception):
    """A refused chat action, with a code for machines and a message for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SendResult:
    message: Message
    created: bool  # False when the client message id was seen before (a retried send)


def _check_text(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ChatError("empty", "A message needs some text.")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ChatError(
            "too_long",
            f"A message can be at most {MAX_MESSAGE_CHARS:,} characters; this one has "
            f"{len(text):,}.",
        )
    return text


def _check_client_msg_id(client_msg_id: Any) -> str:
    if not isinstance(client_msg_id, str) or not client_msg_id:
        raise ChatError("bad_client_msg_id", "Every message needs a client_msg_id.")
    if len(client_msg_id) > MAX_CLIENT_MSG_ID_CHARS:
        raise ChatError(
            "bad_client_msg_id",
            f"client_msg_id can be at most {MAX_CLIENT_MSG_ID_CHARS} characters.",
        )
    return client_msg_id


def _csr_may_write(interaction: Interaction, user: AbstractBaseUser) -> bool:
    """The handling CSR writes until the chat ends; after a transfer they keep writing
    until another CSR accepts (assigned_csr changes then)."""
    return interaction.assigned_csr_id == user.pk and interaction.status in (
        InteractionStatus.ACTIVE,
        InteractionStatus.QUEUED,
        InteractionStatus.OFFERED,
    )


class _SendRefused(Exception):
    """Inside message_send's transaction: undo the seq just taken, then explain."""

    def __init__(self, error: ChatError | IntegrityError):
        super().__init__()
        self.error = error


def _seq_take(interaction_id: int) -> dict[str, Any] | None:
    """Lock the interaction row and take its next seq in one statement, returning what
    a send needs to decide (status, handler, the customer's name) and what its webhook
    needs (the channel's webhook settings); None when the interaction does not exist.
    The caller rolls back if the send is refused."""
    with connection.cursor() as cursor:
        cursor.execute(_seq_take_sql(), [interaction_id])
        row = cursor.fetchone()
    if row is None:
        return None
    seq, status, assigned_csr_id, channel_id, customer_id, customer_name, *channel_values = row
    interaction = Interaction(
        pk=interaction_id,
        last_seq=seq,
        status=status,
        assigned_csr_id=assigned_csr_id,
        channel_id=channel_id,
        customer_id=customer_id,
    )
    # A channel with only these fields loaded (any other is read if ever asked for), so
    # scheduling the webhook of a CSR's message costs no query.
    interaction.channel = partial_instance(
        Channel, id=channel_id, **dict(zip(_SEQ_TAKE_CHANNEL_FIELDS, channel_values, strict=True))
    )
    return {"interaction": interaction, "customer_name": customer_name}


_SEQ_TAKE_CHANNEL_FIELDS = ("slug", "webhook_url", "webhook_secret")


@functools.cache
def _seq_take_sql() -> str:
    table = quote(Interaction._meta.db_table)
    channel_columns = ", ".join(
        related_value(Interaction, "channel", name) for name in _SEQ_TAKE_CHANNEL_FIELDS
    )
    return (
        f"UPDATE {table} SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq, "  # noqa: S608 - the table and column names are ours
        f"status, assigned_csr_id, channel_id, customer_id, "
        f"{related_value(Interaction, 'customer')}, {channel_columns}"
    )


def message_send(
    *,
    interaction_id: int,
    sender_kind: SenderKind,
    text: Any,
    client_msg_id: Any,
    user: AbstractBaseUser | None = None,
) -> SendResult:
    """A customer's or CSR's message: validated, stored once per client message id with
    the next sequence number, and published after commit.

    Customers may write while they wait and while the chat is active; a CSR only while
    handling the chat. Nobody writes to an ended chat.

    The usual send is three round trips: BEGIN, one UPDATE that locks the row, takes the
    seq and returns the state, the INSERT, COMMIT. Retries and refusals roll that back
    (no seq is burnt) and then look for the message already stored under the id."""
    text = _check_text(text)
    client_msg_id = _check_client_msg_id(client_msg_id)
    if sender_kind not in (SenderKind.CUSTOMER, SenderKind.CSR):
        raise ChatError("not_party", "Only the customer or the handling CSR may send.")
    try:
        with transaction.atomic():
            taken = _seq_take(interaction_id)
            if taken is None:
                raise _SendRefused(ChatError("not_found", "This chat does not exist."))
            interaction = taken["interaction"]
            if not interaction.is_open:
                raise _SendRefused(
                    ChatError("chat_ended", "This chat has ended; messages can no longer be sent.")
                )
            if sender_kind == SenderKind.CSR:
                if user is None or not _csr_may_write(interaction, user):
                    raise _SendRefused(ChatError("not_party", "You are not handling this chat."))
                # get_full_name is auth.User's: users are typed AbstractBaseUser here.
                author, author_name = user, user.get_full_name() or user.get_username()  # type: ignore[attr-defined]
            else:
                author, author_name = None, taken["customer_name"]
            try:
                message = _message_insert(
                    interaction=interaction,
                    seq=interaction.last_seq,
                    sender_kind=sender_kind,
                    author=author,
                    author_name=author_name,
                    text=text,
                    client_msg_id=client_msg_id,
                )
            except IntegrityError as error:
                raise _SendRefused(error) from None  # the id is taken: a retried send?
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


def interaction_end(
    *, interaction_id: int, by: SenderKind, user: AbstractBaseUser | None = None
) -> Interaction:
    """End a chat, by its CSR or its customer: a system message, both sides told, the
    CSR's capacity freed (which routes the next chat). A customer leaving before any
    CSR joined abandons the chat instead."""
    from routing import services as routing_services

    with transaction.atomic():
        interaction = (
            Interaction.objects.select_for_update(of=("self",))
            .select_related("assigned_csr")
            .filter(pk=interaction_id)
            .first()
        )
        if interaction is None:
            raise ChatError("not_found", "This chat does not exist.")
        if by == SenderKind.CSR and (user is None or interaction.assigned_csr_id != user.pk):
            raise ChatError("not_party", "You are not handling this chat.")
        if not interaction.is_open:
            raise ChatError("chat_ended", "This chat has already ended.")
        if by == SenderKind.CUSTOMER and interaction.status != InteractionStatus.ACTIVE:
            routing_services.interaction_abandon(interaction_id=interaction.pk)
            interaction.refresh_from_db()
            return interaction
        csr = interaction.assigned_csr
        interaction.status = InteractionStatus.ENDED
        interaction.ended_at = timezone.now()
        interaction.ended_by = by
        interaction.save(update_fields=["status", "ended_at", "ended_by"])
        if by == SenderKind.CSR:
            assert csr is not None  # the handling CSR: checked against user above
            text = f"{csr.get_full_name() or csr.get_username()} ended the chat"
        else:
            text = "The customer ended the chat"
        message_create(
            interaction=interaction,
            sender_kind=SenderKind.SYSTEM,
            text=text,
            event=SystemEvent.ENDED,
            data={"by": by},
        )
        events.interaction_status_changed(interaction=interaction)
        if csr is not None:
            routing_services.csr_chat_ended(user_id=csr.pk)
    return interaction


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
    interaction = Interaction.objects.select_related("customer").filter(pk=interaction_id).first()
    if interaction is None:
        raise ChatError("not_found", "This chat does not exist.")
    if not interaction.is_open:
        raise ChatError("chat_ended", "This chat has ended.")
    if by == SenderKind.CSR:
        if user is None or not _csr_may_write(interaction, user):
            raise ChatError("not_party", "You are not handling this chat.")
        name = user.get_full_name() or user.get_username()  # type: ignore[attr-defined]
    elif by == SenderKind.CUSTOMER:
        name = interaction.customer.name
    else:
        raise ChatError("not_party", "Only the customer or the handling CSR may type.")
    events.typing_changed(interaction_id=interaction_id, by=by, active=active, name=name)


# --- Authentication ---------------------------------------------------------------------

AUTH_REQUESTED_TEXT = "Authentication request is sent to customer"
AUTHENTICATED_TEXT = "Customer authenticated"
AUTH_ATTEMPT_WINDOW_SECONDS = 60
# How the customer proved who they are (the AUTHENTICATED message's data["via"]).
AUTH_VIA_WIDGET = "widget"
AUTH_VIA_CONNECTOR = "connector"


class ChatRateLimited(ChatError):
    """A refused chat action that may be tried again after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: int):
        super().__init__("rate_limited", message)
        self.retry_after = retry_after


def auth_request_unavailable(*, interaction: Interaction) -> ChatError | None:
    """Why the customer of this chat cannot be asked to authenticate now, whoever asks;
    None when they can. Reads `interaction.channel`."""
    if not interaction.is_open:
        return ChatError("chat_ended", "This chat has ended.")
    if interaction.status != InteractionStatus.ACTIVE:
        return ChatError("not_active", "The chat is not active.")
    if interaction.authenticated:
        return ChatError("already_authenticated", "The customer is already authenticated.")
    return channel_auth_request_unavailable(channel=interaction.channel)


def channel_auth_request_unavailable(*, channel: Channel) -> ChatError | None:
    """Why customers on this channel can never be asked to authenticate; None when they
    can (App Studio allows it and an identity secret is set to check their tokens)."""
    if not channel.auth_requests_allowed:
        return ChatError("auth_not_allowed", "This channel does not allow authentication requests.")
    if not channel.identity_secret:
        return ChatError(
            identity.NOT_CONFIGURED, "No identity secret is configured for this channel."
        )
    return None


def interaction_request_authentication(*, interaction_id: int, csr: AbstractBaseUser) -> Message:
    """The handling CSR asks the customer to log in: the request time is stored and the
    system message "Authentication request is sent to customer" (event auth_requested)
    is added, which is the customer's login request: the widget shows a login prompt on
    it, and a connector gets it by webhook (docs/authentication.md)."""
    with transaction.atomic():
        interaction = (
            Interaction.objects.select_for_update(of=("self",))
            .select_related("channel")
            .filter(pk=interaction_id)
            .first()
        )
        if interaction is None:
            raise ChatError("not_found", "This chat does not exist.")
        if interaction.assigned_csr_id != csr.pk:
            raise ChatError("not_party", "You are not handling this chat.")
        refusal = auth_request_unavailable(interaction=interaction)
        if refusal is not None:
            raise refusal
        interaction.auth_requested_at = timezone.now()
        interaction.save(update_fields=["auth_requested_at"])
        return message_create(
            interaction=interaction,
            sender_kind=SenderKind.SYSTEM,
            text=AUTH_REQUESTED_TEXT,
            event=SystemEvent.AUTH_REQUESTED,
            data={"csr": csr.get_full_name() or csr.get_username(), "csr_id": csr.pk},  # type: ignore[attr-defined]
        )


def _auth_attempt_take(interaction_id: int) -> None:
    """Count an authentication attempt against the interaction's minute, in the shared
    cache (fixed windows, so every server process counts together)."""
    limit = settings.PORTAL["AUTH_ATTEMPTS_PER_MINUTE"]
    counted = window_count(
        f"auth-attempts:{interaction_id}", window_seconds=AUTH_ATTEMPT_WINDOW_SECONDS
    )
    if counted.count > limit:
        retry_after = counted.retry_after
        raise ChatRateLimited(
            f"Too many authentication attempts for this chat: at most {limit} a minute. "
            f"Try again in {retry_after} seconds.",
            retry_after=retry_after,
        )


def interaction_authenticate(
    *, interaction_id: int, token: Any, client: BotClient | None = None
) -> Interaction:
    """The customer proves who they are with an identity token signed for them
    (chat.identity): sent by their widget over the customer socket, or by the connector
    (`client`) that escalated the chat.

    Every attempt counts against PORTAL["AUTH_ATTEMPTS_PER_MINUTE"] first. A valid token
    marks, in one transaction, the interaction and the customer authenticated with the
    verified identity, adds "Customer authenticated" (event authenticated) and publishes
    the status change, so the CSR's icon lights up. Any refusal changes nothing."""
    _auth_attempt_take(interaction_id)
    with transaction.atomic():
        interaction = (
            Interaction.objects.select_for_update(of=("self",))
            .select_related("channel", "customer", "assigned_csr")
            .filter(pk=interaction_id)
            .first()
        )
        if interaction is None or (client is not None and interaction.bot_client_id != client.pk):
            raise ChatError("not_found", "This chat does not exist.")
        if not interaction.is_open:
            raise ChatError("chat_ended", "This chat has ended; it can no longer be authenticated.")
        if interaction.authenticated:
            raise ChatError("already_authenticated", "The customer is already authenticated.")
        customer = interaction.customer
        try:
            verified = identity.verify(
                token=token,
                secret=interaction.channel.identity_secret,
                customer_id=customer.external_id,
            )
        except identity.IdentityError as error:
            logger.info("Authentication refused in interaction %s: %s", interaction.pk, error.code)
            raise ChatError(error.code, error.message) from None
        interaction.authenticated = True
        interaction.authenticated_at = timezone.now()
        interaction.auth_requested_at = None
        interaction.save(update_fields=["authenticated", "authenticated_at", "auth_requested_at"])
        customer.authenticated = True
        customer.verified_identity = verified.identity
        customer.save(update_fields=["authenticated", "verified_identity", "updated_at"])
        message_create(
            interaction=interaction,
            sender_kind=SenderKind.SYSTEM,
            text=AUTHENTICATED_TEXT,
            event=SystemEvent.AUTHENTICATED,
            data={
                "identity": verified.identity,
                "via": AUTH_VIA_CONNECTOR if client is not None else AUTH_VIA_WIDGET,
            },
        )
        events.interaction_status_changed(interaction=interaction)
    return interaction


# --- Sentiment --------------------------------------------------------------------------


@dataclass(frozen=True)
class SentimentUpdate:
    """A score just stored: its result, and the event it published after commit."""

    result: sentiment.Sentiment
    payload: schemas.SentimentPayload


# Customer messages waiting to be scored: a Redis set of interaction ids, and a flag set
# while a scoring run is queued. Requests coalesce: however many messages arrive while a
# run waits for a worker, that run scores each chat once. A run that never starts (its
# worker died) holds the flag this long; the next request then queues another.
SENTIMENT_PENDING_KEY = "sentiment:pending"
SENTIMENT_QUEUED_KEY = "sentiment:queued"
SENTIMENT_QUEUED_SECONDS = 10
# A scoring run starts this long after the request that queued it, and takes every chat
# that asked meanwhile: under 50 escalations a second, runs of one chat each were a
# third of the Celery worker's task runs, each with Celery's own cost per task.
SENTIMENT_COALESCE_SECONDS = 0.1
# Chats one run reads at once, and at most per run (a run leaves the rest to the next,
# so a scoring burst never holds a worker from routing for long).
SENTIMENT_BATCH_SIZE = 100
SENTIMENT_RUN_LIMIT = 200


def _sentiment_schedule(*, interaction_id: int) -> None:
    """Once the customer message commits, ask for its scoring (robust: a broker or
    cache failure never fails the send). App Studio's switch is read then, outside the
    transaction, so a send holds the interaction row no longer and costs no extra query."""
    on_commit_robust(sentiment_request, interaction_id=interaction_id)


def sentiment_request(*, interaction_id: int) -> None:
    """Add the chat to the pending set and queue a scoring run unless one is queued
    already: one Redis round trip per message, a Celery task only when none waits."""
    from chat import tasks  # the tasks import the services

    if not app_studio_settings_get().sentiment_enabled:
        return
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.sadd(cache.make_key(SENTIMENT_PENDING_KEY), interaction_id)
        _sentiment_flag_set(pipe)
        _, first = pipe.execute()
    except RedisError:  # the cache is down: score this chat on its own
        logger.warning("Sentiment request for chat %s not coalesced", interaction_id, exc_info=True)
        enqueue(tasks.interaction_sentiment_score, interaction_id)
        return
    if first:
        enqueue(tasks.sentiment_score_pending, countdown=SENTIMENT_COALESCE_SECONDS)


def sentiment_score_pending() -> list[int]:
    """A scoring run: take the pending chats (up to SENTIMENT_RUN_LIMIT) and score each
    once; returns their ids. The queued flag is cleared first, so a message committed
    from then on queues the next run, and none is left waiting unseen."""
    client = redis_client()
    client.delete(cache.make_key(SENTIMENT_QUEUED_KEY))
    pending_key = cache.make_key(SENTIMENT_PENDING_KEY)
    taken: list[int] = []
    while len(taken) < SENTIMENT_RUN_LIMIT:
        batch = sorted(int(member) for member in client.spop(pending_key, SENTIMENT_BATCH_SIZE))
        if not batch:
            return taken
        interactions_sentiment_update(interaction_ids=batch)
        taken.extend(batch)
    # The limit was reached: the rest is the next run's.
    if client.scard(pending_key) and _sentiment_flag_set(client):
        from chat import tasks

        tasks.sentiment_score_pending.delay()
    return taken


def _sentiment_flag_set(redis: Any) -> Any:
    """Set the "run queued" flag unless it is set: on a client, whether this call set it
    (and so must queue the run); on a pipeline, the queued command."""
    return redis.set(cache.make_key(SENTIMENT_QUEUED_KEY), 1, nx=True, ex=SENTIMENT_QUEUED_SECONDS)


def interaction_sentiment_update(*, interaction_id: int) -> SentimentUpdate | None:
    """Score one chat now (see interactions_sentiment_update)."""
    return interactions_sentiment_update(interaction_ids=[interaction_id]).get(interaction_id)


def interactions_sentiment_update(*, interaction_ids: list[int]) -> dict[int, SentimentUpdate]:
    """Score each chat's last sentiment.WINDOW customer messages (chat.sentiment.score,
    the newest weighing most), store the result and publish it to the contact center
    after commit; returns the scores stored, by interaction id.

    One query reads every chat's recent customer messages. A chat is skipped, with
    nothing written, when sentiment is off in App Studio, it has no customer message,
    or its newest customer message is already scored (a score is stored with the
    messages' own scores, in one transaction): a burst is scored once, by the first run
    after the last message committed."""
    if not interaction_ids or not app_studio_settings_get().sentiment_enabled:
        return {}
    scored = []
    for interaction_id, recent in customer_messages_newest_many(interaction_ids).items():
        if not recent or recent[-1].sentiment_score is not None:
            continue
        window = recent[-sentiment.WINDOW :]
        result = sentiment.score([message.text for message in window])
        scored.append(_Scored(interaction_id, window, result, recent))
    return _sentiments_save(scored)


@dataclass(frozen=True)
class _Scored:
    interaction_id: int
    window: list[Message]  # the customer messages scored, oldest first
    result: sentiment.Sentiment
    recent: list[Message] | None  # the customer's last messages, ending with the window


def interaction_sentiment_save(
    *,
    interaction_id: int,
    window: list[Message],
    result: sentiment.Sentiment,
    recent: list[Message] | None = None,
) -> SentimentUpdate | None:
    """Store `result`, the score of `window` (customer messages, oldest first), unless
    a score covering its newest message or a later one is stored already; then publish
    it after commit. `recent`, the customer's last messages ending with the window,
    saves re-reading the trend."""
    return _sentiments_save([_Scored(interaction_id, window, result, recent)]).get(interaction_id)


def _sentiments_save(scored: list[_Scored]) -> dict[int, SentimentUpdate]:
    """Store each chat's score and its messages' scores, and publish it after commit,
    unless a score covering the same newest message or a later one is stored already.

    The conditional UPDATE is the guard: two workers racing can never move a score back
    to older messages, and only the winner publishes. One statement stores every chat's
    score and one the messages', in one short transaction: a run of 200 chats used to
    be 200 transactions, each waiting for its own flush to disk."""
    if not scored:
        return {}
    updates = {}
    with transaction.atomic():
        stored = _sentiment_scores_store(scored)
        winners = [item for item in scored if item.interaction_id in stored]
        changed = []
        for item in winners:
            for message, value in zip(item.window, item.result.scores, strict=True):
                if message.sentiment_score != value:
                    message.sentiment_score = value
                    changed.append(message)
        if changed:
            Message.objects.bulk_update(changed, ["sentiment_score"])
        for item in winners:
            newest = item.window[-1].seq
            recent = item.recent
            if recent is None or recent[-1].seq != newest:
                recent = customer_messages_newest(item.interaction_id, until_seq=newest)
            payload = events.sentiment_state_payload(
                interaction_id=item.interaction_id,
                label=item.result.label,
                score=item.result.score,
                seq=newest,
                recent=recent,
            )
            events.sentiment_changed(payload=payload)
            updates[item.interaction_id] = SentimentUpdate(result=item.result, payload=payload)
    return updates


def _sentiment_scores_store(scored: list[_Scored]) -> set[int]:
    """One conditional UPDATE of every chat's score; the ids it stored (a chat whose
    stored score already covers its newest message, or a later one, is left alone)."""
    table = quote(Interaction._meta.db_table)

    def by_id(values: list[Any]) -> tuple[str, list[Any]]:
        cases = " ".join("WHEN %s THEN %s" for _ in scored)
        params = [
            p
            for item, value in zip(scored, values, strict=True)
            for p in (item.interaction_id, value)
        ]
        return f"CASE id {cases} END", params

    label_sql, label_params = by_id([item.result.label for item in scored])
    score_sql, score_params = by_id([item.result.score for item in scored])
    seq_sql, seq_params = by_id([item.window[-1].seq for item in scored])
    ids = [item.interaction_id for item in scored]
    sql = (
        f"UPDATE {table} SET sentiment_label = {label_sql}, "  # noqa: S608 - our names; values are parameters
        f"sentiment_score = {score_sql}, sentiment_seq = {seq_sql} "
        f"WHERE id IN ({placeholders(len(ids))}) AND sentiment_seq < {seq_sql} RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*label_params, *score_params, *seq_params, *ids, *seq_params])
        return {row[0] for row in cursor.fetchall()}
