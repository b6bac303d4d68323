"""Pre-filling a case type's form: from the bot's context and the customer's metadata,
the customer's (verified) identity, and values found in the customer's messages. Each
value says where it came from; nothing is saved here."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from babel import Locale

from cases.assistant.extract import (
    Found,
    Money,
    amounts_find,
    card_endings_find,
    dates_find,
)
from cases.models import CaseField, Extractor, FieldKind, IdentityField


@dataclass(frozen=True)
class CustomerLine:
    """One of the customer's messages, as the assistant reads it."""

    seq: int
    text: str
    created_at: datetime


@dataclass(frozen=True)
class Prefill:
    value: Any
    source: str  # for the CSR: where the value came from
    quote: str = ""  # the words of the message it was read from
    seq: int | None = None  # that message's sequence number


@dataclass(frozen=True)
class ChatFacts:
    """What the form may be pre-filled from, besides the customer's messages."""

    context: dict[str, Any]
    metadata: dict[str, Any]
    name: str
    email: str
    phone: str
    authenticated: bool
    verified_identity: str


def _as_value(value: Money | date | str) -> Any:
    if isinstance(value, Money):
        return value.as_json()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _find(field: CaseField, text: str, *, now: datetime, locale: Locale) -> list[Found]:
    if field.extractor == Extractor.AMOUNT:
        return amounts_find(text, locale=locale)
    if field.extractor == Extractor.DATE:
        return dates_find(text, now=now, locale=locale)
    if field.extractor == Extractor.CARD_ENDING:
        return card_endings_find(text)
    return []


def _scalar(value: Any) -> str | None:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value).strip()
        return text or None
    return None


def field_prefill(
    field: CaseField,
    *,
    facts: ChatFacts,
    lines: Sequence[CustomerLine],
    time_zone: tzinfo,
    locale: Locale,
) -> Prefill | None:
    """The value the assistant proposes for one field: the bot's context or the customer's
    metadata first (the first of the field's keys found), then the customer's identity,
    then the newest customer message with a value of the field's kind."""
    for key in field.context_key_list:
        for data, where in (
            (facts.context, "the bot's context"),
            (facts.metadata, "customer data"),
        ):
            value = _scalar(data.get(key)) if isinstance(data, dict) else None
            if value is not None:
                return Prefill(value=value, source=f"From {where} ({key})")
    identity = field.identity_field
    if identity == IdentityField.NAME and facts.name:
        return Prefill(value=facts.name, source="The customer's name")
    if identity == IdentityField.EMAIL and facts.email:
        return Prefill(value=facts.email, source="The customer's email")
    if identity == IdentityField.PHONE and facts.phone:
        return Prefill(value=facts.phone, source="The customer's phone")
    verified = facts.authenticated and facts.verified_identity
    if identity == IdentityField.VERIFIED_IDENTITY and verified:
        return Prefill(value=facts.verified_identity, source="The verified identity")
    if not field.extractor:
        return None
    for line in reversed(lines):
        now = line.created_at.astimezone(time_zone)
        found = _find(field, line.text, now=now, locale=locale)
        if field.kind == FieldKind.MONEY:
            found = [f for f in found if isinstance(f.value, Money)]
        if found:
            first = found[0]
            when = now.strftime("%H:%M")
            return Prefill(
                value=_as_value(first.value),
                source=f"The customer's message at {when}: “{first.text}”",
                quote=first.text,
                seq=line.seq,
            )
    return None
