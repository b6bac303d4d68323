"""Root URLs: the portal pages, the admin, the REST API and its documentation."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("chat.api.urls")),
    path("api/v1/", include("routing.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("demo/", include("chat.urls")),
    # Transcript downloads: /interactions/<id>/ChatTranscript.txt|json and the bot API's
    # /api/v1/escalations/<id>/transcript/.
    path("", include("transcripts.urls")),
    path("", include("portal.urls")),
]
