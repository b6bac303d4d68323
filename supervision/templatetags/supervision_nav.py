"""The appbar's link to the manager tools (CSR managers and administrators)."""

from django import template

from supervision.selectors.scope import may_supervise

register = template.Library()


@register.inclusion_tag("supervision/_nav.html", takes_context=True)
def supervision_nav(context: template.Context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "show": user is not None and may_supervise(user),
        "current": context.get("nav", ""),
    }
