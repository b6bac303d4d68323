"""What a report covers: a range of local dates in the contact center's time zone and
optional queue, channel and CSR filters."""

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q

from chat.selectors.settings import app_studio_settings_get

MAX_DAYS = 366


class Range:
    TODAY = "today"
    DAYS_7 = "7d"
    DAYS_30 = "30d"
    CUSTOM = "custom"
    CHOICES = [
        (TODAY, "Today"),
        (DAYS_7, "Last 7 days"),
        (DAYS_30, "Last 30 days"),
        (CUSTOM, "Custom"),
    ]


def report_time_zone() -> ZoneInfo:
    """App Studio's time zone: days and hours of every report are counted in it."""
    return ZoneInfo(app_studio_settings_get().time_zone)


def local_today(tz: ZoneInfo) -> date:
    return datetime.now(tz).date()


@dataclass(frozen=True)
class ReportFilters:
    start: date
    end: date  # inclusive
    tz: ZoneInfo
    queue_id: int | None = None
    channel_id: int | None = None
    csr_id: int | None = None
    hour: int | None = None  # one hour of `start` (a drill-down into an hourly point)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def hourly(self) -> bool:
        """One or two days are shown by hour, longer ranges by day."""
        return self.days <= 2

    @property
    def period(self) -> str:
        """What a row of the table over time covers: "hour" for one or two days, "day" up
        to 31 days, "week" (from Monday) up to 92 days, "month" beyond."""
        if self.hourly:
            return "hour"
        if self.days <= 31:
            return "day"
        return "week" if self.days <= 92 else "month"

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(self.hour or 0), self.tz)

    @property
    def until(self) -> datetime:
        if self.hour is not None:
            return (self.since.astimezone(UTC) + timedelta(hours=1)).astimezone(self.tz)
        return datetime.combine(self.end + timedelta(days=1), time.min, self.tz)

    def q(self, at: str, *, csr: bool = True) -> Q:
        """The filter on a fact table whose time column is `at`."""
        q = Q(**{f"{at}__gte": self.since, f"{at}__lt": self.until})
        if self.queue_id:
            q &= Q(queue_id=self.queue_id)
        if self.channel_id:
            q &= Q(channel_id=self.channel_id)
        if csr and self.csr_id:
            q &= Q(csr_id=self.csr_id)
        return q

    def narrowed(self, **changes) -> "ReportFilters":
        return replace(self, **changes)

    def as_params(self) -> dict[str, str]:
        params = {
            "range": Range.CUSTOM,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }
        for key in ("queue", "channel", "csr"):
            value = getattr(self, f"{key}_id")
            if value:
                params[key] = str(value)
        if self.hour is not None:
            params["hour"] = str(self.hour)
        return params


def range_dates(range_key: str, tz: ZoneInfo) -> tuple[date, date]:
    today = local_today(tz)
    if range_key == Range.TODAY:
        return today, today
    if range_key == Range.DAYS_7:
        return today - timedelta(days=6), today
    return today - timedelta(days=29), today
