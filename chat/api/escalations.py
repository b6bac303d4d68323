"""The bot escalation API's shared pieces, and following an escalation:
GET /api/v1/escalations/{id}/. (Escalating is routing's: routing/api/escalations.py.)"""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, cast
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from chat.api import schema
from chat.api.base import BotApiView
from chat.models import Interaction, InteractionStatus
from chat.selectors.interactions import (
    interaction_estimated_wait_seconds,
    interaction_get_for_client,
    interaction_queue_position,
)
from config.users import display_name

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 200
CUSTOMER_WS_PATH = "/ws/customer/{interaction_id}/"

TAGS = ["escalations"]

# The types of the computed output fields, for the OpenAPI document.
POSITION_FIELD = serializers.IntegerField(min_value=1, allow_null=True)
WAIT_FIELD = serializers.IntegerField(min_value=0, allow_null=True)


# --- Pieces shared by the two endpoints ---------------------------------------------


def queue_position(context: Mapping[str, Any], interaction: Interaction) -> int | None:
    """The interaction's queue position, read once per response."""
    # A serializer's context is typed Mapping but is the view's plain dict at run time:
    # the positions are cached in it for the rest of the response.
    positions = cast("dict[str, Any]", context).setdefault("_positions", {})
    if interaction.pk not in positions:
        positions[interaction.pk] = interaction_queue_position(interaction=interaction)
    return positions[interaction.pk]


class QueueRefSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()

    class Meta:
        ref_name = "QueueRef"


class IdentityTokenSerializer(serializers.Serializer):
    """The shape of an identity token, for the OpenAPI document (chat.identity checks it)."""

    customer_id = serializers.CharField(
        max_length=200, help_text="The customer's `external_id`, exactly as escalated."
    )
    identity = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Who the customer proved to be (account, user name); default: customer_id.",
    )
    expires_at = serializers.IntegerField(
        min_value=1,
        help_text="Unix seconds; at most 600 s ahead "
        "(PORTAL['IDENTITY_TOKEN_MAX_LIFETIME_SECONDS']).",
    )
    signature = serializers.RegexField(
        r"^[0-9a-fA-F]{64}$",
        help_text='Hex HMAC-SHA256 of f"{customer_id}\\n{identity}\\n{expires_at}" keyed with '
        "the channel's identity secret.",
    )

    class Meta:
        ref_name = "IdentityToken"


# A time a bot gives a transcript entry must be plausible: not before this...
TRANSCRIPT_TIME_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# ...and not further ahead of this server's clock than two hosts' clocks may differ.
TRANSCRIPT_TIME_MAX_AHEAD = timedelta(minutes=5)


class TranscriptTimeField(serializers.DateTimeField):
    """An ISO-8601 time of something already said: from 2000-01-01T00:00:00Z to five
    minutes past the server's clock. Anything else (9999-12-31, 0001-01-01) is refused
    with 400 rather than stored: such times break every reader that shows them in a
    time zone."""

    default_error_messages = {
        "out_of_range": "Give a time from {earliest} to {max_ahead} minutes after this "
        "server's clock ({now}); this one is {value}.",
    }

    def to_internal_value(self, value: Any) -> datetime:
        try:
            moment = super().to_internal_value(value)
        except serializers.ValidationError as error:
            # A time that leaves the years 1–9999 once put in UTC or TIME_ZONE: the same
            # answer as any other time outside the window.
            if error.get_codes() != ["overflow"]:
                raise
            self._refuse(value=str(value))
        if not TRANSCRIPT_TIME_EARLIEST <= moment <= timezone.now() + TRANSCRIPT_TIME_MAX_AHEAD:
            self._refuse(value=moment.astimezone(UTC).isoformat().replace("+00:00", "Z"))
        return moment

    def _refuse(self, *, value: str) -> NoReturn:
        self.fail(
            "out_of_range",
            earliest=TRANSCRIPT_TIME_EARLIEST.isoformat().replace("+00:00", "Z"),
            max_ahead=int(TRANSCRIPT_TIME_MAX_AHEAD.total_seconds() // 60),
            now=timezone.now().astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            value=value,
        )
        raise AssertionError("fail() raises")  # pragma: no cover


@extend_schema_field(IdentityTokenSerializer)
class IdentityTokenField(serializers.DictField):
    """An identity token, passed on as sent: chat.identity checks its fields and the
    signature over them (a serializer would coerce or drop what was signed)."""


def customer_ws_url(*, request: Request, interaction_id: int, token: str) -> str:
    """The customer socket's URL: PORTAL["PUBLIC_BASE_URL"] when set, else the host and
    scheme of the request (wss behind https)."""
    base = settings.PORTAL["PUBLIC_BASE_URL"]
    if base:
        parts = urlsplit(base)
        secure = parts.scheme in ("https", "wss")
        host = parts.netloc
        prefix = parts.path.rstrip("/")
    else:
        secure = request.is_secure()
        host = request.get_host()
        prefix = ""
    path = CUSTOMER_WS_PATH.format(interaction_id=interaction_id)
    return f"{'wss' if secure else 'ws'}://{host}{prefix}{path}?{urlencode({'token': token})}"


def assigned_csr_name(interaction: Interaction) -> str | None:
    csr = interaction.assigned_csr
    return display_name(csr) if csr is not None else None


# --- GET /api/v1/escalations/{id}/ ----------------------------------------------------


class EscalationDetailApi(BotApiView):
    """Where an escalation stands: waiting (and where), with a CSR, or over."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        status = serializers.ChoiceField(choices=InteractionStatus.choices)
        queue = QueueRefSerializer()
        position = serializers.SerializerMethodField(
            help_text="1-based place among the chats waiting in the queue; null when not waiting."
        )
        estimated_wait_seconds = serializers.SerializerMethodField(
            help_text="Position × the seconds between chats taken from the queue over the "
            "last hour; null when not waiting or too few were taken to tell."
        )
        assigned_csr = serializers.SerializerMethodField(
            help_text="Display name of the CSR handling the chat; null when none."
        )
        created_at = serializers.DateTimeField()
        queued_at = serializers.DateTimeField(help_text="When it entered its current queue.")
        offered_at = serializers.DateTimeField(allow_null=True)
        accepted_at = serializers.DateTimeField(allow_null=True)
        ended_at = serializers.DateTimeField(allow_null=True)
        authenticated = serializers.BooleanField(
            help_text="The customer proved who they are with an identity token."
        )

        class Meta:
            ref_name = "EscalationStatus"

        @extend_schema_field(POSITION_FIELD)
        def get_position(self, interaction: Interaction) -> int | None:
            return queue_position(self.context, interaction)

        @extend_schema_field(WAIT_FIELD)
        def get_estimated_wait_seconds(self, interaction: Interaction) -> int | None:
            return interaction_estimated_wait_seconds(
                interaction=interaction, position=queue_position(self.context, interaction)
            )

        @extend_schema_field(serializers.CharField(allow_null=True))
        def get_assigned_csr(self, interaction: Interaction) -> str | None:
            return assigned_csr_name(interaction)

    @extend_schema(
        operation_id="escalations_retrieve",
        summary="Follow an escalation",
        description="Status, queue, place in the queue and assigned CSR of an escalation made "
        "by this bot client. Escalations of other clients are not found (404).",
        tags=TAGS,
        parameters=[
            schema.ESCALATION_ID,
            schema.RETRY_AFTER_HEADER,
            schema.WWW_AUTHENTICATE_HEADER,
        ],
        responses={
            200: OpenApiResponse(OutputSerializer, description="The escalation's state."),
            401: schema.ERROR_401,
            403: schema.ERROR_403,
            404: schema.ERROR_404,
            429: schema.ERROR_429,
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        interaction = interaction_get_for_client(
            client=request.user,  # type: ignore[arg-type]
            interaction_id=pk,
        )
        if interaction is None:
            raise NotFound(f"This bot client made no escalation {pk}.")
        return Response(self.OutputSerializer(interaction).data)
