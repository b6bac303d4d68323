"""The demo bank's customer login at /demo/login/: a demo account logs in and the page
hands the widget a token signed for the widget's customer with the demo channel's
identity secret; only on the demo site."""

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from chat import demo_bot, identity
from tests.factories import channel_factory

pytestmark = pytest.mark.django_db

WIDGET_ID = "0b6c2f3e-5d7a-4c1b-9e8f-123456789abc"
LOGIN_URL = f"/demo/login/?customer_id={WIDGET_ID}"
SECRET = "demo-identity-secret"


@pytest.fixture(autouse=True)
def demo_site(settings):
    settings.PORTAL = {**settings.PORTAL, "DEMO_SITE_ENABLED": True}


@pytest.fixture
def demo_channel():
    return channel_factory(slug=demo_bot.DEMO_CHANNEL, identity_secret=SECRET)


def page_token(response) -> dict | None:
    found = re.search(
        r'<script id="identity-token" type="application/json">(.*?)</script>',
        response.content.decode(),
    )
    return json.loads(found.group(1)) if found else None


def test_the_login_form_is_shown_with_the_demo_accounts(demo_channel):
    response = Client().get(LOGIN_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Sign in to Northwind Bank" in html
    assert "csrfmiddlewaretoken" in html
    assert "dana-demo" in html
    assert page_token(response) is None


def test_a_demo_account_gets_a_token_signed_for_the_widgets_customer(demo_channel):
    """The token is for `demo-<widget id>` (the demo bot's external_id) and names the
    account; it verifies against the channel's secret."""
    response = Client().post(LOGIN_URL, {"username": "Dana", "password": "dana-demo"})

    assert response.status_code == 200
    assert "You are signed in" in response.content.decode()
    token = page_token(response)
    verified = identity.verify(
        token=token, secret=SECRET, customer_id=demo_bot.customer_external_id(WIDGET_ID)
    )
    assert verified.identity == "NB-1001 (Dana Reyes)"
    # The page's script (a static file: no inline code under the CSP) hands it on.
    assert 'src="/static/chat/demo_login.js"' in response.content.decode()
    script = Path(settings.BASE_DIR, "chat", "static", "chat", "demo_login.js").read_text()
    assert "portal-widget:identity" in script
    assert "window.location.origin" in script


def test_a_wrong_password_gets_no_token(demo_channel):
    response = Client().post(LOGIN_URL, {"username": "dana", "password": "sam-demo"})
    assert response.status_code == 400
    assert "That user name and password do not match." in response.content.decode()
    assert page_token(response) is None
    response = Client().post(LOGIN_URL, {"username": "mallory", "password": "mallory-demo"})
    assert page_token(response) is None


def test_the_login_needs_the_csrf_token(demo_channel):
    client = Client(enforce_csrf_checks=True)
    response = client.post(LOGIN_URL, {"username": "dana", "password": "dana-demo"})
    assert response.status_code == 403


@pytest.mark.parametrize("query", ["", "?customer_id=", "?customer_id=<script>", "?customer_id=a"])
def test_a_login_link_without_a_widget_id_is_refused(demo_channel, query):
    response = Client().post(f"/demo/login/{query}", {"username": "dana", "password": "dana-demo"})
    assert response.status_code == 400
    assert page_token(response) is None
    assert "<script>" not in response.content.decode().split("<body>")[1].split("</main>")[0]


def test_without_an_identity_secret_the_page_says_to_seed(db):
    channel_factory(slug=demo_bot.DEMO_CHANNEL)
    response = Client().post(LOGIN_URL, {"username": "dana", "password": "dana-demo"})
    assert response.status_code == 503
    assert "seed_demo" in response.content.decode()


def test_only_on_the_demo_site(settings, demo_channel):
    settings.PORTAL = {**settings.PORTAL, "DEMO_SITE_ENABLED": False}
    assert Client().get(LOGIN_URL).status_code == 404
    assert (
        Client().post(LOGIN_URL, {"username": "dana", "password": "dana-demo"}).status_code == 404
    )


def test_the_demo_page_tells_the_widget_where_to_log_in(demo_channel):
    html = Client().get("/demo/").content.decode()
    assert 'data-login-url="/demo/login/"' in html
