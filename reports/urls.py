"""URLs of the Reports page, the drill-down, CSV exports and the dashboards."""

from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("reports/", views.report, name="report"),
    path("reports/interactions/", views.interactions, name="interactions"),
    path("reports/export/<slug:table>.csv", views.export, name="export"),
    path("dashboard/", views.my_dashboard, name="my_dashboard"),
    path("dashboards/<int:dashboard_id>/", views.dashboard, name="dashboard"),
    path("dashboards/<int:dashboard_id>/widgets/", views.widget_add, name="widget_add"),
    path(
        "dashboards/<int:dashboard_id>/widgets/remove/", views.widget_remove, name="widget_remove"
    ),
    path("dashboards/<int:dashboard_id>/widgets/move/", views.widget_move, name="widget_move"),
    path("dashboards/<int:dashboard_id>/share/", views.dashboard_share, name="share"),
]
