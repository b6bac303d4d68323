"""Chat activity: every waiting and active chat, with what the page filters by (queue,
channel, CSR, sentiment, wait)."""

from typing import Any

from chat.models import OPEN_INTERACTION_STATUSES, Interaction
from supervision.selectors.clock import iso


def chat_rows(*, scope: frozenset[int] | None = None) -> list[dict[str, Any]]:
    """One row per open chat, oldest first (in the manager's queues when `scope` is set)."""
    chats = Interaction.objects.filter(status__in=OPEN_INTERACTION_STATUSES)
    if scope is not None:
        chats = chats.filter(queue_id__in=scope)
    return [
        {
            "id": row["pk"],
            "status": row["status"],
            "customer": row["customer_name"],
            "queue_id": row["queue_id"],
            "queue": row["queue__name"],
            "channel_id": row["channel_id"],
            "channel": row["channel__name"],
            "csr_id": row["assigned_csr_id"],
            "csr": (
                f"{row['assigned_csr__first_name']} {row['assigned_csr__last_name']}".strip()
                or row["assigned_csr__username"]
                or ""
            ),
            "sentiment": row["sentiment_label"] or "",
            "created_at": iso(row["created_at"]),
            "queued_at": iso(row["queued_at"]),
            "accepted_at": iso(row["accepted_at"]),
        }
        for row in chats.order_by("created_at", "pk").values(
            "pk",
            "status",
            "customer_name",
            "queue_id",
            "queue__name",
            "channel_id",
            "channel__name",
            "assigned_csr_id",
            "assigned_csr__first_name",
            "assigned_csr__last_name",
            "assigned_csr__username",
            "sentiment_label",
            "created_at",
            "queued_at",
            "accepted_at",
        )
    ]
