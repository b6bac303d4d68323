"""URLs of transcript downloads: the portal's (session login) and the bot API's
(`/api/v1/escalations/{id}/transcript/`, bot token)."""

from django.urls import path

from transcripts import api, views
from transcripts.streaming import TranscriptFormat

app_name = "transcripts"

urlpatterns = [
    path(
        "interactions/<int:interaction_id>/ChatTranscript.txt",
        views.transcript_download,
        {"fmt": TranscriptFormat.TXT},
        name="download-txt",
    ),
    path(
        "interactions/<int:interaction_id>/ChatTranscript.json",
        views.transcript_download,
        {"fmt": TranscriptFormat.JSON},
        name="download-json",
    ),
    path(
        "api/v1/escalations/<int:pk>/transcript/",
        api.EscalationTranscriptApi.as_view(),
        name="api-escalation-transcript",
    ),
]
