"""URLs of the REST API, version 1."""

from django.urls import path

from chat.api.views import EscalationCreateApi, EscalationDetailApi

app_name = "api"

urlpatterns = [
    path("escalations/", EscalationCreateApi.as_view(), name="escalation-create"),
    path("escalations/<int:pk>/", EscalationDetailApi.as_view(), name="escalation-detail"),
]
