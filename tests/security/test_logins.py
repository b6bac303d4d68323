"""Brute-force protection of /accounts/login/ and /admin/login/: after LOGIN_FAILURE_LIMIT
wrong passwords for one username from one address, that username is refused from that
address, even with the right password, until the cool-off has passed."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client, RequestFactory

from config import logins
from config.users import Role
from tests.factories import user_factory

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"
ATTACKER = "203.0.113.7"
ELSEWHERE = "198.51.100.20"
PORTAL_LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


def attempt(path: str, username: str, password: str, address: str = ATTACKER):
    return Client().post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def fail_to_the_limit(path: str, username: str, settings, address: str = ATTACKER) -> None:
    for count in range(1, settings.AXES_FAILURE_LIMIT + 1):
        response = attempt(path, username, "wrong-guess", address)
        # The form again ("didn't match"), then the lockout page with the last failure.
        assert response.status_code == (429 if count == settings.AXES_FAILURE_LIMIT else 200)


def logged_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.wsgi_request.session


def test_the_right_password_after_too_many_wrong_ones_is_refused_with_the_message(settings):
    csr = user_factory(role=Role.CSR)
    fail_to_the_limit(PORTAL_LOGIN, csr.username, settings)

    response = attempt(PORTAL_LOGIN, csr.username, PASSWORD)

    assert response.status_code == 429
    assert not logged_in(response)
    page = response.content.decode()
    assert "Too many failed logins for this username from your address" in page
    assert "blocked for 15 minutes" in page
    assert 'class="alert alert--error"' in page and 'id="id_password"' in page  # the login page
    assert f'value="{csr.username}"' in page
    assert "didn&#x27;t match" not in page


def test_a_locked_username_is_still_refused_after_one_more_wrong_password(settings):
    csr = user_factory(role=Role.CSR)
    fail_to_the_limit(PORTAL_LOGIN, csr.username, settings)

    assert attempt(PORTAL_LOGIN, csr.username, "another-guess").status_code == 429
    assert attempt(PORTAL_LOGIN, csr.username, PASSWORD).status_code == 429


def test_other_users_and_other_addresses_are_unaffected(settings):
    target, colleague = user_factory(role=Role.CSR), user_factory(role=Role.CSR)
    fail_to_the_limit(PORTAL_LOGIN, target.username, settings)

    # A colleague behind the same address, and the same CSR from another address.
    assert logged_in(attempt(PORTAL_LOGIN, colleague.username, PASSWORD))
    assert logged_in(attempt(PORTAL_LOGIN, target.username, PASSWORD, ELSEWHERE))
    assert attempt(PORTAL_LOGIN, target.username, PASSWORD).status_code == 429


def test_fewer_failures_than_the_limit_do_not_lock(settings):
    csr = user_factory(role=Role.CSR)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(PORTAL_LOGIN, csr.username, "wrong-guess")

    assert logged_in(attempt(PORTAL_LOGIN, csr.username, PASSWORD))
    # A success clears the count: the limit starts again.
    attempt(PORTAL_LOGIN, csr.username, "wrong-guess")
    assert logged_in(attempt(PORTAL_LOGIN, csr.username, PASSWORD))


def test_after_the_cool_off_the_right_password_works_again(settings):
    csr = user_factory(role=Role.CSR)
    fail_to_the_limit(PORTAL_LOGIN, csr.username, settings)
    assert attempt(PORTAL_LOGIN, csr.username, PASSWORD).status_code == 429

    # The failures are now older than the cool-off.
    past = settings.AXES_COOLOFF_TIME + timedelta(seconds=1)
    for row in AccessAttempt.objects.all():
        AccessAttempt.objects.filter(pk=row.pk).update(attempt_time=row.attempt_time - past)

    assert logged_in(attempt(PORTAL_LOGIN, csr.username, PASSWORD))


def test_the_cool_off_and_the_limit_come_from_the_settings(settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(seconds=60)
    csr = user_factory(role=Role.CSR)
    fail_to_the_limit(PORTAL_LOGIN, csr.username, settings)

    response = attempt(PORTAL_LOGIN, csr.username, PASSWORD)

    assert response.status_code == 429
    assert "blocked for 1 minute." in response.content.decode()


def test_the_admin_login_is_protected_too_and_says_so_in_the_admins_look(settings):
    admin = user_factory(role=Role.ADMINISTRATOR)
    fail_to_the_limit(ADMIN_LOGIN, admin.username, settings)

    response = attempt(ADMIN_LOGIN, admin.username, PASSWORD)

    assert response.status_code == 429
    assert not logged_in(response)
    page = response.content.decode()
    assert '<p class="errornote" role="alert">Too many failed logins' in page
    assert 'id="login-form"' in page
    assert logged_in(attempt(ADMIN_LOGIN, admin.username, PASSWORD, ELSEWHERE))


@pytest.mark.parametrize(
    ("command", "arguments"),
    [
        ("axes_reset_username", lambda csr: [csr.username]),
        ("axes_reset_ip", lambda csr: [ATTACKER]),
        ("axes_reset", lambda csr: []),
    ],
)
def test_the_documented_reset_commands_unlock(settings, command, arguments):
    """docs/operations.md#locked-out-logins"""
    csr = user_factory(role=Role.CSR)
    fail_to_the_limit(PORTAL_LOGIN, csr.username, settings)

    call_command(command, *arguments(csr))

    assert logged_in(attempt(PORTAL_LOGIN, csr.username, PASSWORD))
    call_command("axes_reset_logs", "--age", "30")


def test_logins_without_a_request_are_not_counted():
    """Django's test client logs in without a request: nothing to count it by."""
    csr = user_factory(role=Role.CSR)
    assert Client().login(username=csr.username, password=PASSWORD)


def test_the_address_is_remote_addr_unless_a_trusted_proxy_names_it(settings):
    request = RequestFactory().post(
        PORTAL_LOGIN, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9"
    )
    assert logins.client_address(request) == "10.0.0.2"

    settings.LOGIN_TRUST_X_FORWARDED_FOR = True
    assert logins.client_address(request) == "203.0.113.9"
