"""Opening a case from a chat, changing its status and adding notes: each one
transaction that records the history, posts the chat's system message and schedules the
case webhook (docs/cases.md)."""

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from cases import webhooks
from cases.assistant.extract import locale_get
from cases.locks import case_lock, case_type_lock
from cases.models import BackOfficeClient, Case, CaseChange, CaseStatus, CaseType
from cases.selectors import case_json, case_type_offered_get
from cases.values import CaseValuesInvalid, values_clean
from chat.locks import interaction_lock
from chat.models import Interaction, SenderKind, SystemEvent
from chat.services.messages import csr_may_write, message_create
from chat.tokens import token_digest, token_new
from config.users import display_name

BACK_OFFICE_TOKEN_PREFIX = "bo_"  # noqa: S105 (a prefix, not a secret)
MAX_NOTE_CHARS = 2000


class CaseError(Exception):
    """A refused case action: `code` for clients, `message` for people, and per-field
    `errors` for a form."""

    def __init__(self, code: str, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = errors or {}


def case_created_text(case: Case) -> str:
    return f"Service case {case.reference} created: {case.case_type.name}"


def case_updated_text(case: Case) -> str:
    return f"Service case {case.reference} is now {case.get_status_display().lower()}"


def interaction_locale(interaction: Interaction) -> str:
    """The customer's locale when the bot or the host site gave one (context or metadata
    `locale`), else empty (the default applies)."""
    for data in (interaction.context, interaction.customer_metadata):
        if isinstance(data, dict) and isinstance(data.get("locale"), str):
            return data["locale"]
    return ""


def _reference_take(case_type_id: int) -> tuple[CaseType, str]:
    """The case type, locked, and its next reference (DSP-00042)."""
    case_type = case_type_lock(case_type_id)
    case_type.last_number += 1
    case_type.save(update_fields=["last_number"])
    return case_type, f"{case_type.prefix}-{case_type.last_number:05d}"


def case_create(*, interaction_id: int, case_type_id: Any, values: Any, csr: User) -> Case:
    """The CSR handling an open chat confirms a case: its values are checked against the
    case type's form (by the customer's locale), the case gets its reference, the chat
    shows "Service case DSP-00042 created: Dispute a card payment" to both sides, and the
    back office's webhook is scheduled. A case type that needs an authenticated customer
    is refused until the customer has authenticated. Nothing is saved on any refusal."""
    with transaction.atomic():
        interaction = interaction_lock(interaction_id, "channel")
        if interaction is None:
            raise CaseError("not_found", "This chat does not exist.")
        if not interaction.is_open:
            raise CaseError("chat_ended", "This chat has ended: cases are opened in open chats.")
        if not csr_may_write(interaction, csr):
            raise CaseError("not_party", "Only the CSR handling this chat may open a case in it.")
        case_type = case_type_offered_get(interaction=interaction, case_type_id=case_type_id)
        if case_type is None:
            raise CaseError(
                "unknown_case_type",
                "This chat offers no such case type: pick one from the Add task menu.",
                {"case_type": "Choose a case type this chat offers."},
            )
        if case_type.requires_authentication and not interaction.authenticated:
            raise CaseError(
                "authentication_required",
                f"{case_type.name} needs an authenticated customer: request authentication "
                "first (Actions → Request authentication).",
            )
        fields = list(case_type.fields.all())
        try:
            cleaned = values_clean(
                fields=fields, raw=values, locale=locale_get(interaction_locale(interaction))
            )
        except CaseValuesInvalid as invalid:
            labels = {field.key: field.label for field in fields}
            named = ", ".join(labels.get(key, key) for key in invalid.errors)
            raise CaseError("invalid", f"Nothing saved: check {named}.", invalid.errors) from None
        case_type, reference = _reference_take(case_type.pk)
        actor = display_name(csr)
        case = Case.objects.create(
            reference=reference,
            case_type=case_type,
            customer_id=interaction.customer_id,
            interaction=interaction,
            values=cleaned,
            created_by=csr,
        )
        CaseChange.objects.create(
            case=case,
            action=CaseChange.Action.CREATED,
            user=csr,
            actor=actor,
            new_status=case.status,
        )
        message_create(
            interaction=interaction,
            sender_kind=SenderKind.SYSTEM,
            text=case_created_text(case),
            event=SystemEvent.CASE_CREATED,
            data={"case_ref": case.reference, "case_type": case_type.name, "csr_id": csr.pk},
        )
        webhooks.case_webhook_schedule(
            case=case, event=webhooks.EVENT_CASE_CREATED, payload=case_json(case)
        )
        return case


def _actor(user: User | None, client: BackOfficeClient | None) -> str:
    if client is not None:
        return f"Back office: {client.name}"
    return display_name(user) if user is not None else "System"


def _case_lock(reference: str) -> Case:
    """The case, locked after its chat (the lock order: interaction → case)."""
    interaction_id = (
        Case.objects.filter(reference=reference).values_list("interaction_id", flat=True).first()
    )
    if interaction_id is None:
        raise CaseError("not_found", f"There is no case {reference[:30]}.")
    interaction_lock(interaction_id)
    return case_lock(reference)


def _note_clean(note: Any) -> str:
    if note is None:
        return ""
    if not isinstance(note, str):
        raise CaseError("invalid", "The note must be text.", {"note": "Enter text."})
    note = note.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise CaseError(
            "invalid",
            "The note is too long.",
            {"note": f"At most {MAX_NOTE_CHARS:,} characters; this has {len(note):,}."},
        )
    return note


def case_update(
    *,
    reference: str,
    status: Any = None,
    note: Any = None,
    user: User | None = None,
    client: BackOfficeClient | None = None,
) -> Case:
    """Change a case's status and/or add a note (a CSR from Recent work or the Cases page,
    or the back office), recording who did it. A status change is posted to the chat while
    the chat is open, and to the back office's webhook. Visibility is the caller's check."""
    if status is not None and status not in CaseStatus.values:
        raise CaseError(
            "invalid",
            "Unknown status.",
            {"status": f"Choose one of: {', '.join(CaseStatus.values)}."},
        )
    note = _note_clean(note)
    if status is None and not note:
        raise CaseError("invalid", "Nothing to change.", {"status": "Give a new status or a note."})
    actor = _actor(user, client)
    with transaction.atomic():
        case = _case_lock(reference)
        if note:
            CaseChange.objects.create(
                case=case, action=CaseChange.Action.NOTE, user=user, actor=actor, note=note
            )
        if status is not None and status != case.status:
            CaseChange.objects.create(
                case=case,
                action=CaseChange.Action.STATUS,
                user=user,
                actor=actor,
                old_status=case.status,
                new_status=status,
            )
            case.status = status
            case.save(update_fields=["status", "updated_at"])
            interaction = case.interaction
            if interaction.is_open:
                message_create(
                    interaction=interaction,
                    sender_kind=SenderKind.SYSTEM,
                    text=case_updated_text(case),
                    event=SystemEvent.CASE_UPDATED,
                    data={"case_ref": case.reference, "status": status, "by": actor},
                )
            webhooks.case_webhook_schedule(
                case=case, event=webhooks.EVENT_CASE_STATUS_CHANGED, payload=case_json(case)
            )
        else:
            case.save(update_fields=["updated_at"])
        return case


@transaction.atomic
def back_office_client_create(*, name: str, active: bool = True) -> tuple[BackOfficeClient, str]:
    """Create a back-office API client; the clear-text token is returned once, never stored."""
    token = token_new(BACK_OFFICE_TOKEN_PREFIX)
    client = BackOfficeClient.objects.create(
        name=name, token_hash=token_digest(token), token_prefix=token[:10], active=active
    )
    return client, token


def back_office_client_get_by_token(*, token: str) -> BackOfficeClient | None:
    if not token.startswith(BACK_OFFICE_TOKEN_PREFIX):
        return None
    return BackOfficeClient.objects.filter(token_hash=token_digest(token)).first()


def back_office_client_touch(*, client: BackOfficeClient) -> None:
    now = timezone.now()
    if client.last_used_at is None or (now - client.last_used_at).total_seconds() > 60:
        BackOfficeClient.objects.filter(pk=client.pk).update(last_used_at=now)
        client.last_used_at = now
