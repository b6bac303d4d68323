"""The chat panel's Add task menu: the tasks a CSR can start during an interaction,
grouped in categories (the reference page's "Add tasks > General > Co-Browsing Session >
Add Task").

Each feature contributes its tasks through a provider, a function
`(interaction, user, mode) -> list[category]`; categories of the same key from several
providers are merged, in the order of PROVIDERS. A category is
{"key", "label", "tasks": [task]}, a task {"key", "label", "kind", "disabled_reason"}:
`kind` names the feature module that handles it in the browser (the panel dispatches
the DOM event "addtask" with {kind, key, interactionId}), `disabled_reason` is empty
when the CSR may start it now."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from cases.add_task import case_task_categories
from chat.models import Interaction
from cobrowse.selectors import COBROWSE_RUNNING, interaction_open_session
from config.users import user_roles
from portal import selectors
from portal.selectors import PanelMode

Category = dict[str, Any]
Provider = Callable[[Interaction, Any, PanelMode], list[Category]]


def _general(interaction: Interaction, user: Any, mode: PanelMode) -> list[Category]:
    """General → Co-Browsing Session."""
    cobrowse_reason = selectors.cobrowse_action_reason(interaction=interaction, mode=mode)
    if not cobrowse_reason and interaction_open_session(interaction_id=interaction.pk):
        cobrowse_reason = COBROWSE_RUNNING
    return [
        {
            "key": "general",
            "label": "General",
            "tasks": [
                {
                    "key": "cobrowse",
                    "label": "Co-Browsing Session",
                    "kind": "cobrowse",
                    "disabled_reason": cobrowse_reason,
                }
            ],
        }
    ]


# General first; features add their providers after it.
PROVIDERS: list[Provider] = [_general, case_task_categories]


def add_task_menu(interaction: Interaction, user: Any, mode: PanelMode) -> list[Category]:
    """The Add task menu of this chat for `user`, whose panel is in `mode`."""
    merged: dict[str, Category] = {}
    for provider in PROVIDERS:
        for category in provider(interaction, user, mode):
            found = merged.get(category["key"])
            if found is None:
                merged[category["key"]] = {**category, "tasks": list(category["tasks"])}
            else:
                found["tasks"].extend(category["tasks"])
    return [category for category in merged.values() if category["tasks"]]


@never_cache
@require_GET
def add_task_menu_view(request: HttpRequest, interaction_id: int) -> JsonResponse:
    """GET /portal-api/interactions/<id>/add-task/ → {"categories": [...]}, for the CSR
    handling the chat or a CSR manager (whose tasks all say why they are disabled)."""
    if not request.user.is_authenticated:
        return JsonResponse(
            {"code": "not_authenticated", "message": "Log in to the portal first.", "errors": []},
            status=401,
        )
    interaction = selectors.portal_interaction_get(interaction_id=interaction_id)
    mode = (
        selectors.portal_panel_mode(
            interaction=interaction, user=request.user, roles=user_roles(request.user)
        )
        if interaction is not None
        else None
    )
    if interaction is None or mode is None:
        return JsonResponse(
            {"code": "forbidden", "message": "You may not open this interaction.", "errors": []},
            status=403,
        )
    return JsonResponse({"categories": add_task_menu(interaction, request.user, mode)})
