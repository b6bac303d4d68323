"""The CSR's notification preferences endpoint (/portal-api/preferences/) and My Work's use
of it: login, role and CSRF required; bad input is a 400 that says what to fix."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from config.users import Role
from portal.models import CSRPreferences
from tests.factories import user_factory

URL = "/portal-api/preferences/"


@pytest.fixture
def csr(roles):
    return user_factory(role=Role.CSR)


def csrf_client(user) -> Client:
    """A client that enforces CSRF like a browser, with the token a page would carry."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get(reverse("portal:home"))  # sets the csrftoken cookie
    return client


def post(client: Client, body, *, token: bool = True):
    headers = {"X-CSRFToken": client.cookies["csrftoken"].value} if token else {}
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", headers=headers)


def test_url_is_named():
    """The endpoint has its name in the portal's URLconf."""
    assert reverse("portal:api-preferences") == URL


@pytest.mark.django_db
def test_defaults_before_any_save(csr):
    """A CSR who never saved gets the defaults: sound on at 80 %."""
    client = Client()
    client.force_login(csr)
    response = client.get(URL)
    assert response.status_code == 200
    assert response.json() == {"sound_enabled": True, "sound_volume": 80}
    assert response["Cache-Control"].startswith("max-age=0")
    assert not CSRPreferences.objects.exists()


@pytest.mark.django_db
def test_save_and_read_back(csr):
    """A save answers with every preference; a later save of one field keeps the other;
    My Work's page carries them for its script."""
    client = csrf_client(csr)
    response = post(client, {"sound_enabled": False, "sound_volume": 35})
    assert response.status_code == 200
    assert response.json() == {"sound_enabled": False, "sound_volume": 35}
    response = post(client, {"sound_volume": 100})
    assert response.json() == {"sound_enabled": False, "sound_volume": 100}
    row = CSRPreferences.objects.get(user=csr)
    assert (row.sound_enabled, row.sound_volume) == (False, 100)
    assert client.get(URL).json() == {"sound_enabled": False, "sound_volume": 100}
    page = client.get(reverse("portal:home"))
    assert page.context["notify_settings"] == {
        "user_id": csr.pk,
        "sound_enabled": False,
        "sound_volume": 100,
    }
    assert b'<script id="notify-settings" type="application/json">' in page.content


@pytest.mark.django_db
def test_each_csr_has_their_own(roles):
    """One CSR's save changes nobody else's preferences."""
    first, second = user_factory(role=Role.CSR), user_factory(role=Role.CSR)
    post(csrf_client(first), {"sound_enabled": False})
    other = Client()
    other.force_login(second)
    assert other.get(URL).json()["sound_enabled"] is True


@pytest.mark.django_db
def test_post_without_csrf_token_is_refused(csr):
    """A POST without the CSRF token is refused with 403 and saves nothing."""
    client = csrf_client(csr)
    response = post(client, {"sound_enabled": False}, token=False)
    assert response.status_code == 403
    assert not CSRPreferences.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_login_required(db, method):
    """Without a login: 401 with a message, as JSON."""
    response = getattr(Client(), method)(URL)
    assert response.status_code == 401
    assert response.json()["message"] == "Log in to the portal first."


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.CSR_MANAGER, Role.ADMINISTRATOR, None])
def test_only_csrs(roles, role):
    """Managers, administrators and users without a role get 403: the setting is a CSR's."""
    user = user_factory(role=role) if role else user_factory()
    client = Client()
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 403
    assert response.json()["message"] == "Notification preferences are for CSRs."


@pytest.mark.django_db
def test_other_methods_refused(csr):
    """PUT and DELETE are not offered (405)."""
    client = Client()
    client.force_login(csr)
    assert client.put(URL, data="{}", content_type="application/json").status_code == 405
    assert client.delete(URL).status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ("not json", "", "Send a JSON object."),
        ("[1, 2]", "", "Send a JSON object."),
        ("[" * 100_000, "", "The request body can be at most 2,000 bytes."),
        ("[" * 1_000 + "]" * 1_000, "", "Send a JSON object."),  # RecursionError
        ({}, "", "Send at least one of sound_enabled and sound_volume."),
        ({"sound_enabled": "yes"}, "sound_enabled", "Send sound_enabled as true or false."),
        ({"sound_enabled": 1}, "sound_enabled", "Send sound_enabled as true or false."),
        (
            {"sound_volume": 101},
            "sound_volume",
            "Send sound_volume as a whole number from 0 to 100.",
        ),
        (
            {"sound_volume": -1},
            "sound_volume",
            "Send sound_volume as a whole number from 0 to 100.",
        ),
        (
            {"sound_volume": 5.5},
            "sound_volume",
            "Send sound_volume as a whole number from 0 to 100.",
        ),
        (
            {"sound_volume": True},
            "sound_volume",
            "Send sound_volume as a whole number from 0 to 100.",
        ),
        (
            {"sound_volume": "50"},
            "sound_volume",
            "Send sound_volume as a whole number from 0 to 100.",
        ),
        (
            {"sound_enabled": True, "theme": "dark"},
            "theme",
            "Unknown field 'theme': send sound_enabled and/or sound_volume.",
        ),
    ],
)
def test_bad_input_is_400_with_a_message(csr, body, field, message):
    """Bad input is a 400 naming what to fix, and nothing is saved."""
    response = post(csrf_client(csr), body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["code"] == "invalid"
    assert payload["message"] == message
    assert payload["errors"] == ([{"field": field, "message": message}] if field else [])
    assert not CSRPreferences.objects.exists()
