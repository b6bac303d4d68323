"""The connector's files: POST /api/v1/escalations/{id}/attachments/ stores a file the
customer sent on their channel (multipart, streamed to a temporary file); the connector
then relays the message with `attachment_ids` (chat.api.connector). docs/attachments.md."""

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from chat.api import schema
from chat.api.attachment_serializers import AttachmentSerializer
from chat.api.base import BotApiView
from chat.api.connector import CONNECTOR_TAGS, owned_interaction_get
from chat.errors import ChatError
from chat.models import SenderKind
from chat.selectors.attachments import absolute, attachment_urls, bot_party
from chat.selectors.settings import app_studio_settings_get
from chat.services import attachments as services

# The refusals' HTTP status; others are 400.
UPLOAD_ERROR_STATUS = {
    "chat_ended": status.HTTP_409_CONFLICT,
    "attachments_off": status.HTTP_403_FORBIDDEN,
    "too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    "image_too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    "type_not_allowed": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    "blocked": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "scanner_unavailable": status.HTTP_503_SERVICE_UNAVAILABLE,
}


class UploadRefused(APIException):
    def __init__(self, error: ChatError):
        super().__init__(detail=error.message, code=error.code)
        self.status_code = UPLOAD_ERROR_STATUS.get(error.code, status.HTTP_400_BAD_REQUEST)


class EscalationAttachmentsApi(BotApiView):
    """A connector uploads a customer's file."""

    parser_classes = [MultiPartParser]  # files streamed by the view's upload handler

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(help_text="The file, as the customer sent it.")
        upload_key = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=services.MAX_UPLOAD_KEY_CHARS,
            help_text="Your id for this upload (e.g. the channel's media id): a retry with "
            "the same key is stored once and answers 200 with the first upload.",
        )

        class Meta:
            ref_name = "AttachmentUpload"

    class OutputSerializer(serializers.Serializer):
        attachment = AttachmentSerializer()
        duplicate = serializers.BooleanField(
            help_text="true when this upload_key was used before: nothing new was stored."
        )

        class Meta:
            ref_name = "AttachmentUploaded"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.upload_handler = services.AttachmentUploadHandler(
            request._request, max_bytes=app_studio_settings_get().max_attachment_bytes
        )
        request._request.upload_handlers = [self.upload_handler]
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="escalations_attachments_create",
        summary="Upload a customer's file",
        description=(
            "Stores one file the customer sent on their channel, for a chat this bot client "
            "escalated: `multipart/form-data` with the file in `file`. The type is decided "
            "from the content and must be one App Studio allows; images are re-encoded and "
            "get a thumbnail; the optional virus scanner must pass it. Then relay the "
            "customer's message with the file's id in `attachment_ids` "
            "(`POST /escalations/{id}/messages/`). Refusals name the file: 413 too large, "
            "415 type not accepted, 422 blocked by the virus scanner, 403 attachments "
            "switched off for the channel, 409 the chat ended."
        ),
        tags=CONNECTOR_TAGS,
        request={"multipart/form-data": InputSerializer},
        parameters=[
            schema.ESCALATION_ID,
            schema.RETRY_AFTER_HEADER,
            schema.WWW_AUTHENTICATE_HEADER,
        ],
        responses={
            201: OpenApiResponse(OutputSerializer, description="Stored."),
            200: OpenApiResponse(
                OutputSerializer, description="This upload_key was used before: that file."
            ),
            400: schema.ERROR_400,
            401: schema.ERROR_401,
            403: schema.ERROR_403,
            404: schema.ERROR_404,
            409: schema.ERROR_409_CHAT_ENDED,
            413: schema.error_response("The file is larger than App Studio allows."),
            415: schema.error_response("The file's type is not accepted."),
            422: schema.error_response("The virus scanner blocked the file."),
            429: schema.ERROR_429,
            503: schema.error_response("The virus scanner is not answering: retry later."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        interaction = owned_interaction_get(request, pk)
        if self.upload_handler.too_large:
            limit = app_studio_settings_get().max_attachment_bytes
            name = self.upload_handler.too_large[0]
            raise UploadRefused(
                ChatError(
                    "too_large",
                    f"{name}: this file is too large (at most {services.size_label(limit)}).",
                )
            )
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        try:
            result = services.attachment_upload(
                interaction=interaction,
                sender_kind=SenderKind.CUSTOMER,
                upload=upload,
                upload_key=serializer.validated_data.get("upload_key", ""),
            )
        except ChatError as error:
            raise UploadRefused(error) from None
        finally:
            upload.close()
        summary = services.attachment_summary(result.attachment)
        body = {
            "attachment": absolute(
                attachment_urls(summary, party=bot_party(request.user)),  # type: ignore[arg-type]
                base=request.build_absolute_uri("/"),
            ),
            "duplicate": not result.created,
        }
        return Response(
            self.OutputSerializer(body).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )
