"""Django's middleware, each marked synchronous only.

Under ASGI Django runs an async-capable middleware's every hook on its own hop between
the event loop and the request's thread; every view here is synchronous, so marking
the chain sync-only (the `async_capable` flag of Django's middleware API) runs the
whole chain and the view on the request's thread."""

from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.core import checks
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.middleware import clickjacking, common, csrf, security
from django.utils.deprecation import MiddlewareMixin
from django.utils.module_loading import import_string

# Paths whose answers are JSON, errors included (config.urls answers their 404s too).
JSON_PATH_PREFIXES = ("/api/", "/portal-api/", "/supervision-api/")


def _sync_only(middleware: type) -> type:
    """`middleware`, the same class but for its async_capable flag."""
    return type(
        middleware.__name__, (middleware,), {"async_capable": False, "__module__": __name__}
    )


SecurityMiddleware = _sync_only(security.SecurityMiddleware)
SessionMiddleware = _sync_only(sessions.SessionMiddleware)
CommonMiddleware = _sync_only(common.CommonMiddleware)
CsrfViewMiddleware = _sync_only(csrf.CsrfViewMiddleware)
AuthenticationMiddleware = _sync_only(auth.AuthenticationMiddleware)
MessageMiddleware = _sync_only(messages.MessageMiddleware)
XFrameOptionsMiddleware = _sync_only(clickjacking.XFrameOptionsMiddleware)


class JsonMethodNotAllowedMiddleware(MiddlewareMixin):
    """A JSON endpoint's wrong method: the API's error body, not the empty 405 of
    Django's require_GET/require_POST (the Allow header is kept)."""

    async_capable = False

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if not isinstance(response, HttpResponseNotAllowed) or not request.path.startswith(
            JSON_PATH_PREFIXES
        ):
            return response
        allowed = response["Allow"]
        answer = JsonResponse(
            {
                "code": "method_not_allowed",
                "message": f"{request.method} is not allowed here; use {allowed}.",
                "errors": [],
            },
            status=405,
        )
        answer["Allow"] = allowed
        return answer


# Django's deploy checks security.W001-W003 look for these classes by their dotted path
# in MIDDLEWARE, so they cannot see the sync-only classes above; the settings silence
# those three and this check asks the same questions of the classes themselves.
_REQUIRED = (
    (security.SecurityMiddleware, "config.W001", "SECURE_* settings have no effect"),
    (
        clickjacking.XFrameOptionsMiddleware,
        "config.W002",
        "pages are served without an X-Frame-Options header",
    ),
    (csrf.CsrfViewMiddleware, "config.W003", "forms and APIs are open to CSRF"),
)


@checks.register(checks.Tags.security, deploy=True)
def security_middleware_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    installed = [import_string(path) for path in settings.MIDDLEWARE]
    return [
        checks.Warning(
            f"No subclass of {required.__module__}.{required.__name__} in MIDDLEWARE: "
            f"{consequence}.",
            id=check_id,
        )
        for required, check_id, consequence in _REQUIRED
        if not any(issubclass(middleware, required) for middleware in installed)
    ]
