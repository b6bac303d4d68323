"""The cases' part of the chat panel's Add task menu (portal/add_task.py): one category
per case type category, one task per case type the chat offers (kind "case", key its id)."""

from typing import Any

from django.utils.text import slugify

from cases.selectors import case_types_offered
from chat.models import Interaction

NOT_LIVE = "Only the CSR handling this chat can open a case in it"
ENDED = "This chat has ended"


def case_task_categories(interaction: Interaction, user: Any, mode: str) -> list[dict[str, Any]]:
    """`mode` is the panel's mode ("live" for the CSR handling the chat)."""
    if not interaction.is_open:
        why = ENDED
    elif mode != "live":
        why = NOT_LIVE
    else:
        why = ""
    categories: dict[str, dict[str, Any]] = {}
    for case_type in case_types_offered(interaction=interaction):
        key = slugify(case_type.category) or "general"
        category = categories.setdefault(
            key, {"key": key, "label": case_type.category or "General", "tasks": []}
        )
        category["tasks"].append(
            {
                "key": str(case_type.pk),
                "label": case_type.name,
                "kind": "case",
                "disabled_reason": why,
            }
        )
    return list(categories.values())
