"""Field validators shared by chat models and forms."""

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
