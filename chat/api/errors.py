"""One JSON error shape for every API failure.

Every error response of the REST API has the body

    {"code": "<machine code>", "message": "<human sentence>",
     "errors": [{"field": "customer.email", "message": "...", "code": "invalid"}, ...]}

`errors` lists field problems (empty for errors that are not about a field); nested
field paths are joined with dots, list items by their index (`transcript.3.at`); a
problem with the body as a whole has `"field": null`.
"""

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler, set_rollback

from chat.errors import IdempotencyKeyConflict

logger = logging.getLogger("django.request")

VALIDATION_ERROR_CODE = "invalid"


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


def request_too_large(limit: int) -> RequestTooLarge:
    """The 413 for a body over `limit` bytes."""
    return RequestTooLarge(
        f"The request body is larger than the limit of {limit} bytes "
        f"({limit / 1_048_576:.1f} MiB): send a shorter transcript."
    )


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with an earlier one."
    default_code = "conflict"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's handler, with Django's and our own exceptions translated first and every
    body rewritten into the one error shape. Unexpected errors are logged and answered
    with a JSON 500 instead of an HTML page."""
    api_exc = _as_api_exception(exc)
    if api_exc is None:
        request = context.get("request")
        logger.error(
            "Internal Server Error: %s",
            getattr(request, "path", "?"),
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        set_rollback()
        return Response(
            {
                "code": "server_error",
                "message": "Something went wrong on our side; the request was not applied. "
                "Try again later.",
                "errors": [],
            },
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    response = exception_handler(api_exc, context)
    assert response is not None  # an APIException always gets a response
    response.data = error_body(api_exc)
    return response


def error_body(exc: exceptions.APIException) -> dict[str, Any]:
    """The JSON body for an API exception."""
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        if len(errors) == 1:
            only = errors[0]
            message = f"{only['field']}: {only['message']}" if only["field"] else only["message"]
        else:
            message = f"The request has {len(errors)} problems; see `errors`."
        return {"code": VALIDATION_ERROR_CODE, "message": message, "errors": errors}
    detail = exc.detail
    code = getattr(detail, "code", None) or exc.default_code
    return {"code": str(code), "message": str(detail), "errors": []}


def flatten_errors(detail: Any, path: str = "") -> list[dict[str, Any]]:
    """DRF's nested error detail as a flat list of {field, message, code}."""
    if isinstance(detail, dict):
        flat: list[dict[str, Any]] = []
        for key, value in detail.items():
            if key == api_settings.NON_FIELD_ERRORS_KEY:
                sub_path = path
            else:
                sub_path = f"{path}.{key}" if path else str(key)
            flat.extend(flatten_errors(value, sub_path))
        return flat
    if isinstance(detail, list):
        if any(isinstance(item, dict | list) for item in detail):
            # One entry per list item (an empty one for a valid item): index the path.
            flat = []
            for index, item in enumerate(detail):
                flat.extend(flatten_errors(item, f"{path}.{index}" if path else str(index)))
            return flat
        return [_error_item(item, path) for item in detail]
    return [_error_item(detail, path)]


def _error_item(detail: Any, path: str) -> dict[str, Any]:
    return {
        "field": path or None,
        "message": str(detail),
        "code": str(getattr(detail, "code", None) or "invalid"),
    }


def _as_api_exception(exc: Exception) -> exceptions.APIException | None:
    if isinstance(exc, exceptions.APIException):
        return exc
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(as_serializer_error(exc))
    if isinstance(exc, DjangoPermissionDenied):
        message = str(exc) or exceptions.PermissionDenied.default_detail
        return exceptions.PermissionDenied(message, code=getattr(exc, "code", None))
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        return exceptions.NotFound(str(exc) or None)
    if isinstance(exc, RequestDataTooBig):
        # Django's DATA_UPLOAD_MAX_MEMORY_SIZE, met when the body is read: the API's 413.
        return request_too_large(settings.PORTAL["API_MAX_BODY_BYTES"])
    if isinstance(exc, IdempotencyKeyConflict):
        return Conflict(str(exc), code="idempotency_conflict")
    return None
