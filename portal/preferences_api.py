"""The CSR's notification preferences endpoint (`/portal-api/preferences/`): My Work reads
and saves the sound setting through it (session login; POST needs the CSRF token)."""

import json
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from config.users import Role, user_roles
from portal.selectors import csr_preferences_get
from portal.services import csr_preferences_update

# Two booleans' worth of JSON; anything much larger is not a preferences update.
MAX_BODY_BYTES = 2_000
FIELDS = ("sound_enabled", "sound_volume")


class _BadInput(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _error(status: int, code: str, message: str, field: str = "") -> JsonResponse:
    errors = [{"field": field, "message": message}] if field else []
    return JsonResponse({"code": code, "message": message, "errors": errors}, status=status)


def _checked(request: HttpRequest) -> dict[str, Any]:
    """The fields to save, from the JSON body; _BadInput says what to fix."""
    too_big = _BadInput("", f"The request body can be at most {MAX_BODY_BYTES:,} bytes.")
    try:
        raw = request.body
    except RequestDataTooBig:
        # Past DATA_UPLOAD_MAX_MEMORY_SIZE Django refuses to read it: still this API's 400.
        raise too_big from None
    if len(raw) > MAX_BODY_BYTES:
        raise too_big
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        raise _BadInput("", "Send a JSON object.") from None
    if not isinstance(body, dict):
        raise _BadInput("", "Send a JSON object.")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise _BadInput(
            unknown[0], f"Unknown field {unknown[0]!r}: send {' and/or '.join(FIELDS)}."
        )
    if not body:
        raise _BadInput("", f"Send at least one of {' and '.join(FIELDS)}.")
    if "sound_enabled" in body and not isinstance(body["sound_enabled"], bool):
        raise _BadInput("sound_enabled", "Send sound_enabled as true or false.")
    volume = body.get("sound_volume")
    if "sound_volume" in body and (
        isinstance(volume, bool) or not isinstance(volume, int) or not 0 <= volume <= 100
    ):
        raise _BadInput("sound_volume", "Send sound_volume as a whole number from 0 to 100.")
    return body


@never_cache
@require_http_methods(["GET", "POST"])
def csr_preferences(request: HttpRequest) -> JsonResponse:
    """GET: the CSR's notification preferences. POST {sound_enabled?, sound_volume?}:
    save them and answer with all of them."""
    if not request.user.is_authenticated:
        return _error(401, "not_authenticated", "Log in to the portal first.")
    if Role.CSR not in user_roles(request.user):
        return _error(403, "forbidden", "Notification preferences are for CSRs.")
    user_id = request.user.pk
    if request.method == "POST":
        try:
            body = _checked(request)
        except _BadInput as error:
            return _error(400, "invalid", error.message, error.field)
        csr_preferences_update(user_id=user_id, **body)
    return JsonResponse(csr_preferences_get(user_id=user_id))
