"""Small JSON endpoints of the portal pages (session authentication; POSTs need the CSRF
token, sent as X-CSRFToken): the chat panel's data for a chat accepted in My Work, and
its Actions → Request authentication."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from chat.errors import ChatError
from chat.services.authentication import interaction_request_authentication
from config.users import Role, user_roles
from portal import selectors


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "errors": []}, status=status)


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


# Status of each refusal of interaction_request_authentication.
REQUEST_AUTHENTICATION_STATUS = {"not_found": 404, "not_party": 403}


@never_cache
@require_POST
def interaction_request_authentication_view(
    request: HttpRequest, interaction_id: int
) -> JsonResponse:
    """Actions → Request authentication, by the CSR handling the chat: the customer is
    asked to log in and the chat shows "Authentication request is sent to customer"."""
    if not request.user.is_authenticated:
        return _error(401, "not_authenticated", "Log in to the portal first.")
    if Role.CSR not in user_roles(request.user):
        return _error(403, "forbidden", "Only CSRs may request authentication.")
    try:
        message = interaction_request_authentication(
            interaction_id=interaction_id, csr=request.user
        )
    except ChatError as error:
        return _error(REQUEST_AUTHENTICATION_STATUS.get(error.code, 409), error.code, error.message)
    return JsonResponse({"interaction_id": interaction_id, "seq": message.seq})
