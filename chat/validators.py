"""Field validators shared by chat models, forms and the API's edges."""

import zoneinfo

from django.core.exceptions import ValidationError


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"“{value}” is not a time zone this server knows. Use an IANA name such as "
            "Europe/Paris or America/New_York."
        ) from None


def text_problem(value: str) -> tuple[str, str] | None:
    """Why `value` cannot be stored as text, as (message, code), or None when it can.

    PostgreSQL refuses NUL characters and lone surrogates (SQLite stores them), so the
    edges refuse them on every database. Messages and codes are DRF CharField's."""
    if "\x00" in value:
        return "Null characters are not allowed.", "null_characters_not_allowed"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        code_point = ord(value[error.start])
        return (
            f"Surrogate characters are not allowed: U+{code_point:X}.",
            "surrogate_characters_not_allowed",
        )
    return None


def validate_storable_text(value: str) -> None:
    """A Django validator of text_problem: no NUL characters, no lone surrogates."""
    problem = text_problem(value)
    if problem is not None:
        raise ValidationError(problem[0], code=problem[1])
