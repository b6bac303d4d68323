"""The CSR's routing operations over HTTP/JSON (session authentication and CSRF), for the
portal pages and for tests. The /ws/agent/ socket offers the same operations."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from chat.api.base import PortalApiView
from chat.models import Interaction
from config.sockets import db_id_valid
from config.users import IsCSR
from routing.api import schema
from routing.errors import RoutingError
from routing.events import csr_state_payload
from routing.models import Queue, Wrapup
from routing.selectors.csrs import transfer_targets_csrs
from routing.selectors.queues import queue_counts
from routing.selectors.wrapups import disposition_codes_for, wrapup_of
from routing.services import answers, presence, transfers, wrapups

STATUS_BY_CODE = {
    "offer_unavailable": status.HTTP_409_CONFLICT,
    "target_unavailable": status.HTTP_409_CONFLICT,
    "not_your_offer": status.HTTP_403_FORBIDDEN,
    "not_your_chat": status.HTTP_403_FORBIDDEN,
    "queue_not_allowed": status.HTTP_403_FORBIDDEN,
    "not_your_wrapup": status.HTTP_403_FORBIDDEN,
    "wrapup_not_found": status.HTTP_404_NOT_FOUND,
    "wrapup_closed": status.HTTP_409_CONFLICT,
}


class Refused(APIException):
    def __init__(self, error: RoutingError):
        super().__init__(detail=error.message, code=error.code)
        self.status_code = STATUS_BY_CODE.get(error.code, status.HTTP_400_BAD_REQUEST)


class CSRView(PortalApiView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsCSR]

    def handle_exception(self, exc):
        if isinstance(exc, RoutingError):
            exc = Refused(exc)
        return super().handle_exception(exc)

    @staticmethod
    def csr(request: Request) -> AbstractBaseUser:
        """The signed-in CSR making the request (IsCSR has refused anyone else)."""
        user = request.user
        assert not isinstance(user, AnonymousUser)
        return user


class StateView(CSRView):
    @extend_schema(
        operation_id="agent_state", responses=schema.STATE_RESPONSES, tags=["CSR routing"]
    )
    def get(self, request: Request) -> Response:
        """The CSR's status, capacity, queues with live counts and any pending offer."""
        return Response(csr_state_payload(user=request.user))


class StatusView(CSRView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AgentStatusInput"

        status = serializers.ChoiceField(choices=["available", "away", "offline"])
        reason = serializers.CharField(required=False, allow_blank=True, max_length=40)

    @extend_schema(
        operation_id="agent_status_set",
        request=InputSerializer,
        responses=schema.STATUS_RESPONSES,
        tags=["CSR routing"],
    )
    def post(self, request: Request) -> Response:
        """Set Available, Away (with a reason code) or Offline."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        presence.csr_status_set(
            user=self.csr(request),
            status=data.validated_data["status"],
            away_reason_code=data.validated_data.get("reason", ""),
        )
        return Response(csr_state_payload(user=request.user))


class QueueJoinView(CSRView):
    @extend_schema(
        operation_id="agent_queue_join",
        request=None,
        responses=schema.QUEUE_RESPONSES,
        tags=["CSR routing"],
    )
    def post(self, request: Request, slug: str) -> Response:
        queue = get_object_or_404(Queue, slug=slug)
        presence.csr_queue_join(user=self.csr(request), queue=queue)
        return Response(csr_state_payload(user=request.user))


class QueueLeaveView(CSRView):
    @extend_schema(
        operation_id="agent_queue_leave",
        request=None,
        responses=schema.QUEUE_RESPONSES,
        tags=["CSR routing"],
    )
    def post(self, request: Request, slug: str) -> Response:
        queue = get_object_or_404(Queue, slug=slug)
        presence.csr_queue_leave(user=self.csr(request), queue=queue)
        return Response(csr_state_payload(user=request.user))


class OfferAcceptView(CSRView):
    @extend_schema(
        operation_id="agent_offer_accept",
        request=None,
        responses=schema.ACCEPT_RESPONSES,
        tags=["CSR routing"],
    )
    def post(self, request: Request, offer_id: int) -> Response:
        """Take the offered chat. Answers 409 "This chat is no longer available." when the
        offer expired, was withdrawn or was taken."""
        interaction = answers.offer_accept(offer_id=offer_id, user=self.csr(request))
        return Response({"interaction_id": interaction.pk, "status": interaction.status})


class OfferDeclineView(CSRView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "OfferDeclineInput"

        reason = serializers.CharField(required=False, allow_blank=True, max_length=200)

    @extend_schema(
        operation_id="agent_offer_decline",
        request=InputSerializer,
        responses=schema.DECLINE_RESPONSES,
        tags=["CSR routing"],
    )
    def post(self, request: Request, offer_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        offer = answers.offer_decline(
            offer_id=offer_id, user=self.csr(request), reason=data.validated_data.get("reason", "")
        )
        return Response({"offer_id": offer.pk, "status": offer.status})


def _own_interaction(request: Request, interaction_id: int) -> Interaction:
    interaction = Interaction.objects.filter(pk=interaction_id).select_related("queue").first()
    if interaction is None or interaction.assigned_csr_id != request.user.pk:
        raise RoutingError("not_your_chat", "You are not handling this chat.")
    return interaction


class TransferTargetsView(CSRView):
    @extend_schema(
        operation_id="interaction_transfer_targets",
        responses=schema.TRANSFER_TARGETS_RESPONSES,
        tags=["CSR routing"],
    )
    def get(self, request: Request, interaction_id: int) -> Response:
        """CSRs who can take this chat now (searchable with ?q=) and the active queues."""
        _own_interaction(request, interaction_id)
        search = request.query_params.get("q", "").strip()[:100]
        queues = [queue_counts(queue=queue) for queue in Queue.objects.filter(active=True)]
        return Response(
            {
                "csrs": transfer_targets_csrs(exclude_user_id=self.csr(request).pk, search=search),
                "queues": queues,
            }
        )


class TransferView(CSRView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TransferInput"

        queue = serializers.SlugField(required=False)
        csr = serializers.IntegerField(required=False, min_value=1)
        note = serializers.CharField(required=False, allow_blank=True, max_length=1000)

        def validate(self, attrs):
            if ("queue" in attrs) == ("csr" in attrs):
                raise serializers.ValidationError("Transfer to either a queue or a CSR.")
            return attrs

    @extend_schema(
        operation_id="interaction_transfer",
        request=InputSerializer,
        responses=schema.TRANSFER_RESPONSES,
        tags=["CSR routing"],
    )
    def post(self, request: Request, interaction_id: int) -> Response:
        """Transfer an active chat to a queue (re-queued at the front) or to a CSR (an
        offer to that CSR), with an optional note."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _own_interaction(request, interaction_id)
        note = data.validated_data.get("note", "")
        if "queue" in data.validated_data:
            queue = Queue.objects.filter(slug=data.validated_data["queue"]).first()
            if queue is None:
                raise serializers.ValidationError({"queue": ["Unknown queue."]})
            interaction = transfers.interaction_transfer_to_queue(
                interaction_id=interaction_id, user=self.csr(request), queue=queue, note=note
            )
            return Response({"interaction_id": interaction.pk, "status": interaction.status})
        target = get_user_model().objects.filter(pk=data.validated_data["csr"]).first()
        if target is None:
            raise serializers.ValidationError({"csr": ["Unknown CSR."]})
        offer = transfers.interaction_transfer_to_csr(
            interaction_id=interaction_id, user=self.csr(request), target=target, note=note
        )
        return Response(
            {"interaction_id": interaction_id, "status": "offered", "offer_id": offer.pk}
        )


def _wrapup_payload(wrapup: Wrapup) -> dict:
    now = timezone.now()
    return {
        "interaction_id": wrapup.interaction_id,
        "queue": wrapup.queue.name,
        "open": wrapup.is_open,
        "outcome": wrapup.outcome,
        "code_required": wrapup.queue.wrapup_required,
        "codes": [
            {"code": c.code, "label": c.label}
            for c in disposition_codes_for(queue_id=wrapup.queue_id)
        ],
        "code": wrapup.code.code if wrapup.code else None,
        "code_label": wrapup.code.label if wrapup.code else None,
        "summary": wrapup.summary,
        "started_at": wrapup.started_at.isoformat(),
        "due_at": wrapup.due_at.isoformat(),
        "remaining_seconds": (
            max(0, int((wrapup.due_at - now).total_seconds())) if wrapup.is_open else 0
        ),
        "released_at": wrapup.released_at.isoformat() if wrapup.released_at else None,
    }


class WrapupView(CSRView):
    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)  # authentication and permissions first
        # No chat has an id past the database's range, and SQLite cannot even compare a
        # foreign key with one (Django guards only primary-key lookups): 404, not 500.
        if not db_id_valid(kwargs["interaction_id"]):
            raise RoutingError("wrapup_not_found", "This chat has no wrap-up.")

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "WrapupInput"

        code = serializers.CharField(required=False, allow_blank=True, max_length=40)
        summary = serializers.CharField(
            required=False, allow_blank=True, max_length=wrapups.SUMMARY_MAX_LENGTH
        )

    @extend_schema(
        operation_id="interaction_wrapup",
        responses=schema.WRAPUP_GET_RESPONSES,
        tags=["CSR routing"],
    )
    def get(self, request: Request, interaction_id: int) -> Response:
        """The wrap-up of a chat the CSR ended or had when it ended: the queue's codes,
        whether one is required, and the time left."""
        wrapup = wrapup_of(interaction_id=interaction_id)
        if wrapup is None:
            raise RoutingError("wrapup_not_found", "This chat has no wrap-up.")
        if wrapup.csr_id != self.csr(request).pk:
            raise RoutingError("not_your_wrapup", "This wrap-up is another CSR's.")
        return Response(_wrapup_payload(wrapup))

    @extend_schema(
        operation_id="interaction_wrapup_finish",
        request=InputSerializer,
        responses=schema.WRAPUP_POST_RESPONSES,
        tags=["CSR routing"],
    )
    def post(self, request: Request, interaction_id: int) -> Response:
        """Finish the wrap-up with a disposition code (required when the queue says so)
        and an optional summary: the chat stops taking one of the CSR's places."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        wrapup = wrapups.wrapup_submit(
            interaction_id=interaction_id,
            user=self.csr(request),
            code=data.validated_data.get("code", ""),
            summary=data.validated_data.get("summary", ""),
        )
        return Response(_wrapup_payload(wrapup))
