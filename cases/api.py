"""The back-office API: cases by customer, one case, and its status and notes
(`Authorization: Bearer bo_...`; a back-office token reads no chats and a bot token no
cases)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.models import BackOfficeClient, Case, CaseStatus
from cases.selectors import case_json
from cases.services import (
    CaseError,
    back_office_client_get_by_token,
    back_office_client_touch,
    case_update,
)
from chat.api.authentication import KEYWORD, bearer_token
from chat.api.base import PortalApiView
from chat.api.schema import error_example, error_response

LIST_LIMIT = 100
TAGS = ["Back office: cases"]


class BackOfficeTokenAuthentication(BaseAuthentication):
    """A back-office client by the SHA-256 of its bearer token (`bo_...`)."""

    def authenticate(self, request: Request) -> tuple[BackOfficeClient, str] | None:
        token = bearer_token(request, invalid="Invalid back-office token.")
        if token is None:
            return None
        client = back_office_client_get_by_token(token=token)
        if client is None:
            raise exceptions.AuthenticationFailed("Invalid back-office token.")
        back_office_client_touch(client=client)
        return client, token

    def authenticate_header(self, request: Request) -> str:
        return f'{KEYWORD} realm="back-office"'


class BackOfficeTokenScheme(OpenApiAuthenticationExtension):
    target_class = "cases.api.BackOfficeTokenAuthentication"
    name = "backOfficeToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A back-office client's token, created in the admin (Back-office "
            "API clients): `Authorization: Bearer bo_...`. It reads and updates cases only.",
        }


class IsActiveBackOfficeClient(BasePermission):
    message = "This back-office client is inactive."
    code = "client_inactive"

    def has_permission(self, request: Request, view: APIView) -> bool:
        client = request.user
        return isinstance(client, BackOfficeClient) and client.active


class BackOfficeApiView(PortalApiView):
    authentication_classes = [BackOfficeTokenAuthentication]
    permission_classes = [IsActiveBackOfficeClient]


class CaseTypeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    category = serializers.CharField()

    class Meta:
        ref_name = "CaseTypeRef"


class CaseCustomerOutput(serializers.Serializer):
    external_id = serializers.CharField()
    name = serializers.CharField()

    class Meta:
        ref_name = "CaseCustomer"


class CaseNoteOutput(serializers.Serializer):
    author = serializers.CharField()
    text = serializers.CharField()
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "CaseNote"


class CaseOutput(serializers.Serializer):
    reference = serializers.CharField(help_text="e.g. DSP-00042")
    case_type = CaseTypeOutput()
    status = serializers.ChoiceField(choices=CaseStatus.choices)
    customer = CaseCustomerOutput()
    interaction_id = serializers.IntegerField(help_text="The chat the case was opened in.")
    values = serializers.DictField(
        child=serializers.JSONField(),
        help_text="The filled fields by key: money as {amount, currency}, dates as "
        "YYYY-MM-DD, yes/no as true/false, the rest as text.",
    )
    notes = CaseNoteOutput(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    class Meta:
        ref_name = "Case"


class CaseListOutput(serializers.Serializer):
    results = CaseOutput(many=True)

    class Meta:
        ref_name = "CaseList"


ERROR_401 = error_response(
    "No back-office token, or an unknown one (a bot token is unknown here).",
    error_example("No token", "not_authenticated", "Authentication credentials were not provided."),
    error_example("Unknown token", "authentication_failed", "Invalid back-office token."),
)
ERROR_403 = error_response(
    "The back-office client is inactive.",
    error_example("Inactive client", "client_inactive", "This back-office client is inactive."),
)
ERROR_404 = error_response(
    "No case with this reference.",
    error_example("Unknown case", "not_found", "There is no case DSP-99999."),
)
ERROR_400_PATCH = error_response(
    "The body is not valid: `errors` says which field.",
    error_example(
        "Unknown status",
        "invalid",
        "status: Choose one of: open, pending_customer, resolved, cancelled.",
        [
            {
                "field": "status",
                "message": "Choose one of: open, pending_customer, resolved, cancelled.",
                "code": "invalid",
            }
        ],
    ),
)
CASE_REFERENCE = OpenApiParameter(
    name="reference",
    type=str,
    location=OpenApiParameter.PATH,
    description="The case's reference, e.g. DSP-00042.",
)


def _case_queryset():
    return Case.objects.select_related("case_type", "customer", "interaction").prefetch_related(
        "changes"
    )


def _invalid(error: CaseError) -> exceptions.ValidationError:
    return exceptions.ValidationError({key: [message] for key, message in error.errors.items()})


class CaseListApi(BackOfficeApiView):
    class QuerySerializer(serializers.Serializer):
        customer = serializers.CharField(
            required=False, max_length=200, help_text="The customer's external id."
        )
        status = serializers.ChoiceField(choices=CaseStatus.choices, required=False)

        class Meta:
            ref_name = "CaseListQuery"

    @extend_schema(
        operation_id="cases_list",
        summary="List cases",
        description=(
            f"The newest {LIST_LIMIT} cases, of one customer (`customer`, their external id) "
            "and/or in one status."
        ),
        tags=TAGS,
        parameters=[QuerySerializer],
        responses={
            200: OpenApiResponse(CaseListOutput, description="The cases, newest first."),
            400: error_response("`status` is not one of the statuses."),
            401: ERROR_401,
            403: ERROR_403,
        },
    )
    def get(self, request: Request) -> Response:
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        cases = _case_queryset()
        if "customer" in query.validated_data:
            cases = cases.filter(customer__external_id=query.validated_data["customer"])
        if "status" in query.validated_data:
            cases = cases.filter(status=query.validated_data["status"])
        return Response({"results": [case_json(case) for case in cases[:LIST_LIMIT]]})


class CaseDetailApi(BackOfficeApiView):
    class PatchSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=CaseStatus.choices, required=False)
        note = serializers.CharField(
            required=False, max_length=2000, help_text="A note added to the case's history."
        )

        class Meta:
            ref_name = "CasePatch"

    def _get(self, reference: str) -> Case:
        case = _case_queryset().filter(reference=reference).first()
        if case is None:
            raise exceptions.NotFound(f"There is no case {reference[:30]}.")
        return case

    @extend_schema(
        operation_id="cases_retrieve",
        summary="Get a case",
        tags=TAGS,
        parameters=[CASE_REFERENCE],
        responses={
            200: OpenApiResponse(CaseOutput, description="The case."),
            401: ERROR_401,
            403: ERROR_403,
            404: ERROR_404,
        },
    )
    def get(self, request: Request, reference: str) -> Response:
        return Response(case_json(self._get(reference)))

    @extend_schema(
        operation_id="cases_partial_update",
        summary="Change a case's status or add a note",
        description=(
            "Change the status (`open`, `pending_customer`, `resolved`, `cancelled`) and/or "
            "add a note; the history records the client. A status change is posted to the "
            "chat while it is open and to the case webhook."
        ),
        tags=TAGS,
        request=PatchSerializer,
        parameters=[CASE_REFERENCE],
        responses={
            200: OpenApiResponse(CaseOutput, description="The case after the change."),
            400: ERROR_400_PATCH,
            401: ERROR_401,
            403: ERROR_403,
            404: ERROR_404,
        },
    )
    def patch(self, request: Request, reference: str) -> Response:
        self._get(reference)
        body = self.PatchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        client = request.user
        assert isinstance(client, BackOfficeClient)
        try:
            case_update(
                reference=reference,
                status=data.get("status"),
                note=data.get("note"),
                client=client,
            )
        except CaseError as error:
            if error.code == "not_found":
                raise exceptions.NotFound(error.message) from None
            raise _invalid(error) from None
        return Response(case_json(self._get(reference)))
