"""Portal pages: each role's start page, My Work, the interaction window, Recent work,
the health check and the favicon. Every page checks the role and, for an interaction,
who may see it."""

from functools import cache
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_POST

from config.users import Role, user_roles
from portal import selectors
from portal.forms import RecentWorkForm
from portal.selectors import PanelMode, health_report
from routing.models import Wrapup
from routing.selectors.waits import FOLLOW_UPS_SHOWN, csr_follow_ups_open, follow_ups_open
from routing.services.waits import follow_ups_mark_done


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Load balancers and the run command poll this: 200 while the database answers (with
    Redis's state in the body), 503 when it does not."""
    report = health_report()
    return JsonResponse(report, status=200 if report["ok"] else 503)


FAVICON = Path(__file__).resolve().parent / "static" / "portal" / "favicon.ico"


@cache
def _favicon_bytes() -> bytes:
    return FAVICON.read_bytes()


@require_GET
@cache_control(public=True, max_age=86400)
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, for the pages that link none (the admin, the API docs, a browser's own
    guess): the portal's icon, the same file as static/portal/favicon.ico."""
    return HttpResponse(_favicon_bytes(), content_type="image/x-icon")


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
        {
            "nav": "my_work",
            "panels": panels,
            "active": active,
            # notifications.js: the sound setting, and the user id its stored keys carry.
            "notify_settings": {
                "user_id": request.user.pk,
                **selectors.csr_preferences_get(user_id=request.user.pk or 0),
            },
        },
    )


def _live_interactions(request: HttpRequest) -> HttpResponse:
    # Chats whose customer waited past the queue's maximum are flagged (their LongWait),
    # and the messages customers left for follow-up are listed below.
    return render(
        request,
        "portal/live_interactions.html",
        {
            "nav": "live",
            "interactions": selectors.live_interactions(user=request.user).select_related(
                "long_wait"
            )[:500],
            "follow_ups": follow_ups_open()[:FOLLOW_UPS_SHOWN],
            "follow_ups_linked": True,
        },
    )


@login_required
@require_POST
def follow_up_done(request: HttpRequest, long_wait_id: int) -> HttpResponse:
    """A manager has followed up a message a customer left: it leaves the list (marking
    one already done changes nothing)."""
    if not user_roles(request.user) & {Role.CSR_MANAGER, Role.ADMINISTRATOR}:
        raise PermissionDenied("Only CSR managers may mark follow-ups done.")
    follow_ups_mark_done(long_wait_ids=[long_wait_id], user=request.user)  # type: ignore[arg-type]  # login_required
    return redirect(f"{reverse('portal:home')}#follow-ups")


@never_cache
@login_required
@require_GET
def recent_work(request: HttpRequest) -> HttpResponse:
    """Every interaction the CSR took part in, newest first, 25 a page, searched and
    filtered by the GET form; a bad filter value is a 400 that says what to fix."""
    if Role.CSR not in user_roles(request.user):
        raise PermissionDenied("Recent work is for CSRs.")
    form = RecentWorkForm(request.GET)
    context = {"nav": "recent", "csr_presence": True, "form": form, "page": None, "rows": []}
    if not form.is_valid():
        return render(request, "portal/recent_work.html", context, status=400)
    paginator = Paginator(
        selectors.csr_recent_work(user=request.user, query=form.recent_work_query()),
        selectors.RECENT_WORK_PAGE_SIZE,
    )
    page = paginator.get_page(form.cleaned_data["page"])
    context["page"] = page
    context["rows"] = selectors.recent_work_rows(
        interactions=list(page.object_list), user=request.user
    )
    context["follow_ups"] = csr_follow_ups_open(user_id=request.user.pk or 0)[:FOLLOW_UPS_SHOWN]
    return render(request, "portal/recent_work.html", context)


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
    # The CSR's own wrap-up, still open: its form, as in My Work, instead of its summary
    # (read once here, the template's summary uses the same).
    try:
        wrapup: Wrapup | None = interaction.wrapup
    except Wrapup.DoesNotExist:
        wrapup = None
    panel["wrapup_form"] = bool(wrapup and wrapup.is_open and wrapup.csr_id == request.user.pk)
    messages = []
    if mode is PanelMode.READ_ONLY:
        messages = selectors.interaction_messages(interaction_id=interaction.pk)
    return render(
        request,
        "portal/interaction.html",
        {
            "nav": "recent" if mode is PanelMode.READ_ONLY and Role.CSR in roles else "",
            # A CSR reading or working a chat is at work: the page keeps them present.
            "csr_presence": Role.CSR in roles,
            "interaction": interaction,
            "panel": panel,
            "mode": mode,
            "messages": messages,
            "bot_messages": [m for m in messages if m.pre_escalation],
        },
    )
