"""URLs of the routing app, under /api/v1/: the bot's escalation and the CSR's routing
endpoints."""

from django.urls import path

from routing.api import agent as api
from routing.api.escalations import EscalationCreateApi

urlpatterns = [
    path("escalations/", EscalationCreateApi.as_view(), name="escalation-create"),
    path("agent/state/", api.StateView.as_view(), name="agent-state"),
    path("agent/status/", api.StatusView.as_view(), name="agent-status"),
    path("agent/queues/<slug:slug>/join/", api.QueueJoinView.as_view(), name="agent-queue-join"),
    path("agent/queues/<slug:slug>/leave/", api.QueueLeaveView.as_view(), name="agent-queue-leave"),
    path("agent/offers/<int:offer_id>/accept/", api.OfferAcceptView.as_view(), name="offer-accept"),
    path(
        "agent/offers/<int:offer_id>/decline/", api.OfferDeclineView.as_view(), name="offer-decline"
    ),
    path(
        "interactions/<int:interaction_id>/transfer-targets/",
        api.TransferTargetsView.as_view(),
        name="interaction-transfer-targets",
    ),
    path(
        "interactions/<int:interaction_id>/transfer/",
        api.TransferView.as_view(),
        name="interaction-transfer",
    ),
    path(
        "interactions/<int:interaction_id>/wrapup/",
        api.WrapupView.as_view(),
        name="interaction-wrapup",
    ),
]
