"""The moments the live figures count from: the last hour, the contact center's today."""

from datetime import datetime, timedelta

from django.utils import timezone

from transcripts.selectors import contact_center_time_zone


def start_of_today(now: datetime | None = None) -> datetime:
    """Midnight of today in the App Studio time zone."""
    zone, _ = contact_center_time_zone()
    local = (now or timezone.now()).astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def an_hour_ago(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(hours=1)


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())
