"""Escalating a customer: POST /api/v1/escalations/. The rest of the bot API is the
chat app's (chat/api/)."""

from typing import Any

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
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from chat.api import schema
from chat.api.base import BotApiView
from chat.api.escalations import (
    IDEMPOTENCY_HEADER,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    POSITION_FIELD,
    TAGS,
    WAIT_FIELD,
    IdentityTokenField,
    QueueRefSerializer,
    TranscriptTimeField,
    customer_ws_url,
    queue_position,
)
from chat.api.parsers import BoundedJSONParser
from chat.models import Customer, InteractionStatus, SenderKind
from chat.selectors.interactions import interaction_estimated_wait_seconds
from routing.services.escalations import (
    EscalationResult,
    escalation_create,
    escalation_fingerprint,
)


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
    email = serializers.EmailField(
        max_length=Customer._meta.get_field("email").max_length,
        required=False,
        allow_blank=True,
    )
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
    at = TranscriptTimeField(
        required=False,
        allow_null=True,
        help_text="When it was said, ISO-8601 (2025-03-01T09:30:00Z), from "
        "2000-01-01T00:00:00Z to 5 minutes after the server's clock. Default: now.",
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
            return queue_position(self.context, result.interaction)

        @extend_schema_field(WAIT_FIELD)
        def get_estimated_wait_seconds(self, result: EscalationResult) -> int | None:
            return interaction_estimated_wait_seconds(
                interaction=result.interaction,
                position=queue_position(self.context, result.interaction),
            )

        @extend_schema_field(OpenApiTypes.URI)
        def get_customer_ws_url(self, result: EscalationResult) -> str:
            return customer_ws_url(
                request=self.context["request"],
                interaction_id=result.interaction.pk,
                token=result.customer_token,
            )

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
                # Runs as shown against the demo data (runportal): channel
                # web-messaging, and the intent rule `refund` goes to Billing.
                value={
                    "channel": "web-messaging",
                    "intent": "refund",
                    "customer": {
                        "external_id": "cust-1001",
                        "name": "Dana Reyes",
                        "email": "dana@example.com",
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
