"""Every page carries a strict Content-Security-Policy and a Permissions-Policy; no
template holds inline code the policy would block; a login lasts SESSION_COOKIE_AGE."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from config.users import Role
from tests.factories import user_factory

pytestmark = pytest.mark.django_db

STRICT = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
}


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


@pytest.fixture
def demo_site(settings):
    settings.PORTAL = {**settings.PORTAL, "DEMO_SITE_ENABLED": True}


@pytest.mark.parametrize(
    "path",
    ["/accounts/login/", "/admin/login/", "/demo/", "/demo/login/?customer_id=abcdefgh-1"],
)
def test_every_page_has_the_strict_policy_and_the_permissions_policy(client, demo_site, path):
    response = client.get(path)

    assert response.status_code == 200
    directives = policy(response)
    for directive, value in STRICT.items():
        assert directives[directive] == value, (directive, directives)
    assert "unsafe" not in response["Content-Security-Policy"]
    permissions = response["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        assert feature in permissions


def test_the_csrs_pages_and_the_admin_have_the_policy_too():
    csr, admin = Client(), Client()
    csr.force_login(user_factory(role=Role.CSR))
    admin.force_login(user_factory(role=Role.ADMINISTRATOR, is_superuser=True))
    for response in (csr.get("/"), csr.get("/recent/"), admin.get("/admin/")):
        assert response.status_code == 200
        assert policy(response)["script-src"] == "'self'"


def test_the_api_docs_allow_inline_styles_but_no_inline_script(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    directives = policy(response)
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self' 'unsafe-inline'"
    assert b"<script>" not in response.content  # the start-up script is a file


INLINE_CODE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I), "inline script"),
    (re.compile(r"<style\b", re.I), "style element"),
    (re.compile(r"\sstyle=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event handler attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_no_template_holds_code_the_policy_would_block():
    """Scripts and styles are static files (the CSP has no 'unsafe-inline')."""
    base = Path(settings.BASE_DIR)
    found = []
    for template in sorted(base.glob("*/templates/**/*.html")):
        text = template.read_text()
        for pattern, what in INLINE_CODE:
            found += [f"{template.relative_to(base)}: {what}" for _ in pattern.finditer(text)]
    assert found == []


def test_a_login_lasts_twelve_hours(settings):
    user = user_factory(role=Role.CSR)
    assert settings.SESSION_COOKIE_AGE == 12 * 60 * 60

    response = Client().post(
        "/accounts/login/", {"username": user.username, "password": "pass-word-123"}
    )

    assert response.status_code == 302
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 12 * 60 * 60
