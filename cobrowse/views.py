"""The chat panel's co-browse endpoints (session login; POSTs need the CSRF token, sent
as X-CSRFToken) and the CSR's viewer page, which the chat panel frames."""

from functools import wraps

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace, csp_update
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from chat.api.parsers import JsonBodyError, json_object_loads
from cobrowse import selectors, services
from cobrowse.conf import cobrowse_setting
from cobrowse.errors import CobrowseError
from cobrowse.models import EndedBy, EndReason, StartedVia

# HTTP status of each refusal; any other is 409 (the chat's state does not allow it).
ERROR_STATUS = {"not_found": 404, "not_party": 403, "bad_via": 400, "bad_json": 400}


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "errors": []}, status=status)


def _refusal(error: CobrowseError) -> JsonResponse:
    return _error(ERROR_STATUS.get(error.code, 409), error.code, error.message)


@never_cache
@require_POST
def cobrowse_start(request: HttpRequest, interaction_id: int) -> JsonResponse:
    """Actions → Start co-browse, or Add task → General → Co-Browsing Session: body
    {"via": "actions" | "add_task"} (default actions). 201 with the session's state;
    refused with the reason the panel shows (public channel, switched off, not your chat,
    one already on)."""
    if not request.user.is_authenticated:
        return _error(401, "not_authenticated", "Log in to the portal first.")
    try:
        body = json_object_loads(request.body) if request.body else {}
    except JsonBodyError as error:
        return _error(400, "bad_json", str(error))
    via = body.get("via", StartedVia.ACTIONS)
    if not isinstance(via, str):
        return _error(400, "bad_via", f"via must be one of: {', '.join(StartedVia.values)}.")
    try:
        session = services.cobrowse_request(
            interaction_id=interaction_id, user=request.user, via=via
        )
    except CobrowseError as error:
        return _refusal(error)
    return JsonResponse(selectors.session_state(session), status=201)


@never_cache
@require_POST
def cobrowse_stop(request: HttpRequest, session_id: int) -> JsonResponse:
    """End co-browse, by the CSR who started it (also withdraws a request not answered
    yet). Body {"reason": "panel_closed"} when the panel closes."""
    if not request.user.is_authenticated:
        return _error(401, "not_authenticated", "Log in to the portal first.")
    try:
        body = json_object_loads(request.body) if request.body else {}
    except JsonBodyError as error:
        return _error(400, "bad_json", str(error))
    closing = body.get("reason") == EndReason.PANEL_CLOSED
    session = selectors.session_get(session_id=session_id)
    if session is None or session.csr_id != request.user.pk:
        return _error(404, "not_found", "You have no such co-browse session.")
    try:
        session = services.cobrowse_end(
            session_id=session_id,
            ended_by=EndedBy.SYSTEM if closing else EndedBy.CSR,
            reason=EndReason.PANEL_CLOSED if closing else EndReason.CSR,
            user=request.user,
        )
    except CobrowseError as error:
        return _refusal(error)
    return JsonResponse(selectors.session_state(session))


def _viewer_policy() -> dict[str, list[str]]:
    """The viewer page shows the customer's page as rrweb rebuilds it: inline <style>
    elements (the host's stylesheets, inlined by the recorder), and images, fonts and
    stylesheets of the host site's origins. Scripts stay the portal's own only."""
    origins = list(cobrowse_setting("HOST_ORIGINS"))
    return {
        "style-src": [UNSAFE_INLINE, *origins],
        "img-src": [*origins, "blob:"],
        "font-src": ["data:", *origins],
    }


def _with_viewer_policy(view):
    """csp_update with _viewer_policy as it is at each request (settings may change)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        framed = csp_replace({"frame-ancestors": [SELF]})(view)  # only the portal frames it
        return csp_update(_viewer_policy())(framed)(request, *args, **kwargs)

    return wrapped


@never_cache
@require_GET
@xframe_options_sameorigin
@_with_viewer_policy
@login_required
def cobrowse_viewer(request: HttpRequest, session_id: int) -> HttpResponse:
    """The viewer the chat panel frames: the customer's page, live, scaled to fit."""
    session = selectors.session_get(session_id=session_id)
    if session is None:
        raise Http404("No such co-browse session.")
    role = selectors.session_viewer_role(session=session, user=request.user)
    if role is None:
        raise PermissionDenied("You may not view this co-browse session.")
    return render(
        request,
        "cobrowse/viewer.html",
        {"session": session, "role": role, "state": selectors.session_state(session)},
    )
