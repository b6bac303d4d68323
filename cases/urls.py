"""URLs of the Cases pages and the chat panel's case assistant endpoints."""

from django.urls import path

from cases import views

app_name = "cases"

urlpatterns = [
    path("cases/", views.cases_page, name="cases"),
    path("cases/<str:reference>/", views.case_page, name="case"),
    path(
        "portal-api/interactions/<int:interaction_id>/case-assistant/",
        views.assistant_view,
        name="api-assistant",
    ),
    path(
        "portal-api/interactions/<int:interaction_id>/case-types/<int:case_type_id>/form/",
        views.case_form_view,
        name="api-case-form",
    ),
    path(
        "portal-api/interactions/<int:interaction_id>/cases/",
        views.case_create_view,
        name="api-case-create",
    ),
]
