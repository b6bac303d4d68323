"""Dashboards: each user's own (created on first visit), their widgets (add, remove,
move) and a manager's sharing with other managers. Every change is one transaction on
the locked dashboard."""

from typing import Any, TypedDict

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from config.users import Role, is_csr_manager, user_roles
from reports.models import Dashboard
from reports.presenters import TABLES, TILES
from reports.selectors.filters import Range

MAX_WIDGETS = 12
WIDGET_RANGES = (Range.TODAY, Range.DAYS_7, Range.DAYS_30)


class WidgetKind:
    METRIC = "metric"
    CHART = "chart"
    TABLE = "table"
    CHOICES = [(METRIC, "A figure"), (CHART, "A chart"), (TABLE, "A table")]


class Widget(TypedDict):
    kind: str
    source: str
    range: str
    queue: int | None
    channel: int | None
    csr: int | None


def widget_clean(data: dict[str, Any], *, user: User) -> Widget:
    """A widget as stored, or ValidationError saying what is wrong. A CSR's widgets
    always show the CSR's own figures."""
    kind = data.get("kind")
    source = data.get("source")
    if kind == WidgetKind.METRIC:
        if source not in TILES:
            raise ValidationError("Pick a figure for this widget.")
    elif kind in (WidgetKind.CHART, WidgetKind.TABLE):
        if source not in TABLES:
            raise ValidationError("Pick a chart or table for this widget.")
    else:
        raise ValidationError("A widget is a figure, a chart or a table.")
    if data.get("range") not in WIDGET_RANGES:
        raise ValidationError("Pick the widget's date range: today, 7 days or 30 days.")
    csr = data.get("csr")
    if not is_csr_manager(user):
        if csr not in (None, user.pk):
            raise PermissionDenied("A CSR's dashboard shows their own figures only.")
        csr = user.pk
    return Widget(
        kind=kind,
        source=source,
        range=data["range"],
        queue=data.get("queue"),
        channel=data.get("channel"),
        csr=csr,
    )


def dashboard_own(*, user: User) -> Dashboard:
    """The user's own dashboard, created empty on first use."""
    dashboard, _ = Dashboard.objects.get_or_create(owner_id=user.pk, name="My dashboard")
    return dashboard


def dashboard_for_viewing(*, dashboard_id: int, user: User) -> Dashboard:
    """A dashboard its owner or a manager it is shared with may see; 403 otherwise."""
    dashboard = Dashboard.objects.select_related("owner").filter(pk=dashboard_id).first()
    if dashboard is None:
        raise Dashboard.DoesNotExist
    if dashboard.owner_id == user.pk:
        return dashboard
    if is_csr_manager(user) and dashboard.shared_with.filter(pk=user.pk).exists():
        return dashboard
    raise PermissionDenied("This dashboard is not yours and not shared with you.")


def _lock_own(dashboard_id: int, user: User) -> Dashboard:
    dashboard = Dashboard.objects.select_for_update().filter(pk=dashboard_id).first()
    if dashboard is None:
        raise Dashboard.DoesNotExist
    if dashboard.owner_id != user.pk:
        raise PermissionDenied("Only the dashboard's owner may change it.")
    return dashboard


@transaction.atomic
def dashboard_widget_add(*, dashboard_id: int, user: User, widget: Widget) -> Dashboard:
    dashboard = _lock_own(dashboard_id, user)
    if len(dashboard.widgets) >= MAX_WIDGETS:
        raise ValidationError(f"A dashboard holds at most {MAX_WIDGETS} widgets.")
    dashboard.widgets = [*dashboard.widgets, dict(widget)]
    dashboard.save(update_fields=["widgets", "updated_at"])
    return dashboard


@transaction.atomic
def dashboard_widget_remove(*, dashboard_id: int, user: User, index: int) -> Dashboard:
    dashboard = _lock_own(dashboard_id, user)
    if not 0 <= index < len(dashboard.widgets):
        raise ValidationError("That widget is no longer on the dashboard.")
    dashboard.widgets = [w for i, w in enumerate(dashboard.widgets) if i != index]
    dashboard.save(update_fields=["widgets", "updated_at"])
    return dashboard


@transaction.atomic
def dashboard_widget_move(*, dashboard_id: int, user: User, index: int, offset: int) -> Dashboard:
    """Move a widget up (offset -1) or down (+1)."""
    dashboard = _lock_own(dashboard_id, user)
    widgets = list(dashboard.widgets)
    target = index + offset
    if not 0 <= index < len(widgets) or offset not in (-1, 1):
        raise ValidationError("That widget is no longer on the dashboard.")
    if 0 <= target < len(widgets):
        widgets[index], widgets[target] = widgets[target], widgets[index]
        dashboard.widgets = widgets
        dashboard.save(update_fields=["widgets", "updated_at"])
    return dashboard


@transaction.atomic
def dashboard_share(*, dashboard_id: int, user: User, managers: list[User]) -> Dashboard:
    """Share a manager's dashboard with these managers (and no one else)."""
    if not is_csr_manager(user):
        raise PermissionDenied("Only CSR managers may share dashboards.")
    dashboard = _lock_own(dashboard_id, user)
    if any(Role.CSR_MANAGER not in user_roles(m) or m.pk == user.pk for m in managers):
        raise ValidationError("Dashboards can be shared with other CSR managers only.")
    dashboard.shared_with.set(managers)
    return dashboard


def dashboards_shared_with(*, user: User):
    return Dashboard.objects.filter(shared_with=user).select_related("owner").order_by("name")
