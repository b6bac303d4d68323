"""URLs of the REST API, version 1."""

from django.urls import path

from chat.api.views import (
    EscalationAuthenticationApi,
    EscalationAuthenticationNoSlashApi,
    EscalationCreateApi,
    EscalationDetailApi,
    EscalationEndApi,
    EscalationMessagesApi,
)

app_name = "api"

urlpatterns = [
    path("escalations/", EscalationCreateApi.as_view(), name="escalation-create"),
    path("escalations/<int:pk>/", EscalationDetailApi.as_view(), name="escalation-detail"),
    path(
        "escalations/<int:pk>/messages/",
        EscalationMessagesApi.as_view(),
        name="escalation-messages",
    ),
    path("escalations/<int:pk>/end/", EscalationEndApi.as_view(), name="escalation-end"),
    path(
        "escalations/<int:pk>/authentication/",
        EscalationAuthenticationApi.as_view(),
        name="escalation-authentication",
    ),
    path("escalations/<int:pk>/authentication", EscalationAuthenticationNoSlashApi.as_view()),
]
