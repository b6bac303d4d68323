"""Small JSON endpoints of the portal pages (session authentication; GET only, so no
CSRF token is needed): the chat panel's data for a chat accepted in My Work."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal import selectors
from portal.roles import user_roles


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "errors": {}}, status=status)


@never_cache
@require_GET
def interaction_panel(request: HttpRequest, interaction_id: int) -> JsonResponse:
    """The chat panel's data (customer, context, intent, what the Actions menu allows)
    for the CSR handling the interaction or a CSR manager."""
    if not request.user.is_authenticated:
        return _error(401, "not_authenticated", "Log in to the portal first.")
    interaction = selectors.portal_interaction_get(interaction_id=interaction_id)
    if interaction is None:
        return _error(403, "forbidden", "You may not open this interaction.")
    mode = selectors.portal_panel_mode(
        interaction=interaction, user=request.user, roles=user_roles(request.user)
    )
    if mode is None:
        return _error(403, "forbidden", "You may not open this interaction.")
    return JsonResponse(selectors.interaction_panel(interaction=interaction, mode=mode))
