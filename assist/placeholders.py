"""Placeholders in a phrase's text, `{customer_first_name}` and the like: checked when
the phrase is saved (an unknown one is refused then, never when it is sent) and filled
when the CSR inserts it."""

import re
from collections.abc import Mapping

from django.core.exceptions import ValidationError

PLACEHOLDERS = {
    "customer_first_name": "The customer's first name",
    "csr_name": "Your name (the CSR's)",
    "queue": "The chat's queue",
    "interaction_id": "The interaction's number",
}
_PATTERN = re.compile(r"\{([^{}\s]*)\}")


def placeholders_in(text: str) -> list[str]:
    return _PATTERN.findall(text or "")


def placeholders_check(text: str) -> None:
    """Raise ValidationError naming every unknown placeholder in `text`."""
    unknown = sorted({name for name in placeholders_in(text) if name not in PLACEHOLDERS})
    if unknown:
        known = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
        listed = ", ".join(f"{{{name}}}" for name in unknown)
        raise ValidationError(
            f"Unknown placeholder{'s' if len(unknown) > 1 else ''} {listed}. Use {known}.",
            code="unknown_placeholder",
        )


def placeholders_fill(text: str, values: Mapping[str, str]) -> str:
    """The text with each known placeholder replaced by its value."""
    return _PATTERN.sub(lambda m: values.get(m.group(1), m.group(0)), text)
