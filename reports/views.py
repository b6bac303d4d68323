"""The Reports page (CSR managers), the drill-down list, CSV exports and the dashboards
(every CSR and manager). A CSR sees only their own figures: asking for another CSR's
is refused with 403."""

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from chat.models import Channel
from config.users import Role, display_name, user_roles
from reports import dashboards as boards
from reports.csv import csv_response
from reports.forms import ReportFilterForm, ShareForm, WidgetForm
from reports.models import Dashboard
from reports.presenters import TABLES, format_value, table_block, tiles
from reports.selectors import figures, outcomes
from reports.selectors.drill import DRILL_METRICS, drill_facts
from reports.selectors.figures import CHAT_COLUMNS, COLUMNS, OFFER_COLUMNS
from reports.selectors.filters import ReportFilters, range_dates, report_time_zone
from routing.models import Queue

DRILL_PAGE = 50


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # every view is login_required


def _is_manager(request: HttpRequest) -> bool:
    return Role.CSR_MANAGER in user_roles(_user(request))


def _require_reporting_role(request: HttpRequest) -> bool:
    """True for a manager, False for a CSR; 403 for anyone else."""
    roles = user_roles(_user(request))
    if Role.CSR_MANAGER in roles:
        return True
    if Role.CSR in roles:
        return False
    raise PermissionDenied("Reports are for CSRs and CSR managers.")


def _filter_form(request: HttpRequest, *, manager: bool) -> ReportFilterForm:
    """The filters asked for; a CSR's are their own, whatever the query string says."""
    data = request.GET.copy()
    if not manager:
        asked = data.get("csr")
        if asked and asked != str(_user(request).pk):
            raise PermissionDenied("You may see your own figures only.")
        data["csr"] = str(_user(request).pk)
    form = ReportFilterForm(data)
    if not manager:
        csr = form.fields["csr"]
        assert isinstance(csr, forms.ModelChoiceField)
        csr.queryset = User.objects.filter(pk=_user(request).pk)
    return form


def _csr_filters(form: ReportFilterForm, request: HttpRequest, manager: bool) -> ReportFilters:
    filters = form.filters()
    return filters if manager else filters.narrowed(csr_id=_user(request).pk)


@never_cache
@login_required
@require_GET
def report(request: HttpRequest) -> HttpResponse:
    """The managers' Reports page."""
    if not _require_reporting_role(request):
        raise PermissionDenied("Reports are for CSR managers; your figures are on My dashboard.")
    form = _filter_form(request, manager=True)
    context: dict[str, Any] = {
        "nav": "reports",
        "manager": True,
        "form": form,
        "tz": report_time_zone(),
    }
    if form.is_valid():
        filters = form.filters()
        # The range's sums, read once for the tiles and the tables.
        sums = figures.RangeSums(filters)
        totals = figures.totals(filters, sums=sums)
        cache: dict[str, list] = {}
        context.update(
            filters=filters,
            tiles=tiles(filters, totals),
            live=figures.live_now(filters),
            tables=[table_block(filters, key, cache=cache, sums=sums) for key in TABLES],
            reasons=figures.decline_reasons(filters),
            reasons_csv=f"{_export_url('reasons')}?{request.GET.urlencode()}",
            csat=outcomes.csat_totals(filters),
            csat_tables=[
                {"group": g, "rows": outcomes.csat_rows(filters, g)} for g in outcomes.CSAT_GROUPS
            ],
            csat_csv=f"{_export_url('csat')}?{request.GET.urlencode()}",
            dispositions=[outcomes.disposition_table(filters, g) for g in outcomes.CSAT_GROUPS],
            dispositions_csv=f"{_export_url('dispositions')}?{request.GET.urlencode()}",
        )
    return render(request, "reports/report.html", context, status=200 if form.is_valid() else 400)


def _export_url(table: str) -> str:
    return reverse("reports:export", args=[table])


@never_cache
@login_required
@require_GET
def export(request: HttpRequest, table: str) -> HttpResponse | StreamingHttpResponse:
    """A table as CSV (every figure, not only the columns shown), streamed."""
    manager = _require_reporting_role(request)
    form = _filter_form(request, manager=manager)
    if not form.is_valid():
        return HttpResponse(
            "Check the filters: "
            + "; ".join(str(e) for errs in form.errors.values() for e in errs),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    filters = _csr_filters(form, request, manager)
    stamp = f"{filters.start.isoformat()}_{filters.end.isoformat()}"
    if table == "interactions":
        metric = request.GET.get("metric", "escalations")
        if metric not in DRILL_METRICS:
            return HttpResponse("Unknown figure.", status=400, content_type="text/plain")
        return _interactions_csv(request, filters, metric, stamp)
    if table == "reasons":
        return csv_response(
            request,
            f"decline-reasons_{stamp}.csv",
            ["Reason", "Offers declined"],
            (
                [r["reason"] or "(none given)", r["offers"]]
                for r in figures.decline_reasons(filters, limit=1000)
            ),
        )
    if table in ("csat", "dispositions"):
        return _outcomes_csv(request, filters, table, stamp)
    spec = TABLES.get(table)
    if spec is None:
        raise Http404("No such table.")
    rows = figures.table(filters, spec.group)
    columns = CHAT_COLUMNS + OFFER_COLUMNS
    head = filters.period.title() if spec.group == "period" else spec.group.title()
    header = [head + (f" ({filters.tz.key})" if spec.group == "period" else "")]
    header += [
        c.label + (" (s)" if c.unit == "s" else " (%)" if c.unit == "%" else "") for c in columns
    ]

    def lines():
        for row in rows:
            label = (
                figures.period_label(row["key"], filters)
                if spec.group == "period"
                else row["label"]
            )
            yield [label, *(row[c.key] for c in columns)]

    return csv_response(request, f"{table}_{stamp}.csv", header, lines())


def _outcomes_csv(
    request: HttpRequest, filters: ReportFilters, table: str, stamp: str
) -> StreamingHttpResponse:
    """Satisfaction ratings, or chats by disposition code, per queue then per CSR: one
    row per queue or CSR (and code), in long form so codes may differ per queue."""
    if table == "csat":
        header = ["By", "Name", "Surveys asked", "Answered", "Response rate (%)", "Average rating"]
        keys = ("label", "asked", "answered", "response_rate", "average")
        lines = [
            [group, *(row[k] for k in keys)]
            for group in outcomes.CSAT_GROUPS
            for row in outcomes.csat_rows(filters, group)
        ]
    else:
        header = ["By", "Name", "Disposition code", "Label", "Chats"]
        lines = []
        for group in outcomes.CSAT_GROUPS:
            block = outcomes.disposition_table(filters, group)
            for row in block["rows"]:
                for code, count in zip(block["codes"], row["counts"], strict=True):
                    if count:
                        lines.append([group, row["label"], code["code"], code["label"], count])
    return csv_response(request, f"{table}_{stamp}.csv", header, lines)


def _interactions_csv(
    request: HttpRequest, filters: ReportFilters, metric: str, stamp: str
) -> StreamingHttpResponse:
    header = [
        "Interaction ID",
        f"Escalated ({filters.tz.key})",
        "Queue",
        "Channel",
        "CSR",
        "Wait (s)",
        "First response (s)",
        "Handle time (s)",
        "Ended by",
        "Abandoned",
        "Sentiment at end",
    ]
    # Plain values, names from small maps: no join, so the rows stream in index order.
    rows = (
        drill_facts(filters, metric)
        .select_related(None)
        .values_list(
            "interaction_id",
            "escalated_at",
            "queue_id",
            "channel_id",
            "csr_id",
            "wait_seconds",
            "first_response_seconds",
            "handle_seconds",
            "ended_by",
            "abandoned",
            "sentiment_end",
        )
    )
    queues = dict(Queue.objects.values_list("id", "name"))
    channels = dict(Channel.objects.values_list("id", "name"))
    csrs: dict[int, str] = {}

    def csr_name(csr_id: int | None) -> str:
        if csr_id is None:
            return ""
        if csr_id not in csrs:
            user = User.objects.filter(pk=csr_id).first()
            csrs[csr_id] = display_name(user) if user else ""
        return csrs[csr_id]

    def lines():
        for pk, at, queue, channel, csr, wait, first, handle, by, abandoned, mood in rows.iterator(
            chunk_size=2000
        ):
            yield [
                pk,
                at.astimezone(filters.tz).strftime("%Y-%m-%d %H:%M:%S"),
                queues.get(queue, ""),
                channels.get(channel, ""),
                csr_name(csr),
                wait,
                first,
                handle,
                by,
                "yes" if abandoned else "no",
                mood,
            ]

    return csv_response(request, f"interactions_{metric}_{stamp}.csv", header, lines())


@never_cache
@login_required
@require_GET
def interactions(request: HttpRequest) -> HttpResponse:
    """The chats behind one figure (a chart point, a table cell or a tile), each opening
    the read-only interaction window."""
    manager = _require_reporting_role(request)
    form = _filter_form(request, manager=manager)
    metric = request.GET.get("metric", "escalations")
    if metric not in DRILL_METRICS:
        raise Http404("No such figure.")
    if not form.is_valid():
        return render(
            request,
            "reports/interactions.html",
            {"form": form, "nav": "reports" if manager else "dashboard", "manager": manager},
            status=400,
        )
    filters = _csr_filters(form, request, manager)
    page = Paginator(drill_facts(filters, metric), DRILL_PAGE).get_page(request.GET.get("page"))
    rows = [
        {
            "fact": f,
            "escalated": f.escalated_at.astimezone(filters.tz).strftime("%Y-%m-%d %H:%M"),
            "csr": display_name(f.csr) if f.csr else "—",
            "wait": format_value(f.wait_seconds, "s"),
            "handle": format_value(f.handle_seconds, "s"),
        }
        for f in page.object_list
    ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reports/interactions.html",
        {
            "nav": "reports" if manager else "dashboard",
            "manager": manager,
            "form": form,
            "filters": filters,
            "metric_label": COLUMNS[metric].label if metric in COLUMNS else "Escalations",
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            "csv_url": f"{_export_url('interactions')}?{query.urlencode()}",
            "tz": filters.tz,
            "scope": _scope_text(filters),
        },
    )


def _scope_text(filters: ReportFilters) -> str:
    parts = [
        filters.start.isoformat()
        if filters.start == filters.end
        else f"{filters.start.isoformat()} to {filters.end.isoformat()}"
    ]
    if filters.hour is not None:
        parts.append(f"{filters.hour:02d}:00–{filters.hour:02d}:59")
    labels = {
        "queue": figures.group_labels("queue", [filters.queue_id]),
        "channel": figures.group_labels("channel", [filters.channel_id]),
        "csr": figures.group_labels("csr", [filters.csr_id]),
    }
    for key in ("queue", "channel", "csr"):
        value = getattr(filters, f"{key}_id")
        if value:
            parts.append(labels[key].get(value, ""))
    return ", ".join(p for p in parts if p)


# Dashboards


def _widget_filters(widget: dict[str, Any]) -> ReportFilters:
    tz = report_time_zone()
    start, end = range_dates(widget["range"], tz)
    return ReportFilters(
        start=start,
        end=end,
        tz=tz,
        queue_id=widget.get("queue"),
        channel_id=widget.get("channel"),
        csr_id=widget.get("csr"),
    )


def _widget_view(
    widget: dict[str, Any],
    index: int,
    shared: dict[ReportFilters, tuple[figures.RangeSums, dict[str, list]]],
) -> dict[str, Any]:
    """A widget's figures; widgets of the same filters share their range's sums and
    their tables' rows."""
    filters = _widget_filters(widget)
    sums, cache = shared.setdefault(filters, (figures.RangeSums(filters), {}))
    view: dict[str, Any] = {
        "index": index,
        "widget": widget,
        "scope": _scope_text(filters),
        "show_chart": widget["kind"] == boards.WidgetKind.CHART,
        "prefix": f"w{index}-",
    }
    if widget["kind"] == boards.WidgetKind.METRIC:
        totals = figures.totals(filters, sums=sums)
        view["tile"] = tiles(filters, totals, keys=(widget["source"],))[0]
        view["title"] = view["tile"]["label"]
    else:
        view["block"] = table_block(filters, widget["source"], cache=cache, sums=sums)
        view["title"] = TABLES[widget["source"]].title
    return view


@never_cache
@login_required
@require_GET
def my_dashboard(request: HttpRequest) -> HttpResponse:
    _require_reporting_role(request)
    dashboard = boards.dashboard_own(user=_user(request))
    return _dashboard_page(request, dashboard, form=None)


@never_cache
@login_required
@require_GET
def dashboard(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    _require_reporting_role(request)
    try:
        board = boards.dashboard_for_viewing(dashboard_id=dashboard_id, user=_user(request))
    except Dashboard.DoesNotExist:
        raise Http404("No such dashboard.") from None
    return _dashboard_page(request, board, form=None)


def _dashboard_page(
    request: HttpRequest, board: Dashboard, *, form: WidgetForm | None, status: int = 200
) -> HttpResponse:
    manager = _is_manager(request)
    own = board.owner_id == _user(request).pk
    if form is None and own:
        form = WidgetForm(manager=manager)
    share_form = None
    if own and manager:
        share_form = ShareForm(owner=_user(request), initial={"managers": board.shared_with.all()})
    shared: dict[ReportFilters, tuple[figures.RangeSums, dict[str, list]]] = {}
    return render(
        request,
        "reports/dashboard.html",
        {
            "nav": "dashboard",
            "manager": manager,
            "board": board,
            "own": own,
            "owner_name": display_name(board.owner),
            "widgets": [_widget_view(w, i, shared) for i, w in enumerate(board.widgets)],
            "form": form,
            "share_form": share_form,
            "shared_with_me": boards.dashboards_shared_with(user=_user(request)) if manager else [],
            "tz": report_time_zone(),
            "max_widgets": boards.MAX_WIDGETS,
        },
        status=status,
    )


def _own_board(request: HttpRequest, dashboard_id: int) -> Dashboard:
    _require_reporting_role(request)
    board = Dashboard.objects.filter(pk=dashboard_id).first()
    if board is None:
        raise Http404("No such dashboard.")
    if board.owner_id != _user(request).pk:
        raise PermissionDenied("Only the dashboard's owner may change it.")
    return board


@login_required
@require_POST
def widget_add(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    board = _own_board(request, dashboard_id)
    manager = _is_manager(request)
    form = WidgetForm(request.POST, manager=manager)
    if form.is_valid():
        try:
            widget = boards.widget_clean(form.widget_data(), user=_user(request))
            boards.dashboard_widget_add(dashboard_id=board.pk, user=_user(request), widget=widget)
        except ValidationError as error:
            form.add_error(None, error)
    if not form.is_valid():
        return _dashboard_page(request, board, form=form, status=400)
    return redirect(_board_url(board) + f"#widget-{len(board.widgets)}")


def _board_url(board: Dashboard) -> str:
    return reverse("reports:dashboard", args=[board.pk])


def _index(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("index", ""))
    except ValueError:
        raise ValidationError("Say which widget.") from None


@login_required
@require_POST
def widget_remove(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    board = _own_board(request, dashboard_id)
    try:
        boards.dashboard_widget_remove(
            dashboard_id=board.pk, user=_user(request), index=_index(request)
        )
    except ValidationError as error:
        return HttpResponse(" ".join(error.messages), status=400, content_type="text/plain")
    return redirect(_board_url(board))


@login_required
@require_POST
def widget_move(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    board = _own_board(request, dashboard_id)
    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    try:
        if offset is None:
            raise ValidationError("Move a widget up or down.")
        index = _index(request)
        boards.dashboard_widget_move(
            dashboard_id=board.pk, user=_user(request), index=index, offset=offset
        )
    except ValidationError as error:
        return HttpResponse(" ".join(error.messages), status=400, content_type="text/plain")
    return redirect(_board_url(board) + f"#widget-{index + offset}")


@login_required
@require_POST
def dashboard_share(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    board = _own_board(request, dashboard_id)
    if not _is_manager(request):
        raise PermissionDenied("Only CSR managers may share dashboards.")
    form = ShareForm(request.POST, owner=_user(request))
    if not form.is_valid():
        return HttpResponse("Share with CSR managers only.", status=400, content_type="text/plain")
    boards.dashboard_share(
        dashboard_id=board.pk, user=_user(request), managers=list(form.cleaned_data["managers"])
    )
    return redirect(_board_url(board) + "#share")
