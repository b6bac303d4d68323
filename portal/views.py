"""Portal pages and the health check."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.roles import Role, user_roles
from portal.selectors import health_report


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Load balancers and the run command poll this; it checks the database and Redis."""
    report = health_report()
    return JsonResponse(report, status=200 if report["ok"] else 503)


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to its own start page."""
    roles = user_roles(request.user)
    if roles == {Role.ADMINISTRATOR}:
        return redirect("admin:index")
    return render(request, "portal/home.html", {"roles": sorted(roles)})
