"""URLs of co-browse: the chat panel's start and end, and the CSR's viewer page."""

from django.urls import path

from cobrowse import views

app_name = "cobrowse"

urlpatterns = [
    path(
        "portal-api/interactions/<int:interaction_id>/cobrowse/",
        views.cobrowse_start,
        name="api-start",
    ),
    path("portal-api/cobrowse/<int:session_id>/end/", views.cobrowse_stop, name="api-end"),
    path("cobrowse/<int:session_id>/viewer/", views.cobrowse_viewer, name="viewer"),
]
