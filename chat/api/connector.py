"""The channel connector's part of the bot API: relaying the customer's messages,
reading the chat, ending it, and reporting a verified login."""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from chat.api import schema
from chat.api.attachment_serializers import AttachmentSerializer
from chat.api.base import BotApiView
from chat.api.errors import Conflict
from chat.api.escalations import IdentityTokenField
from chat.api.parsers import BoundedJSONParser
from chat.errors import ChatError
from chat.models import Interaction, InteractionStatus, Message, SenderKind
from chat.selectors.attachments import (
    absolute,
    attachment_urls,
    bot_party,
    message_attachments,
)
from chat.selectors.interactions import interaction_get_for_client
from chat.selectors.messages import messages_after
from chat.services.attachments import MAX_FILES_PER_MESSAGE
from chat.services.authentication import interaction_authenticate
from chat.services.interactions import interaction_end
from chat.services.messages import MAX_CLIENT_MSG_ID_CHARS, MAX_MESSAGE_CHARS, message_send

CONNECTOR_TAGS = ["connector"]
DEFAULT_MESSAGE_PAGE = 100
MAX_MESSAGE_PAGE = 500
MAX_SEQ = 2**31 - 1

# The ChatError codes that are about one field of the body, and that field.
CHAT_ERROR_FIELDS = {
    "empty": "text",
    "too_long": "text",
    "bad_client_msg_id": "client_msg_id",
    "bad_attachment": "attachment_ids",
}


def owned_interaction_get(request: Request, pk: int) -> Interaction:
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
    attachments = serializers.SerializerMethodField(
        help_text="The files the message carries, with download URLs signed for this bot "
        "client (docs/attachments.md)."
    )
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "ConnectorMessage"

    @extend_schema_field(AttachmentSerializer(many=True))
    def get_attachments(self, message: Message) -> list[dict]:
        party = bot_party(self.context["request"].user)
        base = self.context["request"].build_absolute_uri("/")
        return [
            absolute(attachment_urls(f, party=party), base=base)
            for f in message_attachments(message.data)
        ]


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
            help_text=f"What the customer wrote: at most {MAX_MESSAGE_CHARS:,} characters; "
            "not blank, unless the message carries files (then it may be empty).",
        )
        attachment_ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1),
            required=False,
            default=list,
            max_length=MAX_FILES_PER_MESSAGE,
            help_text="Files uploaded with `POST /escalations/{id}/attachments/` that this "
            f"message carries (at most {MAX_FILES_PER_MESSAGE}).",
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
        interaction = owned_interaction_get(request, pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            result = message_send(
                interaction_id=interaction.pk,
                sender_kind=SenderKind.CUSTOMER,
                text=serializer.validated_data["text"],
                client_msg_id=serializer.validated_data["client_msg_id"],
                attachment_ids=serializer.validated_data["attachment_ids"],
            )
        except ChatError as error:
            raise _api_error(error) from None
        output = self.SentSerializer(
            result.message, context={"duplicate": not result.created, "request": request}
        )
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
        interaction = owned_interaction_get(request, pk)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        after, limit = filters.validated_data["after"], filters.validated_data["limit"]
        messages = messages_after(interaction_id=interaction.pk, after_seq=after, limit=limit)
        last_seq = messages[-1].seq if messages else after
        page = {
            # Internal messages (whispers, notes) never leave the contact center; their
            # numbers are skipped, and last_seq moves past them.
            "messages": [message for message in messages if not message.internal],
            "last_seq": last_seq,
            # Sequence numbers have no gaps: more follow while the newest is further on.
            "has_more": last_seq < interaction.last_seq,
        }
        return Response(self.PageSerializer(page, context={"request": request}).data)


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
            400: schema.ERROR_400_BODY,
            401: schema.ERROR_401,
            403: schema.ERROR_403,
            404: schema.ERROR_404,
            409: schema.ERROR_409_ALREADY_ENDED,
            413: schema.ERROR_413,
            415: schema.ERROR_415,
            429: schema.ERROR_429,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        interaction = owned_interaction_get(request, pk)
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
            source="customer_verified_identity",
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
                description="`expires_at` and `signature` are placeholders: sign the token "
                "with the channel's identity secret when you send it (docs/authentication.md).",
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
        interaction = owned_interaction_get(request, pk)
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
