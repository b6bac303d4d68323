"""The chat panel's History tab: the customer's earlier interactions that the portal user
may open, newest first, with their count for the panel header ("3 earlier chats").

Who sees which earlier chat is the interaction window's own rule
(portal.selectors.portal_panel_mode), applied in the query: a CSR the chats they handled
(assigned, or an accepted offer: a transfer moved it on), a CSR manager every chat in the
queues they supervise (all queues unless limited). Chats of the same customer that the
user may not open are neither listed nor counted."""

from typing import Any

from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from chat.models import Interaction
from chat.selectors.history import customer_earlier_interactions
from config.users import Role, display_name, user_roles
from portal import selectors
from routing.models import Offer, OfferStatus
from supervision.selectors.scope import supervised_queue_ids

# The newest this many are listed; the count covers them all.
HISTORY_SHOWN = 20

RULE_CSR = "Chats you handled."
RULE_MANAGER = "Chats in the queues you supervise."
RULE_BOTH = "Chats you handled and chats in the queues you supervise."


def _visible(*, user: Any, roles: set[Role]) -> tuple[Q | None, str]:
    """The interactions `user` may open in the portal, as a filter (None: none), and
    the rule in words for the panel."""
    if Role.CSR_MANAGER in roles:
        scope = supervised_queue_ids(user=user)
        rule = RULE_BOTH if Role.CSR in roles else RULE_MANAGER
        if scope is None:
            return Q(), rule  # every queue: every chat
        visible = Q(assigned_csr_id=user.pk) | Q(queue_id__in=scope)
        if Role.CSR in roles:
            visible |= Q(pk__in=_accepted(user))
        return visible, rule
    if Role.CSR in roles:
        return Q(assigned_csr_id=user.pk) | Q(pk__in=_accepted(user)), RULE_CSR
    return None, RULE_CSR


def _accepted(user: Any):
    """The ids of the interactions the CSR accepted an offer of (csr_took_part's rule)."""
    return Offer.objects.filter(csr_id=user.pk, status=OfferStatus.ACCEPTED).values(
        "interaction_id"
    )


def _item(interaction: Interaction, current: Interaction) -> dict[str, Any]:
    csr = interaction.assigned_csr
    same_id = interaction.customer_id == current.customer_id
    return {
        "id": interaction.pk,
        "url": reverse("portal:interaction", args=[interaction.pk]),
        "transcript_url": reverse("transcripts:download-txt", args=[interaction.pk]),
        "status": interaction.status,
        "status_label": interaction.get_status_display(),  # type: ignore[attr-defined]
        "channel": interaction.channel.name,
        "queue": interaction.queue.name if interaction.queue_id else "",
        "csr": display_name(csr) if csr is not None else "",
        "intent": interaction.intent,
        "started_at": interaction.created_at.isoformat(),
        "ended_at": interaction.ended_at.isoformat() if interaction.ended_at else None,
        # Why it is this customer's: their customer id, or their verified identity.
        "match": "customer_id" if same_id else "verified_identity",
    }


def customer_history(
    *, interaction: Interaction, user: Any, roles: set[Role], limit: int = HISTORY_SHOWN
) -> dict[str, Any]:
    """The earlier interactions of `interaction`'s customer that `user` may open: their
    count, the newest `limit` of them, and the rule that chose them. A constant number
    of queries (the count, the page, and the manager's queues)."""
    visible, rule = _visible(user=user, roles=roles)
    if visible is None:
        return {"count": 0, "items": [], "rule": rule}
    earlier = customer_earlier_interactions(interaction=interaction).filter(visible)
    items = [_item(row, interaction) for row in earlier[:limit]]
    count = len(items) if len(items) < limit else earlier.count()
    return {"count": count, "items": items, "rule": rule}


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "errors": []}, status=status)


@never_cache
@require_GET
def interaction_history_view(request: HttpRequest, interaction_id: int) -> JsonResponse:
    """The History tab of the chat panel, for whoever may open the interaction."""
    if not request.user.is_authenticated:
        return _error(401, "not_authenticated", "Log in to the portal first.")
    interaction = selectors.portal_interaction_get(interaction_id=interaction_id)
    roles = user_roles(request.user)
    mode = (
        selectors.portal_panel_mode(interaction=interaction, user=request.user, roles=roles)
        if interaction is not None
        else None
    )
    if interaction is None or mode is None:
        return _error(403, "forbidden", "You may not open this interaction.")
    return JsonResponse(customer_history(interaction=interaction, user=request.user, roles=roles))
