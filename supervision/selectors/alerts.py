"""Alerts: a waiting chat past its queue's service level, a chat whose sentiment is
negative, a chat every eligible CSR passed on, a service that is red. Each alert has a
stable key, so a page is told once when it starts and once when it ends."""

from datetime import datetime
from typing import Any

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from chat.models import (
    OPEN_INTERACTION_STATUSES,
    WAITING_INTERACTION_STATUSES,
    Interaction,
    InteractionStatus,
    SentimentLabel,
)
from routing.models import RoutingDecision

# The routing engine's verdict on a chat every free CSR passed on
# (routing.services.engine._decision).
EVERYONE_PASSED_PREFIX = "Every free CSR passed"


def chat_alerts(*, now: datetime | None = None) -> list[dict[str, Any]]:
    """The chat alerts standing now (three queries)."""
    now = now or timezone.now()
    alerts = []
    waiting = Interaction.objects.filter(status__in=WAITING_INTERACTION_STATUSES).values(
        "pk",
        "customer_name",
        "queue_id",
        "queue__name",
        "queue__service_level_seconds",
        "queued_at",
    )
    for row in waiting:
        waited = (now - row["queued_at"]).total_seconds()
        if waited > row["queue__service_level_seconds"]:
            alerts.append(
                {
                    "key": f"sla:{row['pk']}",
                    "kind": "service_level",
                    "interaction_id": row["pk"],
                    "queue_id": row["queue_id"],
                    "message": f"{row['customer_name']} has waited past the "
                    f"{row['queue__name']} service level "
                    f"({row['queue__service_level_seconds']} s).",
                }
            )
    negative = Interaction.objects.filter(
        status__in=OPEN_INTERACTION_STATUSES, sentiment_label=SentimentLabel.NEGATIVE
    ).values("pk", "customer_name", "queue_id")
    for sad in negative:
        alerts.append(
            {
                "key": f"negative:{sad['pk']}",
                "kind": "sentiment",
                "interaction_id": sad["pk"],
                "queue_id": sad["queue_id"],
                "message": f"{sad['customer_name']}'s sentiment turned negative.",
            }
        )
    latest = RoutingDecision.objects.filter(interaction_id=OuterRef("pk")).order_by("-pk")
    passed = (
        Interaction.objects.filter(status=InteractionStatus.QUEUED)
        .annotate(verdict=Subquery(latest.values("summary")[:1]))
        .filter(verdict__startswith=EVERYONE_PASSED_PREFIX)
        .values("pk", "customer_name", "queue_id", "queue__name")
    )
    for chat in passed:
        alerts.append(
            {
                "key": f"passed:{chat['pk']}",
                "kind": "everyone_passed",
                "interaction_id": chat["pk"],
                "queue_id": chat["queue_id"],
                "message": f"Every eligible CSR of {chat['queue__name']} passed on "
                f"{chat['customer_name']}'s chat.",
            }
        )
    return alerts


def health_alerts(report: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not report:
        return []
    return [
        {
            "key": f"health:{check['key']}",
            "kind": "service",
            "interaction_id": None,
            "queue_id": None,
            "message": f"{check['name']} is red: {check['reason']}",
        }
        for check in report["checks"]
        if check["level"] == "red"
    ]
