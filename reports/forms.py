"""The report filters (a GET form, so a filtered report can be reloaded and shared) and
the dashboard forms."""

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib.auth.models import User

from chat.models import Channel
from config.users import Role, display_name
from reports.dashboards import WIDGET_RANGES, WidgetKind
from reports.presenters import TABLES, TILES
from reports.selectors.figures import COLUMNS
from reports.selectors.filters import MAX_DAYS, Range, ReportFilters, range_dates, report_time_zone
from routing.models import Queue


class CsrChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return display_name(obj)


def csr_users():
    return User.objects.filter(groups__name=Role.CSR.value, is_active=True).order_by(
        "first_name", "last_name", "username"
    )


class ReportFilterForm(forms.Form):
    range = forms.ChoiceField(label="Date range", choices=Range.CHOICES, required=False)
    start = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    queue = forms.ModelChoiceField(
        label="Queue", queryset=Queue.objects.all(), required=False, empty_label="All queues"
    )
    channel = forms.ModelChoiceField(
        label="Channel", queryset=Channel.objects.all(), required=False, empty_label="All channels"
    )
    csr = CsrChoiceField(label="CSR", queryset=csr_users(), required=False, empty_label="All CSRs")
    hour = forms.IntegerField(required=False, min_value=0, max_value=23, widget=forms.HiddenInput)

    def __init__(self, *args: Any, show_csr: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["csr"].queryset = csr_users()  # type: ignore[attr-defined]
        if not show_csr:
            del self.fields["csr"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        tz = report_time_zone()
        key = data.get("range") or (Range.CUSTOM if data.get("start") else Range.DAYS_7)
        data["range"] = key
        if key == Range.CUSTOM:
            start, end = data.get("start"), data.get("end")
            if start is None or end is None:
                raise forms.ValidationError("A custom range needs both a From and a To date.")
            if end < start:
                raise forms.ValidationError("The To date is before the From date.")
            if end - start >= timedelta(days=MAX_DAYS):
                raise forms.ValidationError(f"A report covers at most {MAX_DAYS} days.")
        else:
            data["start"], data["end"] = range_dates(key, tz)
        if data.get("hour") is not None and data["start"] != data["end"]:
            raise forms.ValidationError("An hour can be picked only within a single day.")
        data["tz"] = tz
        return data

    def filters(self) -> ReportFilters:
        data = self.cleaned_data
        csr = data.get("csr")
        return ReportFilters(
            start=data["start"],
            end=data["end"],
            tz=data["tz"],
            queue_id=data["queue"].pk if data.get("queue") else None,
            channel_id=data["channel"].pk if data.get("channel") else None,
            csr_id=csr.pk if csr else None,
            hour=data.get("hour"),
        )


class ShareForm(forms.Form):
    managers = forms.ModelMultipleChoiceField(
        label="Share with",
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, owner: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["managers"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = (
            User.objects.filter(groups__name=Role.CSR_MANAGER.value, is_active=True)
            .exclude(pk=owner.pk)
            .order_by("username")
        )
        field.label_from_instance = display_name  # type: ignore[method-assign,assignment]


class WidgetForm(forms.Form):
    """A widget to add: what it shows and the filters it shows it with."""

    kind = forms.ChoiceField(label="Show", choices=[])
    source = forms.ChoiceField(label="Figure, chart or table", choices=[])
    range = forms.ChoiceField(label="Date range", choices=[])
    queue = forms.ModelChoiceField(
        label="Queue", queryset=Queue.objects.all(), required=False, empty_label="All queues"
    )
    channel = forms.ModelChoiceField(
        label="Channel", queryset=Channel.objects.all(), required=False, empty_label="All channels"
    )
    csr = CsrChoiceField(label="CSR", queryset=csr_users(), required=False, empty_label="All CSRs")

    def __init__(self, *args: Any, manager: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = WidgetKind.CHOICES  # type: ignore[attr-defined]
        self.fields["source"].choices = [  # type: ignore[attr-defined]
            ("Figures", [(k, COLUMNS[k].label) for k in TILES]),
            ("Charts and tables", [(k, spec.title) for k, spec in TABLES.items()]),
        ]
        labels = dict(Range.CHOICES)
        self.fields["range"].choices = [(k, labels[k]) for k in WIDGET_RANGES]  # type: ignore[attr-defined]
        self.fields["range"].initial = Range.DAYS_7
        self.fields["csr"].queryset = csr_users()  # type: ignore[attr-defined]
        if not manager:
            del self.fields["csr"]

    def widget_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "source": data["source"],
            "range": data["range"],
            "queue": data["queue"].pk if data.get("queue") else None,
            "channel": data["channel"].pk if data.get("channel") else None,
            "csr": data["csr"].pk if data.get("csr") else None,
        }
