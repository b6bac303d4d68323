"""Portal pages: each role's start page, My Work, the interaction window, Recent work,
and the health check. Every page checks the role and, for an interaction, who may see it."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.users import Role, user_roles
from portal import selectors
from portal.selectors import PanelMode, health_report


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Load balancers and the run command poll this: 200 while the database answers (with
    Redis's state in the body), 503 when it does not."""
    report = health_report()
    return JsonResponse(report, status=200 if report["ok"] else 503)


@never_cache
@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Each role's start page: CSRs get My Work, CSR managers the live interactions,
    administrators the admin."""
    roles = user_roles(request.user)
    if Role.CSR in roles:
        return _my_work(request)
    if Role.CSR_MANAGER in roles:
        return _live_interactions(request)
    if Role.ADMINISTRATOR in roles:
        return redirect("admin:index")
    return render(request, "portal/no_role.html", status=403)


def _my_work(request: HttpRequest) -> HttpResponse:
    active = selectors.csr_active_interactions(user=request.user)
    panels = [
        selectors.interaction_panel(interaction=interaction, mode=PanelMode.LIVE)
        for interaction in active
    ]
    return render(
        request,
        "portal/my_work.html",
        {"nav": "my_work", "panels": panels, "active": active},
    )


def _live_interactions(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/live_interactions.html",
        {"nav": "live", "interactions": selectors.live_interactions()[:500]},
    )


@never_cache
@login_required
@require_GET
def recent_work(request: HttpRequest) -> HttpResponse:
    """The CSR's ended interactions, newest first, 25 a page."""
    if Role.CSR not in user_roles(request.user):
        raise PermissionDenied("Recent work is for CSRs.")
    paginator = Paginator(
        selectors.csr_recent_work(user=request.user), selectors.RECENT_WORK_PAGE_SIZE
    )
    page = paginator.get_page(request.GET.get("page"))
    rows = [
        {
            "interaction": interaction,
            "start": interaction.accepted_at or interaction.created_at,
            "duration": selectors.duration_text(
                start=interaction.accepted_at or interaction.created_at, end=interaction.ended_at
            ),
        }
        for interaction in page.object_list
    ]
    return render(request, "portal/recent_work.html", {"nav": "recent", "page": page, "rows": rows})


@never_cache
@login_required
@require_GET
def interaction_window(request: HttpRequest, interaction_id: int) -> HttpResponse:
    """One interaction: live for the CSR handling it, read-only for a closed chat and
    for CSR managers; 403 for everyone else."""
    roles = user_roles(request.user)
    if not roles & {Role.CSR, Role.CSR_MANAGER}:
        raise PermissionDenied("The interaction window is for CSRs and CSR managers.")
    interaction = selectors.portal_interaction_get(interaction_id=interaction_id)
    if interaction is None:
        raise Http404("No such interaction.")
    mode = selectors.portal_panel_mode(interaction=interaction, user=request.user, roles=roles)
    if mode is None:
        raise PermissionDenied("You may not open this interaction.")
    panel = selectors.interaction_panel(interaction=interaction, mode=mode)
    messages = []
    if mode is PanelMode.READ_ONLY:
        messages = selectors.interaction_messages(interaction_id=interaction.pk)
    return render(
        request,
        "portal/interaction.html",
        {
            "nav": "recent" if mode is PanelMode.READ_ONLY and Role.CSR in roles else "",
            "interaction": interaction,
            "panel": panel,
            "mode": mode,
            "messages": messages,
            "bot_messages": [m for m in messages if m.pre_escalation],
        },
    )
