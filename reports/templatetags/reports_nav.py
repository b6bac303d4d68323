"""The appbar's links to My dashboard (CSRs and managers) and Reports (managers)."""

from django import template
from django.db.models import prefetch_related_objects
from django.urls import reverse

from config.users import Role, user_roles

register = template.Library()


@register.inclusion_tag("reports/_nav.html", takes_context=True)
def reports_nav(context: template.Context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        # One query for the groups, kept on the user: every later role check of the
        # page (the other appbar links) reads them from there.
        prefetch_related_objects([user], "groups")
    roles = user_roles(user) if user is not None else set()
    nav = context.get("nav", "")
    return {
        "dashboard": bool(roles & {Role.CSR, Role.CSR_MANAGER}),
        "reports": Role.CSR_MANAGER in roles,
        "current": nav,
        "dashboard_url": reverse("reports:my_dashboard"),
        "reports_url": reverse("reports:report"),
    }
