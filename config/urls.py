"""Root URLs: the portal pages, the admin, the REST API and its documentation, and the
404 answer for paths no route matches."""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views import csrf
from django.views.defaults import page_not_found
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.middleware import JSON_PATH_PREFIXES

# Swagger UI with its start-up script served as a file (the split view), so the page
# keeps the strict Content-Security-Policy for scripts; its stylesheet needs inline
# styles.
api_docs = csp_update({"style-src": [UNSAFE_INLINE]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema")
)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("chat.api.urls")),
    path("api/v1/", include("routing.urls")),
    path("api/v1/", include("cases.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("demo/", include("chat.urls")),
    # Chat files: uploads, signed downloads (docs/attachments.md).
    path("attachments/", include("chat.urls_attachments")),
    # Transcript downloads: /interactions/<id>/ChatTranscript.txt|json and the bot API's
    # /api/v1/escalations/<id>/transcript/.
    path("", include("transcripts.urls")),
    # Co-browse: the chat panel's start and end, and the CSR's viewer page.
    path("", include("cobrowse.urls")),
    # Phrases, knowledge and page push (the chat panel's side tabs, /help/articles/<slug>/).
    path("", include("assist.urls")),
    # Reports, the drill-down, CSV exports and dashboards (docs/reports.md).
    path("", include("reports.urls")),
    path("", include("cases.urls")),
    # Manager tools: queues, CSRs, chat activity, system health (docs/supervision.md).
    path("", include("supervision.urls")),
    path("", include("portal.urls")),
]

# JSON endpoints (JSON_PATH_PREFIXES) answer a path no route matches (a non-integer id,
# a typo) with the API's error body instead of an HTML page.


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 page, or the API's JSON 404 under JSON_PATH_PREFIXES."""
    if request.path.startswith(JSON_PATH_PREFIXES):
        message = (
            f"There is nothing at {request.path[:200]}: check the path (ids are whole numbers)."
        )
        return JsonResponse({"code": "not_found", "message": message, "errors": []}, status=404)
    return page_not_found(request, exception)


handler404 = not_found


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """The "Form expired" page (templates/403_csrf.html), or the API's JSON 403 under
    JSON_PATH_PREFIXES, whose message the portal's pages show (settings.CSRF_FAILURE_VIEW)."""
    if request.path.startswith(JSON_PATH_PREFIXES):
        message = (
            "This page is out of date (its security token was refused): reload it and try again."
        )
        return JsonResponse({"code": "csrf_failed", "message": message, "errors": []}, status=403)
    return csrf.csrf_failure(request, reason)
