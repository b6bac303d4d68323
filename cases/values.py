"""Checking a case form's values against its case type's fields: required fields, types,
money and dates read by the customer's locale. Every problem is reported per field."""

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from babel import Locale
from babel.dates import parse_date
from babel.numbers import is_currency

from cases.assistant.extract import amounts_find, locale_currency, number_parse
from cases.models import CaseField, FieldKind

MAX_TEXT_CHARS = 500
MAX_AMOUNT = Decimal("1000000000")
YES = frozenset({"yes", "y", "true", "1", "on"})
NO = frozenset({"no", "n", "false", "0", "off", ""})


class CaseValuesInvalid(Exception):
    """The values do not fit the form: `errors` maps each field's key to what is wrong."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors


def _blank(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    if isinstance(raw, Mapping):
        return _blank(raw.get("amount"))
    return False


def _text(raw: Any) -> str:
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise ValueError("Enter text.")
    text = str(raw).strip()
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"At most {MAX_TEXT_CHARS} characters; this has {len(text)}.")
    return text


def _number(raw: Any, locale: Locale) -> str:
    if isinstance(raw, bool):
        raise ValueError("Enter a number.")
    value = Decimal(str(raw)) if isinstance(raw, int | float) else number_parse(_text(raw), locale)
    if value is None or not value.is_finite():
        raise ValueError(f"Enter a number, written as in {locale.display_name} (e.g. 1,250.50).")
    return str(value)


def _money(raw: Any, locale: Locale) -> dict[str, str]:
    default_currency = locale_currency(locale)
    if isinstance(raw, Mapping):
        amount_raw, currency = raw.get("amount"), str(raw.get("currency") or default_currency)
    else:
        amount_raw, currency = raw, default_currency
        found = amounts_find(str(raw), locale=locale) if isinstance(raw, str) else []
        if found and found[0].text == str(raw).strip():
            money = found[0].value
            amount_raw, currency = str(money.amount), money.currency  # type: ignore[union-attr]
    currency = currency.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency) or not is_currency(currency):
        raise ValueError(f"'{currency}' is not a currency code (e.g. GBP, EUR, USD).")
    try:
        amount = Decimal(_number(amount_raw, locale))
    except (ValueError, InvalidOperation):
        raise ValueError(
            f"Enter an amount, written as in {locale.display_name} (e.g. 250 or 1,250.50)."
        ) from None
    if amount <= 0:
        raise ValueError("The amount must be more than zero.")
    if amount >= MAX_AMOUNT or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError("Enter an amount with at most two decimals, below one billion.")
    return {"amount": f"{amount:.2f}", "currency": currency}


def _date(raw: Any, locale: Locale) -> str:
    text = _text(raw)
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    try:
        return parse_date(text, locale=locale).isoformat()
    except (ValueError, IndexError):
        example = date(2026, 3, 31).strftime("%Y-%m-%d")
        raise ValueError(
            f"Enter a date as {example} or as written in {locale.display_name}."
        ) from None


def _yes_no(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise ValueError("Answer yes or no.")


def _choice(raw: Any, field: CaseField) -> str:
    text = _text(raw)
    options = field.choice_list
    for option in options:
        if option.lower() == text.lower():
            return option
    raise ValueError(f"Choose one of: {', '.join(options)}.")


def value_clean(field: CaseField, raw: Any, locale: Locale) -> Any:
    """One field's value as stored, or ValueError saying what is wrong."""
    kind = field.kind
    if kind == FieldKind.NUMBER:
        return _number(raw, locale)
    if kind == FieldKind.MONEY:
        return _money(raw, locale)
    if kind == FieldKind.DATE:
        return _date(raw, locale)
    if kind == FieldKind.YES_NO:
        return _yes_no(raw)
    if kind == FieldKind.CHOICE:
        return _choice(raw, field)
    return _text(raw)


def values_clean(*, fields: Sequence[CaseField], raw: Any, locale: Locale) -> dict[str, Any]:
    """The form's values as stored; CaseValuesInvalid lists every field that is wrong
    (a required one left empty, a wrong type, a key the case type has not)."""
    if not isinstance(raw, Mapping):
        raise CaseValuesInvalid({"values": "Send the values as an object of field keys."})
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    known = {field.key for field in fields}
    for key in raw:
        if key not in known:
            errors[str(key)[:50]] = "This case type has no such field."
    for field in fields:
        item = raw.get(field.key)
        # An unticked yes/no box sends "" (no); a field left out sends nothing.
        if item is None or (_blank(item) and field.kind != FieldKind.YES_NO):
            if field.required:
                errors[field.key] = f"{field.label} is required."
            continue
        try:
            values[field.key] = value_clean(field, item, locale)
        except ValueError as error:
            errors[field.key] = str(error)
    if errors:
        raise CaseValuesInvalid(errors)
    return values
