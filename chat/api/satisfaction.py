"""POST /api/v1/escalations/{id}/satisfaction/: a public channel's connector posts the
customer's answer to the satisfaction survey it was sent (webhook
`satisfaction.requested`)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from chat.api import schema
from chat.api.base import BotApiView
from chat.api.connector import CONNECTOR_TAGS, ChatRefused, owned_interaction_get
from chat.api.parsers import BoundedJSONParser
from chat.errors import ChatError
from chat.models import CsatSource
from chat.selectors.satisfaction import CSAT_COMMENT_MAX_CHARS
from chat.services.satisfaction import satisfaction_answer

# Status of each refusal of satisfaction_answer; the input's problems are 400.
CSAT_ERROR_STATUS = {
    "not_found": status.HTTP_404_NOT_FOUND,
    "csat_not_asked": status.HTTP_409_CONFLICT,
    "csat_answered": status.HTTP_409_CONFLICT,
    "csat_expired": status.HTTP_409_CONFLICT,
}

ERROR_409_CSAT = schema.error_response(
    "The survey takes no answer: it was answered already (`csat_answered`, a chat is rated "
    "once), it closed 24 hours after the chat ended (`csat_expired`), or the chat was never "
    "asked (`csat_not_asked`: the survey is off on its channel, the chat has not ended, or "
    "it was abandoned before a CSR joined).",
    schema.error_example(
        "Already rated",
        "csat_answered",
        "This chat was already rated: it can be rated once.",
    ),
    schema.error_example(
        "Not asked",
        "csat_not_asked",
        "This chat has no satisfaction survey: the survey is off on its channel, or the chat "
        "has not ended with a CSR.",
    ),
)


class EscalationSatisfactionApi(BotApiView):
    """The customer answered the satisfaction survey on their channel."""

    parser_classes = [BoundedJSONParser]

    class InputSerializer(serializers.Serializer):
        rating = serializers.IntegerField(
            min_value=1,
            max_value=5,
            help_text="1 (very dissatisfied) to 5 (very satisfied).",
        )
        comment = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=CSAT_COMMENT_MAX_CHARS,
            help_text=f"Optional, at most {CSAT_COMMENT_MAX_CHARS} characters.",
        )

        class Meta:
            ref_name = "SatisfactionAnswer"

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField(source="interaction_id", help_text="The escalation.")
        rating = serializers.IntegerField()
        comment = serializers.CharField()
        answered_at = serializers.DateTimeField()

        class Meta:
            ref_name = "SatisfactionRated"

    @extend_schema(
        operation_id="escalations_satisfaction",
        summary="Post the customer's satisfaction rating",
        description=(
            "When a chat on a public channel ends with a CSR and the channel has the "
            "satisfaction survey on, the connector gets a `satisfaction.requested` webhook "
            "with the question and this URL. It asks the customer, then posts the answer "
            "here: a rating from 1 to 5 and an optional comment. A chat is rated once, "
            "within 24 hours of its end. The CSR and the managers see the rating with the chat."
        ),
        tags=CONNECTOR_TAGS,
        request=InputSerializer,
        parameters=[
            schema.ESCALATION_ID,
            schema.RETRY_AFTER_HEADER,
            schema.WWW_AUTHENTICATE_HEADER,
        ],
        responses={
            200: OpenApiResponse(OutputSerializer, description="The answer is stored."),
            400: schema.ERROR_400_BODY,
            401: schema.ERROR_401,
            403: schema.ERROR_403,
            404: schema.ERROR_404,
            409: ERROR_409_CSAT,
            413: schema.ERROR_413,
            415: schema.ERROR_415,
            429: schema.ERROR_429,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        interaction = owned_interaction_get(request, pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            rating = satisfaction_answer(
                interaction_id=interaction.pk,
                rating=serializer.validated_data["rating"],
                comment=serializer.validated_data.get("comment", ""),
                via=CsatSource.CONNECTOR,
            )
        except ChatError as error:
            raise ChatRefused(
                error, CSAT_ERROR_STATUS.get(error.code, status.HTTP_400_BAD_REQUEST)
            ) from None
        return Response(self.OutputSerializer(rating).data)
