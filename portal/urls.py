"""URLs of the CSR Interaction Portal pages and their small JSON endpoints."""

from django.urls import path

from portal import add_task, api, history, preferences_api, views

app_name = "portal"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("", views.home, name="home"),
    path("recent/", views.recent_work, name="recent_work"),
    path(
        "follow-ups/<int:long_wait_id>/done/",
        views.follow_up_done,
        name="follow_up_done",
    ),
    path("interactions/<int:interaction_id>/", views.interaction_window, name="interaction"),
    path(
        "portal-api/interactions/<int:interaction_id>/panel/",
        api.interaction_panel,
        name="api-interaction-panel",
    ),
    path(
        "portal-api/interactions/<int:interaction_id>/add-task/",
        add_task.add_task_menu_view,
        name="api-interaction-add-task",
    ),
    path(
        "portal-api/interactions/<int:interaction_id>/history/",
        history.interaction_history_view,
        name="api-interaction-history",
    ),
    path(
        "portal-api/interactions/<int:interaction_id>/request-authentication/",
        api.interaction_request_authentication_view,
        name="api-interaction-request-authentication",
    ),
    path(
        "portal-api/preferences/",
        preferences_api.csr_preferences,
        name="api-preferences",
    ),
]
