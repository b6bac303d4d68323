"""Brute-force protection of the two login pages, /accounts/login/ and /admin/login/
(django-axes; docs/operations.md#locked-out-logins): the address a login comes from,
the backend that refuses a locked-out login, and the page that says so."""

import math
from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

# The status of the lockout page: the client is sending too many attempts.
LOCKOUT_STATUS = 429


class LoginLockoutBackend(AxesStandaloneBackend):
    """Refuses every login of a username from an address that has failed too often.

    A login without a request (Django's test client, a script) has no address to count
    it by and is left to the next backend, as if Axes were not there."""

    def authenticate(self, request: Any, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


def client_address(request: HttpRequest) -> str | None:
    """The address a login comes from: REMOTE_ADDR, or, behind a proxy that sets it
    (TRUST_X_FORWARDED_FOR), the last address of X-Forwarded-For, the one the proxy
    added; the ones before it are whatever the client claimed."""
    if settings.LOGIN_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR")


def lockout_message() -> str:
    minutes = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
    return (
        f"Too many failed logins for this username from your address: logging in is "
        f"blocked for {wait}. Try again then, or ask an administrator to unlock it."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """The login page the attempt came from (the portal's or the admin's), with the
    lockout message instead of the form's error, status 429."""
    username = request.POST.get("username", "")
    redirect_to = request.POST.get("next", "")
    message = lockout_message()
    if request.path.startswith(reverse("admin:index")):
        context = {
            **admin.site.each_context(request),
            "title": "Log in",
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
            "form": AdminAuthenticationForm(request, initial={"username": username}),
            "next": redirect_to,
            "lockout_message": message,
        }
        return render(request, "admin/login_locked_out.html", context, status=LOCKOUT_STATUS)
    context = {
        "form": AuthenticationForm(request, initial={"username": username}),
        "next": redirect_to,
        "lockout_message": message,
    }
    return render(request, "registration/login.html", context, status=LOCKOUT_STATUS)
