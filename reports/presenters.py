"""What the pages show: each table with its chart's data and every point's drill-down
link, and the figures as tiles. Shared by the Reports page and the dashboards."""

import json
from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.http import urlencode

from reports.selectors import figures
from reports.selectors.figures import COLUMNS, Column, Group
from reports.selectors.filters import ReportFilters


@dataclass(frozen=True)
class TableSpec:
    key: str
    title: str
    group: str
    chart: str  # "line", "bar" or "stacked"
    chart_metrics: tuple[str, ...]
    columns: tuple[str, ...]


TABLES = {
    spec.key: spec
    for spec in (
        TableSpec(
            "period",
            "Volumes over time",
            Group.PERIOD,
            "line",
            ("escalations", "answered", "abandoned"),
            (
                "escalations",
                "answered",
                "abandoned",
                "wait_avg",
                "service_level",
                "first_response_avg",
                "handle_avg",
                "offers_made",
            ),
        ),
        TableSpec(
            "queue",
            "By queue",
            Group.QUEUE,
            "bar",
            ("escalations", "answered", "abandoned"),
            (
                "escalations",
                "abandoned",
                "wait_avg",
                "wait_p90",
                "service_level",
                "first_response_avg",
                "handle_avg",
                "transfers_to_csr",
                "transfers_to_queue",
            ),
        ),
        TableSpec(
            "channel",
            "By channel",
            Group.CHANNEL,
            "bar",
            ("escalations", "answered", "abandoned"),
            (
                "escalations",
                "abandoned",
                "wait_avg",
                "service_level",
                "handle_avg",
                "auth_requests",
                "auth_successes",
                "cobrowse_sessions",
            ),
        ),
        TableSpec(
            "csr",
            "By CSR",
            Group.CSR,
            "bar",
            ("offers_accepted", "escalations"),
            (
                "offers_accepted",
                "escalations",
                "first_response_avg",
                "handle_avg",
                "offers_made",
                "offers_declined",
                "offers_missed",
                "occupancy",
                "sentiment_improved_share",
            ),
        ),
        TableSpec(
            "offers",
            "Offer outcomes by queue",
            Group.QUEUE,
            "stacked",
            ("offers_accepted", "offers_declined", "offers_missed", "offers_withdrawn"),
            (
                "offers_made",
                "offers_accepted",
                "offers_declined",
                "offers_missed",
                "offers_withdrawn",
            ),
        ),
    )
}
# Column labels where a table means something narrower than the figure's own name.
LABELS = {("csr", "offers_accepted"): "Chats taken", ("csr", "escalations"): "Chats ended with"}

TILES = (
    "escalations",
    "abandoned",
    "wait_avg",
    "wait_p90",
    "service_level",
    "first_response_avg",
    "handle_avg",
    "transfers_to_csr",
    "transfers_to_queue",
    "offers_made",
    "offers_accepted",
    "offers_declined",
    "offers_missed",
    "ended_by_csr",
    "ended_by_customer",
    "ended_by_system",
    "sentiment_negative",
    "sentiment_improved_share",
    "auth_requests",
    "auth_successes",
    "cobrowse_sessions",
    "occupancy",
)


def format_value(value: Any, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "s":
        seconds = float(value)
        if seconds >= 90:
            return f"{seconds / 60:.1f} min"
        return f"{seconds:.1f} s"
    if unit == "%":
        return f"{value:.1f} %"
    return f"{value:,}".replace(",", " ")


def drill_url(filters: ReportFilters, metric: str) -> str:
    params = filters.as_params() | {"metric": metric}
    return f"{reverse('reports:interactions')}?{urlencode(params)}"


def csv_url(filters: ReportFilters, table: str) -> str:
    return f"{reverse('reports:export', args=[table])}?{urlencode(filters.as_params())}"


def _same_group(spec: TableSpec) -> list[TableSpec]:
    return [t for t in TABLES.values() if t.group == spec.group]


def table_block(
    filters: ReportFilters,
    key: str,
    *,
    cache: dict[str, list] | None = None,
    sums: figures.RangeSums | None = None,
) -> dict[str, Any]:
    """A table: its rows (each cell with its text and drill-down link) and its chart.
    Tables of the same grouping share their rows through `cache`, and tables and totals
    the sums of their range through `sums`."""
    spec = TABLES[key]
    cache = {} if cache is None else cache
    if spec.group not in cache:
        cache[spec.group] = figures.table(
            filters,
            spec.group,
            with_p90=any("wait_p90" in t.columns for t in _same_group(spec)),
            sums=sums,
        )
    rows = cache[spec.group]
    columns = [
        Column(c, LABELS.get((key, c), COLUMNS[c].label), COLUMNS[c].unit) for c in spec.columns
    ]
    shown = []
    for row in rows:
        narrowed = figures.narrow(filters, spec.group, row["key"])
        label = (
            figures.period_label(row["key"], filters)
            if spec.group == Group.PERIOD
            else row["label"]
        )
        shown.append(
            {
                "label": label,
                "cells": [
                    {
                        "text": format_value(row[c.key], c.unit),
                        "href": drill_url(narrowed, c.key),
                    }
                    for c in columns
                ],
                "drill": {m: drill_url(narrowed, m) for m in spec.chart_metrics},
                "values": row,
            }
        )
    chart = {
        "type": spec.chart,
        "title": spec.title,
        "labels": [r["label"] for r in shown],
        "datasets": [
            {
                "label": LABELS.get((key, m), COLUMNS[m].label),
                "data": [r["values"][m] or 0 for r in shown],
                "drill": [r["drill"][m] for r in shown],
            }
            for m in spec.chart_metrics
        ],
    }
    return {
        "key": key,
        "title": spec.title,
        "group_label": {"period": filters.period.title()}.get(
            spec.group, spec.group.upper() if spec.group == Group.CSR else spec.group.title()
        ),
        "columns": columns,
        "rows": shown,
        "chart_json": json.dumps(chart),
        "csv_url": csv_url(filters, key),
    }


def tiles(filters: ReportFilters, totals: dict[str, Any], keys=TILES) -> list[dict[str, Any]]:
    return [
        {
            "key": key,
            "label": COLUMNS[key].label,
            "text": format_value(totals.get(key), COLUMNS[key].unit),
            "href": drill_url(filters, key),
        }
        for key in keys
    ]
