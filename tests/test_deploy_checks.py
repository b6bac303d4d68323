"""The deploy check that stands in for Django's security.W001-W003 (config/middleware.py)."""

from django.conf import settings
from django.test import override_settings

from config.middleware import security_middleware_check


def test_the_portals_middleware_passes():
    assert security_middleware_check() == []


def test_each_missing_security_middleware_is_reported():
    for path, check_id in (
        ("config.middleware.SecurityMiddleware", "config.W001"),
        ("config.middleware.XFrameOptionsMiddleware", "config.W002"),
        ("config.middleware.CsrfViewMiddleware", "config.W003"),
    ):
        without = [m for m in settings.MIDDLEWARE if m != path]
        with override_settings(MIDDLEWARE=without):
            assert [w.id for w in security_middleware_check()] == [check_id]


def test_djangos_own_classes_satisfy_it():
    djangos = [
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ]
    with override_settings(MIDDLEWARE=djangos):
        assert security_middleware_check() == []


def test_pages_carry_the_headers_the_middleware_adds(client):
    response = client.get("/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
