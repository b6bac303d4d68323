"""URLs of the chat app's part of the bot API, under /api/v1/ (escalating is routing's:
routing/urls.py)."""

from django.urls import path

from chat.api.attachments import EscalationAttachmentsApi
from chat.api.connector import (
    EscalationAuthenticationApi,
    EscalationAuthenticationNoSlashApi,
    EscalationEndApi,
    EscalationMessagesApi,
)
from chat.api.escalations import EscalationDetailApi
from chat.api.satisfaction import EscalationSatisfactionApi

app_name = "api"

urlpatterns = [
    path("escalations/<int:pk>/", EscalationDetailApi.as_view(), name="escalation-detail"),
    path(
        "escalations/<int:pk>/messages/",
        EscalationMessagesApi.as_view(),
        name="escalation-messages",
    ),
    path("escalations/<int:pk>/end/", EscalationEndApi.as_view(), name="escalation-end"),
    path(
        "escalations/<int:pk>/attachments/",
        EscalationAttachmentsApi.as_view(),
        name="escalation-attachments",
    ),
    path(
        "escalations/<int:pk>/authentication/",
        EscalationAuthenticationApi.as_view(),
        name="escalation-authentication",
    ),
    path("escalations/<int:pk>/authentication", EscalationAuthenticationNoSlashApi.as_view()),
    path(
        "escalations/<int:pk>/satisfaction/",
        EscalationSatisfactionApi.as_view(),
        name="escalation-satisfaction",
    ),
]
