"""The manager tools' pages and JSON actions. Every one needs a CSR manager or an
administrator (403 for anyone else, CSRs included); actions are POSTs (CSRF-checked)
that call one service, with the refusal's message and status when it refuses."""

import json
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from chat.errors import ChatError
from chat.models import Channel, SenderKind, SentimentLabel
from chat.services.interactions import interaction_end
from routing.models import AwayReason, Queue
from supervision.errors import SupervisionError
from supervision.selectors.chats import chat_rows
from supervision.selectors.csrs import csr_rows
from supervision.selectors.health import health_report
from supervision.selectors.queues import queue_members, queue_rows
from supervision.selectors.scope import (
    may_supervise,
    queue_in_scope,
    queues_in_scope,
    supervised_queue_ids,
)
from supervision.services import joins, staff
from supervision.services.audit import reason_clean
from supervision.services.staff import MAX_CAPACITY, MIN_CAPACITY

NAV = "supervision"


def _user(request: HttpRequest) -> Any:
    """The logged-in manager (login_required ran)."""
    return request.user


def _manager(request: HttpRequest) -> None:
    if not may_supervise(request.user):
        raise PermissionDenied("The manager tools are for CSR managers.")


def _page(request: HttpRequest, template: str, tab: str, **context: Any) -> HttpResponse:
    _manager(request)
    return render(request, template, {"nav": NAV, "tab": tab, **context})


@never_cache
@login_required
@require_GET
def queues_page(request: HttpRequest) -> HttpResponse:
    """Queues, live: sorted by occupancy or longest wait (the page's switch)."""
    _manager(request)
    scope = supervised_queue_ids(user=request.user)  # type: ignore[arg-type]
    rows = queue_rows(queues=queues_in_scope(scope=scope))
    return _page(request, "supervision/queues.html", "queues", rows=rows)


@never_cache
@login_required
@require_GET
def csrs_page(request: HttpRequest) -> HttpResponse:
    _manager(request)
    scope = supervised_queue_ids(user=request.user)  # type: ignore[arg-type]
    return _page(
        request,
        "supervision/csrs.html",
        "csrs",
        rows=csr_rows(scope=scope),
        away_reasons=AwayReason.objects.filter(active=True, system=False).order_by("label"),
        queues=queues_in_scope(scope=scope),
        min_capacity=MIN_CAPACITY,
        max_capacity=MAX_CAPACITY,
    )


@never_cache
@login_required
@require_GET
def chats_page(request: HttpRequest) -> HttpResponse:
    _manager(request)
    scope = supervised_queue_ids(user=request.user)  # type: ignore[arg-type]
    rows = chat_rows(scope=scope)
    csrs = sorted(
        {(row["csr_id"], row["csr"]) for row in rows if row["csr_id"]}, key=lambda c: c[1]
    )
    return _page(
        request,
        "supervision/chats.html",
        "chats",
        rows=rows,
        queues=queues_in_scope(scope=scope),
        channels=Channel.objects.order_by("name"),
        csrs=csrs,
        sentiments=SentimentLabel.choices,
    )


@never_cache
@login_required
@require_GET
def health_page(request: HttpRequest) -> HttpResponse:
    _manager(request)
    return _page(request, "supervision/health.html", "health", report=health_report())


@never_cache
@login_required
@require_GET
def queue_members_page(request: HttpRequest, queue_id: int) -> HttpResponse:
    _manager(request)
    queue = Queue.objects.filter(pk=queue_id).first()
    if queue is None:
        raise Http404("No such queue.")
    scope = supervised_queue_ids(user=request.user)  # type: ignore[arg-type]
    if not queue_in_scope(scope=scope, queue_id=queue.pk):
        raise PermissionDenied("You do not supervise this queue.")
    members = queue_members(queue=queue)
    member_ids = {m["user_id"] for m in members}
    candidates = [row for row in csr_rows(scope=None) if row["id"] not in member_ids]
    return _page(
        request,
        "supervision/queue_members.html",
        "queues",
        queue=queue,
        members=members,
        candidates=candidates,
        error=request.GET.get("error", "")[:300],
    )


# --- actions ----------------------------------------------------------------------------


def _payload(request: HttpRequest) -> tuple[dict[str, Any], bool]:
    """The action's fields, and whether they came as JSON (else a form post)."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, RecursionError):
            raise SupervisionError("bad_json", "The body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise SupervisionError("bad_json", "Send a JSON object.")
        return data, True
    data = {}
    for key in request.POST:
        if key == "csrfmiddlewaretoken":
            continue
        value = str(request.POST.get(key, ""))
        data[key] = int(value) if value.isascii() and value.isdigit() and len(value) < 18 else value
    return data, False


def _act(request: HttpRequest, action: Callable[[dict[str, Any]], Any], back: str) -> HttpResponse:
    _manager(request)
    is_json = request.content_type == "application/json"
    try:
        data, is_json = _payload(request)
        result = action(data)
    except SupervisionError as error:
        if is_json:
            return JsonResponse(
                {"code": error.code, "message": error.message, "errors": []}, status=error.status
            )
        return redirect(f"{back}?error={error.message}")
    if is_json:
        return JsonResponse({"ok": True, **(result or {})})
    return redirect(back)


@login_required
@require_POST
def queue_csr_action(request: HttpRequest, queue_id: int) -> HttpResponse:
    """{"csr_id", "op": "add"|"remove", "reason"}: add a CSR to the queue or remove them."""

    def act(data: dict[str, Any]) -> None:
        op = data.get("op")
        service = {"add": staff.queue_csr_add, "remove": staff.queue_csr_remove}.get(op)  # type: ignore[arg-type]
        if service is None:
            raise SupervisionError("bad_op", 'op must be "add" or "remove".')
        service(
            manager=_user(request),
            queue_id=queue_id,
            csr_id=data.get("csr_id"),
            reason=data.get("reason"),
        )

    return _act(request, act, reverse("supervision:queue-members", args=[queue_id]))


@login_required
@require_POST
def csr_status_action(request: HttpRequest, csr_id: int) -> HttpResponse:
    """{"status": "away"|"offline", "away_reason", "reason"}."""

    def act(data: dict[str, Any]) -> None:
        staff.csr_status_set_by_manager(
            manager=_user(request),
            csr_id=csr_id,
            status=data.get("status"),
            away_reason=data.get("away_reason", ""),
            reason=data.get("reason"),
        )

    return _act(request, act, reverse("supervision:csrs"))


@login_required
@require_POST
def csr_capacity_action(request: HttpRequest, csr_id: int) -> HttpResponse:
    """{"capacity": 1–20, "reason"}."""

    def act(data: dict[str, Any]) -> dict[str, Any]:
        capacity = staff.csr_capacity_set(
            manager=_user(request),
            csr_id=csr_id,
            capacity=data.get("capacity"),
            reason=data.get("reason"),
        )
        return {"capacity": capacity}

    return _act(request, act, reverse("supervision:csrs"))


@login_required
@require_POST
def chat_reassign_action(request: HttpRequest, interaction_id: int) -> HttpResponse:
    """{"to_csr_id"} or {"to_queue_id"}, and "reason"."""

    def act(data: dict[str, Any]) -> None:
        staff.chat_reassign(
            manager=_user(request),
            interaction_id=interaction_id,
            to_csr_id=data.get("to_csr_id") or None,
            to_queue_id=data.get("to_queue_id") or None,
            reason=data.get("reason"),
        )

    return _act(request, act, reverse("supervision:csrs"))


def _join_end(*, manager: Any, interaction_id: int) -> None:
    """End a chat the manager took over."""
    try:
        interaction_end(interaction_id=interaction_id, by=SenderKind.CSR, user=manager)
    except ChatError as error:
        raise SupervisionError(error.code, error.message, status=409) from None


def _join_state(*, manager: Any, interaction_id: int) -> None:
    """Only the bar's state (every action answers it)."""


# Actions without a body, and those that store a message ({"text", "client_msg_id"}).
JOIN_PLAIN: dict[str, Callable[..., Any]] = {
    "monitor": joins.chat_monitor,
    "barge-in": joins.chat_barge_in,
    "leave": joins.chat_leave,
    "end": _join_end,
    "state": _join_state,
}
JOIN_MESSAGES: dict[str, Callable[..., Any]] = {
    "whisper": joins.chat_whisper,
    "send": joins.chat_supervisor_send,
}


@login_required
@require_POST
def chat_join_action(request: HttpRequest, interaction_id: int, action: str) -> HttpResponse:
    """The join bar of a watched chat: monitor, whisper {text, client_msg_id}, barge-in,
    send {text, client_msg_id}, take-over {reason}, leave, end (a chat taken over), and
    state (what the bar shows). Answers the bar's new state."""
    if action not in {*JOIN_PLAIN, *JOIN_MESSAGES, "take-over"}:
        raise Http404("No such action.")
    manager = _user(request)

    def act(data: dict[str, Any]) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if action in JOIN_MESSAGES:
            message = JOIN_MESSAGES[action](
                manager=manager,
                interaction_id=interaction_id,
                text=data.get("text"),
                client_msg_id=data.get("client_msg_id"),
            )
            extra["seq"] = message.seq
        elif action == "take-over":
            reason = data.get("reason")
            joins.chat_take_over(
                manager=manager,
                interaction_id=interaction_id,
                reason=reason_clean(reason, required=False),
            )
        else:
            JOIN_PLAIN[action](manager=manager, interaction_id=interaction_id)
        state = joins.chat_join_state(interaction_id=interaction_id, manager=manager)
        return {"state": state, **extra}

    return _act(request, act, reverse("portal:interaction", args=[interaction_id]))
