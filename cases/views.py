"""The portal's case pages (Cases, one case) and the chat panel's JSON endpoints of the
case assistant (session authentication; POSTs need the CSRF token)."""

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases.assistant.panel import assistant_state, case_form
from cases.models import CaseStatus
from cases.selectors import (
    case_history,
    case_type_offered_get,
    case_visible_get,
    cases_visible,
)
from cases.services import CaseError, case_create, case_update
from chat.models import Interaction
from config.users import Role, user_roles

CASES_PAGE_SIZE = 25
CREATE_ERROR_STATUS = {
    "not_found": 404,
    "not_party": 403,
    "authentication_required": 409,
    "chat_ended": 409,
}


def _error(status: int, code: str, message: str, errors: dict[str, str] | None = None):
    items = [{"field": k, "message": v, "code": "invalid"} for k, v in (errors or {}).items()]
    return JsonResponse({"code": code, "message": message, "errors": items}, status=status)


def _panel_interaction(request: HttpRequest, interaction_id: int) -> Interaction | JsonResponse:
    """The chat, if the user handles it (or manages CSRs); else the refusal to answer."""
    if not request.user.is_authenticated:
        return _error(401, "not_authenticated", "Log in to the portal first.")
    interaction = (
        Interaction.objects.select_related("channel", "queue").filter(pk=interaction_id).first()
    )
    roles = user_roles(request.user)
    allowed = interaction is not None and (
        interaction.assigned_csr_id == request.user.pk
        or bool(roles & {Role.CSR_MANAGER, Role.ADMINISTRATOR})
    )
    if interaction is None or not allowed:
        return _error(403, "forbidden", "You may not open this interaction.")
    return interaction


@never_cache
@require_GET
def assistant_view(request: HttpRequest, interaction_id: int) -> JsonResponse:
    """The case assistant's suggestions, the case types by category and the customer's
    other open cases."""
    interaction = _panel_interaction(request, interaction_id)
    if isinstance(interaction, JsonResponse):
        return interaction
    return JsonResponse(assistant_state(interaction=interaction))


@never_cache
@require_GET
def case_form_view(request: HttpRequest, interaction_id: int, case_type_id: int) -> JsonResponse:
    """A case type's form, pre-filled from the chat, each value with its source."""
    interaction = _panel_interaction(request, interaction_id)
    if isinstance(interaction, JsonResponse):
        return interaction
    case_type = case_type_offered_get(interaction=interaction, case_type_id=case_type_id)
    if case_type is None:
        return _error(404, "not_found", "This chat offers no such case type.")
    return JsonResponse(case_form(interaction=interaction, case_type=case_type))


@never_cache
@require_POST
def case_create_view(request: HttpRequest, interaction_id: int) -> JsonResponse:
    """The CSR confirms the form: `{"case_type": 3, "values": {...}}`. 201 with the case;
    400 with each field's problem; 409 while the customer must authenticate first."""
    if not request.user.is_authenticated:
        return _error(401, "not_authenticated", "Log in to the portal first.")
    if Role.CSR not in user_roles(request.user):
        return _error(403, "forbidden", "Only CSRs may open cases.")
    try:
        body: Any = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _error(400, "parse_error", "The request body is not valid JSON.")
    if not isinstance(body, dict):
        return _error(400, "invalid", "Send a JSON object.")
    try:
        case = case_create(
            interaction_id=interaction_id,
            case_type_id=body.get("case_type"),
            values=body.get("values", {}),
            csr=request.user,  # type: ignore[arg-type]
        )
    except CaseError as error:
        status = CREATE_ERROR_STATUS.get(error.code, 400)
        return _error(status, error.code, error.message, error.errors)
    return JsonResponse(
        {"reference": case.reference, "case_type": case.case_type.name, "status": case.status},
        status=201,
    )


def _csr_or_manager(request: HttpRequest) -> set[Role]:
    roles = user_roles(request.user)
    if not roles & {Role.CSR, Role.CSR_MANAGER, Role.ADMINISTRATOR}:
        raise PermissionDenied("The Cases page is for CSRs and CSR managers.")
    return roles


def _nav(roles: set[Role]) -> dict[str, Any]:
    return {"nav": "cases", "csr_presence": Role.CSR in roles, "is_csr": Role.CSR in roles}


@never_cache
@login_required
@require_GET
def cases_page(request: HttpRequest) -> HttpResponse:
    """The cases a CSR may see (of chats they handled; CSR managers all), newest first,
    filtered by status."""
    roles = _csr_or_manager(request)
    status = request.GET.get("status", "")
    cases = cases_visible(user=request.user)
    if status:
        if status not in CaseStatus.values and status != "open_any":
            return render(
                request,
                "cases/cases.html",
                {**_nav(roles), "error": "Unknown status filter.", "statuses": CaseStatus.choices},
                status=400,
            )
        cases = (
            cases.filter(status__in=["open", "pending_customer"])
            if status == "open_any"
            else cases.filter(status=status)
        )
    page = Paginator(cases, CASES_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "cases/cases.html",
        {**_nav(roles), "page": page, "status": status, "statuses": CaseStatus.choices},
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def case_page(request: HttpRequest, reference: str) -> HttpResponse:
    """One case: its fields, history and notes; its status and a new note are POSTed here."""
    roles = _csr_or_manager(request)
    case = case_visible_get(user=request.user, reference=reference)
    if case is None:
        raise Http404("No such case, or not one of yours.")
    errors: dict[str, str] = {}
    if request.method == "POST":
        status = request.POST.get("status") or None
        if status == case.status:
            status = None
        try:
            case_update(
                reference=case.reference,
                status=status,
                note=request.POST.get("note", ""),
                user=request.user,  # type: ignore[arg-type]
            )
        except CaseError as error:
            errors = error.errors or {"form": error.message}
        else:
            return redirect("cases:case", reference=case.reference)
    fields = [
        {"label": field.label, "value": case.values.get(field.key), "kind": field.kind}
        for field in case.case_type.fields.all()
    ]
    return render(
        request,
        "cases/case.html",
        {
            **_nav(roles),
            "case": case,
            "fields": fields,
            "history": case_history(case=case),
            "statuses": CaseStatus.choices,
            "errors": errors,
            "note": request.POST.get("note", "") if errors else "",
        },
        status=400 if errors else 200,
    )
