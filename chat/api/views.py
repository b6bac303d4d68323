"""The bot escalation API: escalate a customer, then follow the escalation; channel
connectors also relay the customer's messages, read the chat and end it."""

from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from chat.api import schema
from chat.api.base import BotApiView
from chat.api.errors import Conflict
from chat.api.parsers import BoundedJSONParser
from chat.models import Interaction, InteractionStatus, Message, SenderKind
from chat.selectors import (
    interaction_estimated_wait_seconds,
    interaction_get_for_client,
    interaction_queue_position,
    messages_after,
)
from chat.services import (
    MAX_CLIENT_MSG_ID_CHARS,
    MAX_MESSAGE_CHARS,
    ChatError,
    EscalationResult,
    escalation_create,
    escalation_fingerprint,
    interaction_authenticate,
    interaction_end,
    message_send,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 200
CUSTOMER_WS_PATH = "/ws/customer/{interaction_id}/"

TAGS = ["escalations"]

# The types of the computed output fields, for the OpenAPI document.
POSITION_FIELD = serializers.IntegerField(min_value=1, allow_null=True)
WAIT_FIELD = serializers.IntegerField(min_value=0, allow_null=True)
# Formats datetimes as DRF's DateTimeField does (ISO 8601 in TIME_ZONE, Z for UTC).
DATETIME_FIELD = serializers.DateTimeField()


# --- Pieces shared by the two endpoints ---------------------------------------------


def _position(context: Mapping[str, Any], interaction: Interaction) -> int | None:
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


@extend_schema_field(IdentityTokenSerializer)
class IdentityTokenField(serializers.DictField):
    """An identity token, passed on as sent: chat.identity checks its fields and the
    signature over them (a serializer would coerce or drop what was signed)."""


class CustomerInputSerializer(serializers.Serializer):
    external_id = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Your id for the customer. Escalations with the same id update one customer "
        "record; without it a new customer is created.",
    )
    name = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Shown to the CSR. A new customer without a name is called 'Guest'.",
    )
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    authenticated = serializers.BooleanField(
        default=False,
        help_text="The bot has verified who the customer is. Counts only with a valid "
        "`identity_token`; without one the customer arrives unauthenticated and the reply "
        "carries a warning.",
    )
    identity_token = IdentityTokenField(
        required=False,
        help_text="Proof of who the customer is, signed with the channel's identity secret "
        "for this `external_id` (docs/authentication.md). Valid: the customer arrives "
        "authenticated; not valid: unauthenticated, with a warning.",
    )
    metadata = serializers.DictField(
        required=False,
        default=dict,
        help_text="Free key/values about the customer, merged into what is already stored.",
    )

    class Meta:
        ref_name = "EscalationCustomer"


class TranscriptListSerializer(serializers.ListSerializer):
    """Refuses a transcript over PORTAL["BOT_TRANSCRIPT_MAX_ENTRIES"] before looking at
    its entries."""

    def to_internal_value(self, data: Any) -> list[Any]:
        limit = settings.PORTAL["BOT_TRANSCRIPT_MAX_ENTRIES"]
        if isinstance(data, list) and len(data) > limit:
            raise ValidationError(
                f"A transcript may hold at most {limit} entries; this one has {len(data)}. "
                f"Send the last {limit}.",
                code="max_length",
            )
        return super().to_internal_value(data)


class TranscriptEntryInputSerializer(serializers.Serializer):
    # `from` is a Python keyword: the field is added in get_fields.
    text = serializers.CharField(
        allow_blank=True,
        trim_whitespace=False,
        help_text="At most 10,000 characters (PORTAL['BOT_TRANSCRIPT_MAX_TEXT']).",
    )
    at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="When it was said, ISO-8601 (2025-03-01T09:30:00Z). Default: now.",
    )

    class Meta:
        list_serializer_class = TranscriptListSerializer
        ref_name = "TranscriptEntry"

    def get_fields(self) -> dict[str, serializers.Field]:
        sender = serializers.ChoiceField(
            choices=[SenderKind.CUSTOMER.value, SenderKind.BOT.value],
            source="sender",
            help_text="Who said it.",
        )
        return {"from": sender, **super().get_fields()}

    def validate_text(self, value: str) -> str:
        limit = settings.PORTAL["BOT_TRANSCRIPT_MAX_TEXT"]
        if len(value) > limit:
            raise ValidationError(
                f"A transcript entry may hold at most {limit} characters; this one has "
                f"{len(value)}.",
                code="max_length",
            )
        return value


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


def _assigned_csr_name(interaction: Interaction) -> str | None:
    csr = interaction.assigned_csr
    if csr is None:
        return None
    return csr.get_full_name().strip() or csr.get_username()


# --- POST /api/v1/escalations/ --------------------------------------------------------


class EscalationWarningSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="`authentication_unverified` (authenticated: true without identity_token), "
        "or why the identity token was refused: `malformed_token`, `bad_signature`, "
        "`wrong_customer`, `token_expired`, `expiry_too_far`, `identity_not_configured`."
    )
    field = serializers.CharField(help_text="Dotted path of the field in the body.")
    message = serializers.CharField(help_text="What was not taken, in a sentence.")

    class Meta:
        ref_name = "EscalationWarning"


class EscalationCreateApi(BotApiView):
    """A bot hands a customer over to the CSRs."""

    parser_classes = [BoundedJSONParser]

    class InputSerializer(serializers.Serializer):
        channel = serializers.CharField(
            max_length=50, help_text="Slug of the channel the customer is on."
        )
        queue = serializers.CharField(
            max_length=50,
            required=False,
            allow_blank=True,
            allow_null=True,
            help_text="Slug of the queue. Left out: the intent rule for `intent`, else the "
            "channel's default queue.",
        )
        customer = CustomerInputSerializer()
        intent = serializers.CharField(
            max_length=100,
            required=False,
            allow_blank=True,
            default="",
            help_text="The bot's intent (e.g. billing.refund); picks the queue through intent "
            "rules, matched without regard to case.",
        )
        # A declared field, not Field.context: DRF's metaclass takes fields off the class.
        context = serializers.DictField(  # type: ignore[assignment]
            required=False,
            default=dict,
            help_text="Key/values the CSR sees with the chat (order number, plan...).",
        )
        transcript = TranscriptEntryInputSerializer(
            many=True,
            required=False,
            default=list,
            help_text="The bot conversation so far, oldest first; at most 1,000 entries "
            "(PORTAL['BOT_TRANSCRIPT_MAX_ENTRIES']).",
        )
        priority = serializers.IntegerField(
            min_value=0, max_value=10, default=0, help_text="Higher is routed first (0–10)."
        )
        external_id = serializers.CharField(
            max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
            required=False,
            allow_blank=True,
            default="",
            help_text="Your id for this escalation; the idempotency key when no "
            "Idempotency-Key header is sent.",
        )

        class Meta:
            ref_name = "Escalation"

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField(source="interaction.pk")
        status = serializers.ChoiceField(
            choices=InteractionStatus.choices, source="interaction.status"
        )
        queue = QueueRefSerializer(source="interaction.queue")
        position = serializers.SerializerMethodField(
            help_text="1-based place among the chats waiting in the queue; null when not waiting."
        )
        estimated_wait_seconds = serializers.SerializerMethodField(
            help_text="Position × the seconds between chats taken from the queue over the "
            "last hour; null when too few were taken to tell."
        )
        customer_token = serializers.CharField(
            help_text="Lets the customer's widget join the chat. Shown once; a replay returns "
            "a new one."
        )
        customer_ws_url = serializers.SerializerMethodField(
            help_text="The customer socket, token included."
        )
        created_at = serializers.DateTimeField(source="interaction.created_at")
        authenticated = serializers.BooleanField(
            source="interaction.authenticated",
            help_text="The customer arrives authenticated: a valid identity token came with "
            "the escalation.",
        )
        warnings = EscalationWarningSerializer(
            many=True,
            help_text="What was not taken as sent, though the escalation went through (e.g. "
            "an authentication claim without a valid identity token). Empty when all was.",
        )

        class Meta:
            ref_name = "EscalationCreated"

        @extend_schema_field(POSITION_FIELD)
        def get_position(self, result: EscalationResult) -> int | None:
            return _position(self.context, result.interaction)

        @extend_schema_field(WAIT_FIELD)
        def get_estimated_wait_seconds(self, result: EscalationResult) -> int | None:
            return interaction_estimated_wait_seconds(
                interaction=result.interaction, position=_position(self.context, result.interaction)
            )

        @extend_schema_field(OpenApiTypes.URI)
        def get_customer_ws_url(self, result: EscalationResult) -> str:
            return customer_ws_url(
                request=self.context["request"],
                interaction_id=result.interaction.pk,
                token=result.customer_token,
            )

        def to_representation(self, result: EscalationResult) -> dict[str, Any]:
            """The fields above, written out: DRF copies every declared field of a
            serializer for each instance, and rendering this one that way was a sixth
            of an escalation's CPU. The fields still describe it in the OpenAPI
            document, and a test holds the two to the same output."""
            interaction = result.interaction
            position = _position(self.context, interaction)
            return {
                "id": interaction.pk,
                "status": interaction.status,
                "queue": {"slug": interaction.queue.slug, "name": interaction.queue.name},
                "position": position,
                "estimated_wait_seconds": interaction_estimated_wait_seconds(
                    interaction=interaction, position=position
                ),
                "customer_token": result.customer_token,
                "customer_ws_url": self.get_customer_ws_url(result),
                "created_at": DATETIME_FIELD.to_representation(interaction.created_at),
                "authenticated": interaction.authenticated,
                "warnings": [
                    {"code": warning.code, "field": warning.field, "message": warning.message}
                    for warning in result.warnings
                ],
            }

    @extend_schema(
        operation_id="escalations_create",
        summary="Escalate a customer to the CSRs",
        description=(
            "Creates the customer (or updates the one with the same `customer.external_id`), "
            "a queued interaction and the bot transcript, in one transaction, then routes the "
            "interaction to a CSR. Send an `Idempotency-Key` header (or `external_id`) so a "
            "retry cannot escalate twice: the same key with the same body returns the first "
            "escalation with 200 and a new customer token; with another body, 409."
        ),
        tags=TAGS,
        request=InputSerializer,
        parameters=[
            OpenApiParameter(
                name=IDEMPOTENCY_HEADER,
                type=str,
                location=OpenApiParameter.HEADER,
                required=False,
                description="At most 200 characters, unique per bot client. Takes precedence "
                "over `external_id`.",
            ),
            schema.RETRY_AFTER_HEADER,
            schema.WWW_AUTHENTICATE_HEADER,
        ],
        responses={
            201: OpenApiResponse(OutputSerializer, description="Escalated."),
            200: OpenApiResponse(
                OutputSerializer,
                description="Replay of an earlier escalation with the same idempotency key "
                "and body; carries a new customer token.",
            ),
            400: schema.ERROR_400,
            401: schema.ERROR_401,
            403: schema.ERROR_403,
            409: schema.ERROR_409,
            413: schema.ERROR_413,
            415: schema.ERROR_415,
            429: schema.ERROR_429,
        },
        examples=[
            OpenApiExample(
                "Billing question",
                request_only=True,
                value={
                    "channel": "web",
                    "intent": "billing.refund",
                    "customer": {
                        "external_id": "cust-1001",
                        "name": "Dana Reyes",
                        "email": "dana@example.com",
                        "authenticated": True,
                        "identity_token": {
                            "customer_id": "cust-1001",
                            "identity": "NB-1001 (Dana Reyes)",
                            "expires_at": 1767225600,
                            "signature": "32af6b405ca1b1a3ed218dc898463818"
                            "f4cc275403f9b8fdb967c372cb5b3d49",
                        },
                        "metadata": {"plan": "gold"},
                    },
                    "context": {"order": "A-1009"},
                    "transcript": [
                        {"from": "customer", "text": "I was charged twice.", "at": None},
                        {"from": "bot", "text": "Let me get someone from Billing."},
                    ],
                    "priority": 5,
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        header_key = _idempotency_header(request)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = escalation_create(
            client=request.user,  # type: ignore[arg-type]
            channel_slug=data["channel"],
            queue_slug=data.get("queue") or None,
            customer=data["customer"],
            intent=data["intent"],
            context=data["context"],
            transcript=data["transcript"],
            priority=data["priority"],
            idempotency_key=header_key or data["external_id"],
            fingerprint=escalation_fingerprint(body=request.data),
        )
        output = self.OutputSerializer(result, context={"request": request})
        return Response(
            output.data, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )


def _idempotency_header(request: Request) -> str:
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise ValidationError(
            {
                IDEMPOTENCY_HEADER: [
                    f"An idempotency key may be at most {IDEMPOTENCY_KEY_MAX_LENGTH} "
                    f"characters; this one has {len(key)}."
                ]
            },
            code="max_length",
        )
    return key


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
            return _position(self.context, interaction)

        @extend_schema_field(WAIT_FIELD)
        def get_estimated_wait_seconds(self, interaction: Interaction) -> int | None:
            return interaction_estimated_wait_seconds(
                interaction=interaction, position=_position(self.context, interaction)
            )

        @extend_schema_field(serializers.CharField(allow_null=True))
        def get_assigned_csr(self, interaction: Interaction) -> str | None:
            return _assigned_csr_name(interaction)

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


# --- Channel connectors: /api/v1/escalations/{id}/messages/ and .../end/ ---------------

CONNECTOR_TAGS = ["connector"]
DEFAULT_MESSAGE_PAGE = 100
MAX_MESSAGE_PAGE = 500
MAX_SEQ = 2**31 - 1

# The ChatError codes that are about one field of the body, and that field.
CHAT_ERROR_FIELDS = {"empty": "text", "too_long": "text", "bad_client_msg_id": "client_msg_id"}


def _own_interaction(request: Request, pk: int) -> Interaction:
    """The interaction, if this bot client escalated it: connectors act only on their own."""
    interaction = interaction_get_for_client(
        client=request.user,  # type: ignore[arg-type]
        interaction_id=pk,
    )
    if interaction is None:
        raise NotFound(f"This bot client made no escalation {pk}.")
    return interaction


def _api_error(error: ChatError) -> APIException:
    """A refused chat action as the API's error: 400 on the field, 409 for an ended chat."""
    field = CHAT_ERROR_FIELDS.get(error.code)
    if field is not None:
        return ValidationError({field: [error.message]}, code=error.code)
    if error.code == "chat_ended":
        return Conflict(error.message, code="chat_ended")
    if error.code == "not_found":
        return NotFound(error.message)
    return PermissionDenied(error.message, code=error.code)


class ConnectorMessageSerializer(serializers.Serializer):
    seq = serializers.IntegerField(
        min_value=1, help_text="Sequence number in the chat: 1, 2, 3… in the order stored."
    )
    sender_kind = serializers.ChoiceField(choices=SenderKind.choices)
    author_name = serializers.CharField(
        help_text="The CSR's or customer's name, the bot client's name for bot lines; "
        "empty for system messages."
    )
    text = serializers.CharField()
    client_msg_id = serializers.CharField(
        help_text="The sender's id for the message; empty for bot and system messages."
    )
    event = serializers.CharField(
        help_text="For system messages, what happened: `escalated`, `joined`, "
        "`transferred`, `requeued`, `auth_requested`, `authenticated`, `cobrowse_started`, "
        "`cobrowse_ended`, `ended`, `abandoned`. Empty for other messages."
    )
    pre_escalation = serializers.BooleanField(
        help_text="Part of the bot conversation sent with the escalation."
    )
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "ConnectorMessage"


class EscalationMessagesApi(BotApiView):
    """A connector relays the customer's messages (POST) and reads the chat (GET)."""

    parser_classes = [BoundedJSONParser]

    class InputSerializer(serializers.Serializer):
        # Lenient on purpose: the chat service checks the content, with the same rules
        # and codes as the customer's chat socket.
        client_msg_id = serializers.CharField(
            allow_blank=True,
            trim_whitespace=False,
            help_text=f"Your id for this message, 1–{MAX_CLIENT_MSG_ID_CHARS} characters, "
            "unique in the chat: a retry with the same id is stored once.",
        )
        text = serializers.CharField(
            allow_blank=True,
            trim_whitespace=False,
            help_text=f"What the customer wrote: not blank, at most {MAX_MESSAGE_CHARS:,} "
            "characters.",
        )

        class Meta:
            ref_name = "ConnectorMessageSend"

    class SentSerializer(ConnectorMessageSerializer):
        duplicate = serializers.SerializerMethodField(
            help_text="true when this client_msg_id was sent before: the message is the "
            "one stored then, and nothing new was stored."
        )

        class Meta:
            ref_name = "ConnectorMessageSent"

        @extend_schema_field(serializers.BooleanField())
        def get_duplicate(self, message: Message) -> bool:
            return self.context["duplicate"]

    class FilterSerializer(serializers.Serializer):
        after = serializers.IntegerField(
            min_value=0,
            max_value=MAX_SEQ,
            default=0,
            help_text="Return the messages with a sequence number above this one (0: from "
            "the start). Pass the last `last_seq` to get what is new.",
        )
        limit = serializers.IntegerField(
            min_value=1,
            max_value=MAX_MESSAGE_PAGE,
            default=DEFAULT_MESSAGE_PAGE,
            help_text=f"At most this many messages (1–{MAX_MESSAGE_PAGE}).",
        )

    class PageSerializer(serializers.Serializer):
        messages = ConnectorMessageSerializer(many=True, help_text="Oldest first.")
        last_seq = serializers.IntegerField(
            min_value=0,
            help_text="The sequence number of the last message returned (`after` when none "
            "was): send it as `after` next time.",
        )
        has_more = serializers.BooleanField(
            help_text="More messages follow: ask again at once with `after=last_seq`."
        )

        class Meta:
            ref_name = "ConnectorMessagePage"

    @extend_schema(
        operation_id="escalations_messages_create",
        summary="Relay a customer message",
        description=(
            "Stores a message from the customer in a chat this bot client escalated, for "
            "channels where a connector speaks for the customer (Facebook, WhatsApp, SMS…). "
            "It is shown to the CSR at once. Idempotent by `client_msg_id`: a retry returns "
            "the stored message with 200 and `duplicate: true`. Refused with 409 once the "
            "chat has ended."
        ),
        tags=CONNECTOR_TAGS,
        request=InputSerializer,
        parameters=[
            schema.ESCALATION_ID,
            schema.RETRY_AFTER_HEADER,
            schema.WWW_AUTHENTICATE_HEADER,
        ],
        responses={
            201: OpenApiResponse(SentSerializer, description="Stored and shown to the CSR."),
            200: OpenApiResponse(
                SentSerializer,
                description="This client_msg_id was sent before: the message stored then.",
            ),
            400: schema.ERROR_400_MESSAGE,
            401: schema.ERROR_401,
            403: schema.ERROR_403,
            404: schema.ERROR_404,
            409: schema.ERROR_409_CHAT_ENDED,
            413: schema.ERROR_413,
            415: schema.ERROR_415,
            429: schema.ERROR_429,
        },
        examples=[
            OpenApiExample(
                "Customer reply",
                request_only=True,
                value={"client_msg_id": "wamid.HBgM-1", "text": "It was order A-1009."},
            )
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        interaction = _own_interaction(request, pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            result = message_send(
                interaction_id=interaction.pk,
                sender_kind=SenderKind.CUSTOMER,
                text=serializer.validated_data["text"],
                client_msg_id=serializer.validated_data["client_msg_id"],
            )
        except ChatError as error:
            raise _api_error(error) from None
        output = self.SentSerializer(result.message, context={"duplicate": not result.created})
        return Response(
            output.data, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )

    @extend_schema(
        operation_id="escalations_messages_list",
        summary="Read the chat",
        description=(
            "The chat's messages with a sequence number above `after`, oldest first: the "
            "bot transcript, the customer's, the CSR's and the system messages. A connector "
            "that does not take webhooks polls with the `last_seq` of the previous answer."
        ),
        tags=CONNECTOR_TAGS,
        parameters=[
            schema.ESCALATION_ID,
            FilterSerializer,
            schema.RETRY_AFTER_HEADER,
            schema.WWW_AUTHENTICATE_HEADER,
        ],
        responses={
            200: OpenApiResponse(PageSerializer, description="A page of messages."),
            400: schema.ERROR_400_QUERY,
            401: schema.ERROR_401,
            403: schema.ERROR_403,
            404: schema.ERROR_404,
            429: schema.ERROR_429,
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        interaction = _own_interaction(request, pk)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        after, limit = filters.validated_data["after"], filters.validated_data["limit"]
        messages = messages_after(interaction_id=interaction.pk, after_seq=after, limit=limit)
        last_seq = messages[-1].seq if messages else after
        page = {
            "messages": messages,
            "last_seq": last_seq,
            # Sequence numbers have no gaps: more follow while the newest is further on.
            "has_more": last_seq < interaction.last_seq,
        }
        return Response(self.PageSerializer(page).data)


class EscalationEndApi(BotApiView):
    """The customer left or ended the chat on their channel."""

    parser_classes = [BoundedJSONParser]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        status = serializers.ChoiceField(
            choices=InteractionStatus.choices,
            help_text="`ended`, or `abandoned` when no CSR had joined yet.",
        )
        ended_at = serializers.DateTimeField()

        class Meta:
            ref_name = "EscalationEnded"

    @extend_schema(
        operation_id="escalations_end",
        summary="End the chat for the customer",
        description=(
            "The customer left or ended the conversation. An active chat ends (the CSR sees "
            "*The customer ended the chat*); a chat still waiting for a CSR is abandoned and "
            "leaves its queue. No body. 409 when the chat is already over."
        ),
        tags=CONNECTOR_TAGS,
        request=None,
        parameters=[
            schema.ESCALATION_ID,
            schema.RETRY_AFTER_HEADER,
            schema.WWW_AUTHENTICATE_HEADER,
        ],
        responses={
            200: OpenApiResponse(OutputSerializer, description="Ended or abandoned."),
            401: schema.ERROR_401,
            403: schema.ERROR_403,
            404: schema.ERROR_404,
            409: schema.ERROR_409_ALREADY_ENDED,
            429: schema.ERROR_429,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        interaction = _own_interaction(request, pk)
        try:
            interaction = interaction_end(interaction_id=interaction.pk, by=SenderKind.CUSTOMER)
        except ChatError as error:
            raise _api_error(error) from None
        return Response(self.OutputSerializer(interaction).data)


# --- POST /api/v1/escalations/{id}/authentication/ -------------------------------------

# Status of each refusal of interaction_authenticate; the token's problems are 400.
AUTH_ERROR_STATUS = {
    "not_found": status.HTTP_404_NOT_FOUND,
    "chat_ended": status.HTTP_409_CONFLICT,
    "already_authenticated": status.HTTP_409_CONFLICT,
    "identity_not_configured": status.HTTP_409_CONFLICT,
    "rate_limited": status.HTTP_429_TOO_MANY_REQUESTS,
}


class ChatRefused(APIException):
    """A refused chat action with the service's code, at the status given."""

    def __init__(self, error: ChatError, status_code: int):
        super().__init__(detail=error.message, code=error.code)
        self.status_code = status_code
        # DRF's handler turns `wait` into a Retry-After header.
        self.wait = getattr(error, "retry_after", None)


class EscalationAuthenticationApi(BotApiView):
    """A connector reports that the customer logged in on their channel."""

    parser_classes = [BoundedJSONParser]

    class InputSerializer(serializers.Serializer):
        token = IdentityTokenField(
            help_text="The identity token, signed for this chat's customer with the channel's "
            "identity secret (docs/authentication.md)."
        )

        class Meta:
            ref_name = "EscalationAuthentication"

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        authenticated = serializers.BooleanField()
        authenticated_at = serializers.DateTimeField()
        verified_identity = serializers.CharField(
            source="customer.verified_identity",
            help_text="The token's identity, or its customer_id when it named none.",
        )

        class Meta:
            ref_name = "EscalationAuthenticated"

    @extend_schema(
        operation_id="escalations_authenticate",
        summary="Report a verified customer login",
        description=(
            "After the chat's CSR asked the customer to authenticate (a webhook message "
            "with event `auth_requested`), the connector lets the customer log in on its "
            "channel and sends the identity token it signed for them. A valid token marks "
            "the chat and the customer authenticated: the CSR sees *Customer authenticated* "
            "and the authenticated icon. A refused token changes nothing. At most 5 "
            "attempts per chat per minute (PORTAL['AUTH_ATTEMPTS_PER_MINUTE']), counted "
            "with the customer's widget."
        ),
        tags=CONNECTOR_TAGS,
        request=InputSerializer,
        parameters=[
            schema.ESCALATION_ID,
            schema.RETRY_AFTER_HEADER,
            schema.WWW_AUTHENTICATE_HEADER,
        ],
        responses={
            200: OpenApiResponse(OutputSerializer, description="The customer is authenticated."),
            400: schema.ERROR_400_AUTH,
            401: schema.ERROR_401,
            403: schema.ERROR_403,
            404: schema.ERROR_404,
            409: schema.ERROR_409_AUTH,
            413: schema.ERROR_413,
            415: schema.ERROR_415,
            429: schema.ERROR_429_AUTH,
        },
        examples=[
            OpenApiExample(
                "Verified login",
                request_only=True,
                value={
                    "token": {
                        "customer_id": "cust-1001",
                        "identity": "NB-1001 (Dana Reyes)",
                        "expires_at": 1767225600,
                        "signature": "32af6b405ca1b1a3ed218dc898463818"
                        "f4cc275403f9b8fdb967c372cb5b3d49",
                    }
                },
            )
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        interaction = _own_interaction(request, pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            interaction = interaction_authenticate(
                interaction_id=interaction.pk,
                token=serializer.validated_data["token"],
                client=request.user,  # type: ignore[arg-type]
            )
        except ChatError as error:
            raise ChatRefused(
                error, AUTH_ERROR_STATUS.get(error.code, status.HTTP_400_BAD_REQUEST)
            ) from None
        return Response(self.OutputSerializer(interaction).data)


class EscalationAuthenticationNoSlashApi(EscalationAuthenticationApi):
    """The same without the trailing slash (a POST cannot be redirected to it)."""

    @extend_schema(exclude=True)
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)
