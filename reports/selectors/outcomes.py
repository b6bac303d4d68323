"""What chats came to: the disposition codes CSRs picked in wrap-up and the customers'
satisfaction ratings, per queue and per CSR, read from the chat facts of the range
(docs/reports.md)."""

import json
from typing import Any

from django.db.models import Avg, Count, Q

from reports.selectors.figures import Group, chat_facts, group_labels
from reports.selectors.filters import ReportFilters

CSAT_GROUPS = (Group.QUEUE, Group.CSR)
NO_CODE = "No code"


def _share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


CSAT_AGGREGATES = {
    "csat_asked_n": Count("pk", filter=Q(csat_asked=True)),
    "csat_answered_n": Count("pk", filter=Q(csat_rating__isnull=False)),
    "csat_avg": Avg("csat_rating"),
}


def _csat_finish(row: dict[str, Any]) -> dict[str, Any]:
    asked, answered = row["csat_asked_n"], row["csat_answered_n"]
    return {
        "asked": asked,
        "answered": answered,
        "average": round(row["csat_avg"], 2) if row["csat_avg"] is not None else None,
        "response_rate": _share(answered, asked),
    }


def csat_totals(filters: ReportFilters) -> dict[str, Any]:
    """Over the chats of the range: surveys asked, answered, the average rating (1-5)
    and the response rate (answered ÷ asked, in %)."""
    return _csat_finish(chat_facts(filters).aggregate(**CSAT_AGGREGATES))


def csat_rows(filters: ReportFilters, group: str) -> list[dict[str, Any]]:
    """csat_totals per queue or per CSR (those with a survey asked), most asked first."""
    key = f"{group}_id"
    rows = (
        chat_facts(filters)
        .filter(csat_asked=True)
        .values(key)
        .annotate(**CSAT_AGGREGATES)
        .order_by()
    )
    labels = group_labels(group, [row[key] for row in rows])
    out = [
        {"key": row[key], "label": labels.get(row[key], "(none)"), **_csat_finish(row)}
        for row in rows
        if row[key] is not None
    ]
    out.sort(key=lambda r: (-r["asked"], r["label"]))
    return out


def disposition_table(filters: ReportFilters, group: str) -> dict[str, Any]:
    """Answered chats counted by disposition code, per queue or per CSR: `codes` (the
    columns: each code's slug and label, most used first, then "No code") and `rows`
    (label, a count per column, total)."""
    key = f"{group}_id"
    counts = (
        chat_facts(filters)
        .filter(answered=True)
        .values(key, "disposition__code", "disposition__label")
        .annotate(n=Count("pk"))
        .order_by()
    )
    by_key: dict[Any, dict[str, int]] = {}
    labels: dict[str, str] = {}
    used: dict[str, int] = {}
    for row in counts:
        if row[key] is None:
            continue
        code = row["disposition__code"] or ""
        labels.setdefault(code, row["disposition__label"] or NO_CODE)
        used[code] = used.get(code, 0) + row["n"]
        cells = by_key.setdefault(row[key], {})
        cells[code] = cells.get(code, 0) + row["n"]
    columns = sorted((c for c in used if c), key=lambda c: (-used[c], labels[c]))
    if "" in used:
        columns.append("")
    names = group_labels(group, list(by_key))
    rows = [
        {
            "key": k,
            "label": names.get(k, str(k)),
            "counts": [cells.get(c, 0) for c in columns],
            "total": sum(cells.values()),
        }
        for k, cells in by_key.items()
    ]
    rows.sort(key=lambda r: (-r["total"], r["label"]))
    # The stacked bars of reports.js: one dataset per code (no drill-down links).
    chart = {
        "type": "stacked",
        "labels": [r["label"] for r in rows],
        "datasets": [
            {
                "label": labels[c],
                "data": [r["counts"][i] for r in rows],
                "drill": [None] * len(rows),
            }
            for i, c in enumerate(columns)
        ],
    }
    return {
        "group": group,
        "codes": [{"code": c, "label": labels[c]} for c in columns],
        "rows": rows,
        "chart_json": json.dumps(chart),
    }
