"""Forms of the portal pages: Recent work's search, filters and page number (a GET form,
so every link to a filtered page can be shared and reloaded)."""

from datetime import date, datetime, time, timedelta

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone

from chat.models import Channel
from portal.selectors import RecentWorkQuery
from routing.models import Queue

# Dates outside this range are refused: they would overflow when turned into a moment
# in a time zone, and no contact center has work there.
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(9998, 12, 31)
DATE_RANGE_MESSAGE = "Enter a date between 1970-01-01 and 9998-12-31."
DATE_MESSAGE = "Enter the date as YYYY-MM-DD, e.g. 2026-12-06."
MAX_SEARCH_CHARS = 200
MAX_PAGE = 1_000_000


def _date_field(label: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[
            MinValueValidator(EARLIEST_DATE, message=DATE_RANGE_MESSAGE),
            MaxValueValidator(LATEST_DATE, message=DATE_RANGE_MESSAGE),
        ],
        error_messages={"invalid": DATE_MESSAGE},
    )


class RecentWorkForm(forms.Form):
    """Search (customer name, interaction ID, message text), the interaction's start
    date range, queue, channel and the page number; every field is optional."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=MAX_SEARCH_CHARS,
        error_messages={
            "max_length": f"Search for at most {MAX_SEARCH_CHARS} characters.",
            "null_characters_not_allowed": "The search cannot contain NUL characters.",
        },
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Customer, interaction ID or message text"}
        ),
    )
    start = _date_field("Started from")
    end = _date_field("Started until")
    queue = forms.ModelChoiceField(
        label="Queue",
        required=False,
        queryset=Queue.objects.order_by("name"),
        to_field_name="slug",
        empty_label="All queues",
        error_messages={"invalid_choice": "There is no such queue: choose one from the list."},
    )
    channel = forms.ModelChoiceField(
        label="Channel",
        required=False,
        queryset=Channel.objects.order_by("name"),
        to_field_name="slug",
        empty_label="All channels",
        error_messages={"invalid_choice": "There is no such channel: choose one from the list."},
    )
    page = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PAGE,
        widget=forms.HiddenInput,
        error_messages={
            "invalid": "The page number must be a whole number.",
            "min_value": "Pages are numbered from 1.",
            "max_value": "There are not that many pages.",
        },
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", "The end date is before the start date.")
        return data

    def recent_work_query(self) -> RecentWorkQuery:
        """The valid form as what portal.selectors.csr_recent_work filters by. Dates are
        whole days in the portal's time zone, the end date included."""
        data = self.cleaned_data
        start, end = data.get("start"), data.get("end")
        queue, channel = data.get("queue"), data.get("channel")
        return RecentWorkQuery(
            text=data.get("q") or "",
            started_from=_day_start(start) if start else None,
            started_before=_day_start(end + timedelta(days=1)) if end else None,
            queue_id=queue.pk if queue else None,
            channel_id=channel.pk if channel else None,
        )

    @property
    def filtered(self) -> bool:
        """Whether any search or filter is applied (the page says so, and how to clear it)."""
        data = self.cleaned_data
        return any(data.get(name) for name in ("q", "start", "end", "queue", "channel"))


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
