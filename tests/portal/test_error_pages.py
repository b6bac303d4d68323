"""Error pages in the portal's look (403, 404, 500, a failed CSRF check) and the favicon,
linked from every page and served at /favicon.ico."""

import pytest
from django.template import loader
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from config.users import Role
from tests.factories import user_factory

PORTAL_LOOK = ('class="appbar"', "Interaction Portal", "portal/css/portal.css")


def looks_like_the_portal(content: str) -> None:
    for part in PORTAL_LOOK:
        assert part in content
    assert 'rel="icon"' in content


@pytest.mark.django_db
def test_404_is_a_portal_page(settings):
    settings.DEBUG = False
    response = Client().get("/no/such/page/")
    assert response.status_code == 404
    content = response.content.decode()
    looks_like_the_portal(content)
    assert "There is no such page" in content
    assert "<code>/no/such/page/</code>" in content


@pytest.mark.django_db
def test_403_is_a_portal_page_that_says_why(settings, roles):
    settings.DEBUG = False
    client = Client()
    client.force_login(user_factory(role=Role.CSR_MANAGER))
    response = client.get(reverse("portal:recent_work"))
    assert response.status_code == 403
    content = response.content.decode()
    looks_like_the_portal(content)
    assert "You may not open this page" in content
    assert "Recent work is for CSRs." in content
    assert "Log out" in content  # the app bar of a logged-in user


def test_500_renders_without_a_request_a_context_or_the_database():
    """Django renders 500.html with an empty context; the database may be what failed
    (this test may not touch it: pytest-django blocks it here)."""
    content = loader.get_template("500.html").render()
    looks_like_the_portal(content)
    assert "Something went wrong on our side" in content
    assert "Log out" not in content
    response = server_error(RequestFactory().get("/anything/"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


@pytest.mark.django_db
def test_a_failed_csrf_check_is_a_portal_page(settings):
    settings.DEBUG = False
    response = Client(enforce_csrf_checks=True).post(
        reverse("login"), {"username": "x", "password": "y"}
    )
    assert response.status_code == 403
    content = response.content.decode()
    looks_like_the_portal(content)
    assert "This form could not be sent" in content
    assert "allow cookies for this site" in content  # no CSRF cookie was sent


@pytest.mark.django_db
def test_the_favicon_is_linked_and_served_at_favicon_ico():
    response = Client().get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert "max-age=86400" in response["Cache-Control"]
    login_page = Client().get(reverse("login")).content.decode()
    assert 'href="/static/portal/favicon.svg"' in login_page
    assert 'href="/static/portal/favicon.ico"' in login_page
