"""The bot API's transcript download: `GET /api/v1/escalations/{id}/transcript/`.

A bot client reads the transcript of a chat it escalated, during the chat or after it,
as JSON (the default) or as ChatTranscript.txt (`?format=txt` or `Accept: text/plain`).
Errors keep the API's one JSON shape whatever format was asked for."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from chat.api import schema
from chat.api.base import BotApiView
from chat.api.schema import error_example, error_response
from chat.models import InteractionStatus, SenderKind, SystemEvent
from transcripts import selectors
from transcripts.formats import FORMAT_NAME, FORMAT_VERSION, Phase
from transcripts.streaming import TranscriptFormat, transcript_response

TAGS = ["escalations"]
OK_DESCRIPTION = (
    "ChatTranscript.json, or ChatTranscript.txt (UTF-8) for `format=txt`, sent as an "
    "attachment (Content-Disposition) and streamed."
)


class TranscriptTextRenderer(BaseRenderer):
    """`text/plain` for content negotiation; the body itself is streamed by the view."""

    media_type = "text/plain"
    format = TranscriptFormat.TXT.value
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type=None, renderer_context=None) -> bytes:
        return str(data).encode()


class TranscriptNegotiation(DefaultContentNegotiation):
    """`?format=` decides when given (whatever `Accept` says; an unknown format is a 400
    that names the choices, not DRF's bare 404); otherwise `Accept`, JSON first."""

    def select_renderer(self, request, renderers, format_suffix=None):
        fmt = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        if fmt:
            renderer = self.filter_renderers(renderers, fmt)[0]
            return renderer, renderer.media_type
        return super().select_renderer(request, renderers, format_suffix)

    def filter_renderers(self, renderers, format):
        matching = [renderer for renderer in renderers if renderer.format == format]
        if not matching:
            choices = " or ".join(renderer.format for renderer in renderers)
            raise ValidationError(
                {"format": [f"There is no transcript format '{format}': use {choices}."]},
                code="invalid_choice",
            )
        return matching


# --- The JSON document, described for the OpenAPI document (the view streams it) -----


class TranscriptCustomerSerializer(serializers.Serializer):
    name = serializers.CharField()
    external_id = serializers.CharField(help_text="Your id for the customer; may be empty.")

    class Meta:
        ref_name = "TranscriptCustomer"


class TranscriptInteractionSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The interaction (escalation) id.")
    status = serializers.ChoiceField(choices=InteractionStatus.choices)
    customer = TranscriptCustomerSerializer()
    channel = serializers.CharField(help_text="The channel's name.")
    queue = serializers.CharField(help_text="The queue's name (the last one, after transfers).")
    csrs = serializers.ListField(
        child=serializers.CharField(),
        help_text="Display names of the CSRs who handled the chat, in the order they took it.",
    )
    started_at = serializers.DateTimeField(help_text="When the bot escalated.")
    ended_at = serializers.DateTimeField(allow_null=True, help_text="Null while the chat is on.")
    authenticated = serializers.BooleanField()

    class Meta:
        ref_name = "TranscriptInteraction"


class TranscriptFileSerializer(serializers.Serializer):
    name = serializers.CharField()
    content_type = serializers.CharField(help_text="Decided from the file's content.")
    size = serializers.IntegerField(help_text="Bytes.")
    url = serializers.CharField(
        help_text="The file's link, relative to the portal: with this API's token (or a "
        "portal login) it redirects to a short-lived signed download URL."
    )

    class Meta:
        ref_name = "TranscriptFile"


class TranscriptMessageSerializer(serializers.Serializer):
    seq = serializers.IntegerField(min_value=1, help_text="Sequence number in the chat.")
    at = serializers.DateTimeField(
        help_text="When it was stored, in the contact center's time zone, with its offset."
    )
    phase = serializers.ChoiceField(
        choices=[phase.value for phase in Phase],
        help_text="`bot`: the bot conversation sent with the escalation; `live`: after it.",
    )
    sender_kind = serializers.ChoiceField(choices=SenderKind.choices)
    sender = serializers.CharField(
        help_text="The customer's, CSR's or bot's display name; empty for system messages."
    )
    text = serializers.CharField(help_text="As written (system messages: what happened).")
    event = serializers.CharField(
        help_text="System messages: "
        + ", ".join(f"`{event.value}`" for event in SystemEvent)
        + ". Empty for other messages."
    )
    note = serializers.CharField(
        allow_null=True,
        help_text="Always null here: transfer notes are for the contact center only.",
    )
    attachments = serializers.ListField(
        child=serializers.CharField(), help_text="Names of the files attached to the message."
    )
    files = TranscriptFileSerializer(
        many=True,
        required=False,
        help_text="Only on messages with files: each file with its link (docs/attachments.md).",
    )

    class Meta:
        ref_name = "TranscriptMessage"


class TranscriptDocumentSerializer(serializers.Serializer):
    format = serializers.CharField(help_text=f"Always `{FORMAT_NAME}`.")
    version = serializers.IntegerField(
        help_text=f"`{FORMAT_VERSION}`; grows only when a field changes meaning."
    )
    time_zone = serializers.CharField(
        help_text="The contact center's time zone (IANA name) all times are given in."
    )
    interaction = TranscriptInteractionSerializer()
    messages = TranscriptMessageSerializer(many=True, help_text="Oldest first.")
    message_count = serializers.IntegerField(min_value=0)

    class Meta:
        ref_name = "Transcript"


class EscalationTranscriptApi(BotApiView):
    """The transcript of an escalation this bot client made."""

    renderer_classes = [JSONRenderer, TranscriptTextRenderer]
    content_negotiation_class = TranscriptNegotiation

    def handle_exception(self, exc: Exception) -> Response:
        # Errors are JSON in the API's one shape, even when text was asked for.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(
        operation_id="escalations_transcript",
        summary="Download the transcript",
        description=(
            "The transcript of a chat this bot client escalated, during the chat or after "
            "it: a header (customer, channel, queue, CSRs, start, end, authenticated), the "
            "bot conversation sent with the escalation, then the live conversation and its "
            "system events, times in the contact center's time zone with their UTC offset. "
            "JSON by default; `?format=txt` (or `Accept: text/plain`) gives the "
            "ChatTranscript.txt a CSR downloads. Streamed, as an attachment. Transfer notes "
            "are left out. Escalations of other clients are not found (404). See "
            "docs/transcripts.md."
        ),
        tags=TAGS,
        parameters=[
            schema.ESCALATION_ID,
            OpenApiParameter(
                name="format",
                type=str,
                enum=[fmt.value for fmt in TranscriptFormat],
                location=OpenApiParameter.QUERY,
                required=False,
                description="`json` (default) or `txt`. Takes precedence over `Accept`.",
            ),
            schema.RETRY_AFTER_HEADER,
            schema.WWW_AUTHENTICATE_HEADER,
        ],
        responses={
            (200, "application/json"): OpenApiResponse(
                TranscriptDocumentSerializer,
                description=OK_DESCRIPTION,
            ),
            (200, "text/plain"): OpenApiResponse(
                OpenApiTypes.STR,
                description=OK_DESCRIPTION,
                examples=[
                    OpenApiExample(
                        "Transcript",
                        response_only=True,
                        media_type="text/plain",
                        value=(
                            "Chat transcript\n===============\nInteraction ID: 42\n...\n"
                            "[2026-11-23 14:05:20 +01:00] *** Alex Morgan joined the chat\n"
                            "[2026-11-23 14:05:31 +01:00] Dana Reyes (customer): Hello\n"
                        ),
                    )
                ],
            ),
            (400, "application/json"): error_response(
                "Unknown `format`.",
                error_example(
                    "Unknown format",
                    "invalid",
                    "format: There is no transcript format 'pdf': use json or txt.",
                    [
                        {
                            "field": "format",
                            "message": "There is no transcript format 'pdf': use json or txt.",
                            "code": "invalid_choice",
                        }
                    ],
                ),
            ),
            (401, "application/json"): schema.ERROR_401,
            (403, "application/json"): schema.ERROR_403,
            (404, "application/json"): schema.ERROR_404,
            (406, "application/json"): error_response(
                "`Accept` names neither application/json nor text/plain.",
                error_example(
                    "Not acceptable",
                    "not_acceptable",
                    "Could not satisfy the request Accept header.",
                ),
            ),
            (429, "application/json"): schema.ERROR_429,
        },
    )
    def get(self, request: Request, pk: int):
        interaction = selectors.transcript_interaction_get(
            interaction_id=pk,
            bot_client=request.user,  # type: ignore[arg-type]
        )
        if interaction is None:
            raise NotFound(f"This bot client made no escalation {pk}.")
        transcript = selectors.transcript_build(
            interaction=interaction, audience=selectors.Audience.BOT_CLIENT
        )
        fmt = TranscriptFormat(request.accepted_renderer.format)
        # DRF adds `Vary: Accept` (two renderers) when it finalizes the response.
        return transcript_response(request=request._request, transcript=transcript, fmt=fmt)
