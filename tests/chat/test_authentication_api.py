"""Authentication over HTTP: the connector's POST /api/v1/escalations/{id}/authentication/,
escalations that claim to be authenticated, and the portal's Actions → Request
authentication endpoint with the chat panel's disabled reasons."""

import pytest
from django.test import Client
from django.utils import timezone

from chat import identity
from chat.models import Customer, Interaction, InteractionStatus, Message, SystemEvent
from config.users import Role
from portal import selectors
from tests.chat.conftest import ESCALATIONS_URL, build_escalation_body, make_bot, make_live_chat
from tests.chat.test_api import assert_error
from tests.factories import channel_factory, customer_factory, user_factory

pytestmark = pytest.mark.django_db

SECRET = "web-identity-secret"


@pytest.fixture
def web_bot():
    """A connector on channel `web`, which has an identity secret."""
    return make_bot(channel=channel_factory(slug="web", identity_secret=SECRET))


def token_for(customer_id="cust-1001", *, secret=SECRET, **kwargs):
    kwargs.setdefault("identity", "NB-1001 (Dana Reyes)")
    return identity.sign(secret=secret, customer_id=customer_id, **kwargs)


def escalate(bot, **customer) -> Interaction:
    body = build_escalation_body()
    body["customer"].update(customer)
    response = bot.escalate(body)
    assert response.status_code == 201, response.content
    return Interaction.objects.get(pk=response.json()["id"])


def authentication_url(interaction_id: int, slash: bool = True) -> str:
    return f"{ESCALATIONS_URL}{interaction_id}/authentication{'/' if slash else ''}"


def unchanged(interaction: Interaction) -> bool:
    interaction.refresh_from_db()
    return (
        not interaction.authenticated
        and interaction.authenticated_at is None
        and not interaction.customer.authenticated
        and not Message.objects.filter(event=SystemEvent.AUTHENTICATED).exists()
    )


# --- POST /api/v1/escalations/{id}/authentication/ ------------------------------------


@pytest.mark.parametrize("slash", [True, False])
def test_a_connector_reports_a_verified_login(web_bot, slash):
    """With or without the trailing slash: 200, the chat and the customer authenticated,
    "Customer authenticated" in the chat."""
    interaction = escalate(web_bot)

    response = web_bot.api.post(
        authentication_url(interaction.pk, slash), {"token": token_for()}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == interaction.pk
    assert body["authenticated"] is True
    assert body["verified_identity"] == "NB-1001 (Dana Reyes)"
    assert body["authenticated_at"]
    assert web_bot.status_of(interaction.pk).json()["authenticated"] is True
    interaction.refresh_from_db()
    assert interaction.authenticated
    assert interaction.customer.verified_identity == "NB-1001 (Dana Reyes)"
    last = Message.objects.filter(interaction=interaction).order_by("seq").last()
    assert (last.text, last.event, last.data["via"]) == (
        "Customer authenticated",
        "authenticated",
        "connector",
    )
    # The connector reads it back like any message.
    page = web_bot.api.get(f"{ESCALATIONS_URL}{interaction.pk}/messages/?after={last.seq - 1}")
    assert page.json()["messages"][0]["event"] == "authenticated"


@pytest.mark.parametrize(
    ("code", "token", "says"),
    [
        ("bad_signature", lambda: token_for(secret="wrong"), "signature does not match"),
        ("wrong_customer", lambda: token_for("cust-2002"), "different customer"),
        ("token_expired", lambda: token_for(now=timezone.now().timestamp() - 900), "expired"),
        ("expiry_too_far", lambda: token_for(lifetime_seconds=86_400), "too far ahead"),
        ("malformed_token", lambda: {"customer_id": "cust-1001"}, "expires_at"),
    ],
)
def test_a_refused_token_is_a_400_with_its_code_and_changes_nothing(web_bot, code, token, says):
    interaction = escalate(web_bot)
    response = web_bot.api.post(
        authentication_url(interaction.pk), {"token": token()}, format="json"
    )
    assert_error(response, 400, code, message=says)
    assert unchanged(interaction)


def test_a_body_without_a_token_object_is_a_400_on_the_field(web_bot):
    interaction = escalate(web_bot)
    response = web_bot.api.post(authentication_url(interaction.pk), {"token": "x"}, format="json")
    assert_error(response, 400, "invalid", field="token")
    response = web_bot.api.post(authentication_url(interaction.pk), {}, format="json")
    assert_error(response, 400, "invalid", field="token")
    assert unchanged(interaction)


def test_another_bots_escalation_is_not_found(web_bot):
    """A connector authenticates only the chats it escalated (404 as for every endpoint)."""
    interaction = escalate(web_bot)
    other = make_bot(channel=web_bot.channel)
    response = other.api.post(
        authentication_url(interaction.pk), {"token": token_for()}, format="json"
    )
    assert_error(response, 404, "not_found")
    assert unchanged(interaction)


def test_without_a_bot_token_it_is_a_401(web_bot):
    interaction = escalate(web_bot)
    response = Client().post(
        authentication_url(interaction.pk), {"token": token_for()}, content_type="application/json"
    )
    assert_error(response, 401, "not_authenticated")


@pytest.mark.parametrize(
    ("code", "prepare"),
    [
        (
            "already_authenticated",
            lambda i: Interaction.objects.filter(pk=i.pk).update(authenticated=True),
        ),
        (
            "chat_ended",
            lambda i: Interaction.objects.filter(pk=i.pk).update(status=InteractionStatus.ENDED),
        ),
    ],
)
def test_a_chat_that_cannot_be_authenticated_is_a_409(web_bot, code, prepare):
    interaction = escalate(web_bot)
    prepare(interaction)
    response = web_bot.api.post(
        authentication_url(interaction.pk), {"token": token_for()}, format="json"
    )
    assert_error(response, 409, code)


def test_a_channel_without_an_identity_secret_is_a_409(bot):
    interaction = escalate(bot)
    response = bot.api.post(
        authentication_url(interaction.pk), {"token": token_for()}, format="json"
    )
    assert_error(response, 409, "identity_not_configured", message="no identity secret")


def test_attempts_are_rate_limited_with_retry_after(web_bot, settings):
    settings.PORTAL = {**settings.PORTAL, "AUTH_ATTEMPTS_PER_MINUTE": 2}
    interaction = escalate(web_bot)
    url = authentication_url(interaction.pk)
    for _ in range(2):
        response = web_bot.api.post(url, {"token": token_for(secret="bad")}, format="json")
        assert response.status_code == 400
    response = web_bot.api.post(url, {"token": token_for()}, format="json")
    assert_error(response, 429, "rate_limited", message="at most 2 a minute")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert unchanged(interaction)


# --- POST /api/v1/escalations/ with an authentication claim ---------------------------


def test_an_escalation_with_a_valid_identity_token_arrives_authenticated(web_bot):
    before = timezone.now()
    body = build_escalation_body()
    body["customer"].update(authenticated=True, identity_token=token_for())

    response = web_bot.escalate(body)

    assert response.status_code == 201, response.content
    assert response.json()["authenticated"] is True
    assert response.json()["warnings"] == []
    interaction = Interaction.objects.select_related("customer").get()
    assert interaction.authenticated is True
    assert interaction.authenticated_at >= before
    assert interaction.customer.authenticated is True
    assert interaction.customer.verified_identity == "NB-1001 (Dana Reyes)"


def test_the_token_is_the_claim(web_bot):
    """A valid token authenticates even without `authenticated: true`."""
    interaction = escalate(web_bot, identity_token=token_for())
    assert interaction.authenticated is True


def test_a_bare_authenticated_claim_arrives_unauthenticated_with_a_warning(web_bot):
    """The icon never lies: `authenticated: true` alone is not believed, but the
    customer still reaches a CSR; the reply says why."""
    body = build_escalation_body()
    body["customer"]["authenticated"] = True

    response = web_bot.escalate(body)

    assert response.status_code == 201, response.content
    assert response.json()["authenticated"] is False
    assert response.json()["warnings"] == [
        {
            "code": "authentication_unverified",
            "field": "customer.authenticated",
            "message": "authenticated: true needs customer.identity_token, signed with the "
            "channel's identity secret (docs/authentication.md); the customer arrives "
            "unauthenticated.",
        }
    ]
    interaction = Interaction.objects.select_related("customer").get()
    assert interaction.authenticated is False
    assert interaction.customer.authenticated is False


@pytest.mark.parametrize(
    ("code", "customer"),
    [
        ("wrong_customer", {"identity_token": token_for("cust-2002")}),
        ("wrong_customer", {"external_id": "", "identity_token": token_for()}),
        ("bad_signature", {"identity_token": token_for(secret="guess")}),
        ("token_expired", {"identity_token": token_for(now=1_000_000)}),
        ("malformed_token", {"identity_token": {"customer_id": "cust-1001"}}),
    ],
)
def test_an_escalation_with_a_bad_token_arrives_unauthenticated(web_bot, code, customer):
    body = build_escalation_body()
    body["customer"].update(authenticated=True, **customer)

    response = web_bot.escalate(body)

    assert response.status_code == 201, response.content
    assert response.json()["authenticated"] is False
    [warning] = response.json()["warnings"]
    assert (warning["code"], warning["field"]) == (code, "customer.identity_token")
    assert warning["message"].endswith("The customer arrives unauthenticated.")
    assert Interaction.objects.get().authenticated is False


def test_on_a_channel_without_a_secret_a_token_cannot_be_checked(bot):
    body = build_escalation_body()
    body["customer"]["identity_token"] = token_for()
    response = bot.escalate(body)
    assert response.json()["warnings"][0]["code"] == "identity_not_configured"
    assert Interaction.objects.get().authenticated is False


def test_an_unverified_claim_clears_an_earlier_authentication_of_the_customer(web_bot):
    """The customer record says what the newest escalation proved."""
    customer_factory(external_id="cust-1001", authenticated=True, verified_identity="NB-1")
    escalate(web_bot, authenticated=True)
    assert Customer.objects.get(external_id="cust-1001").authenticated is False


def test_a_token_that_is_not_an_object_is_a_400(web_bot):
    body = build_escalation_body()
    body["customer"]["identity_token"] = "cust-1001.123.abc"
    assert_error(web_bot.escalate(body), 400, "invalid", field="customer.identity_token")
    assert not Interaction.objects.exists()


# --- The portal: Actions → Request authentication -------------------------------------

REQUEST_URL = "/portal-api/interactions/{}/request-authentication/"
CSRF = "a" * 32


def portal_client(user, *, csrf: bool = True) -> Client:
    """A logged-in browser that enforces CSRF like a real one (with the token, or not)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    if csrf:
        client.cookies["csrftoken"] = CSRF
    return client


def post_request(client: Client, interaction_id: int, *, csrf: bool = True):
    headers = {"X-CSRFToken": CSRF} if csrf else {}
    return client.post(REQUEST_URL.format(interaction_id), headers=headers)


def web_chat(**overrides):
    overrides.setdefault("channel", channel_factory(identity_secret=SECRET))
    return make_live_chat(**overrides)


def test_the_handling_csr_requests_authentication_from_the_panel():
    chat = web_chat()
    response = post_request(portal_client(chat.csr), chat.id)
    assert response.status_code == 200, response.content
    message = Message.objects.get(interaction_id=chat.id, event=SystemEvent.AUTH_REQUESTED)
    assert response.json() == {"interaction_id": chat.id, "seq": message.seq}
    assert message.text == "Authentication request is sent to customer"


def test_the_request_needs_the_csrf_token():
    chat = web_chat()
    response = post_request(portal_client(chat.csr, csrf=False), chat.id, csrf=False)
    assert response.status_code == 403
    assert not Message.objects.filter(interaction_id=chat.id).exists()


def test_the_request_is_a_post():
    chat = web_chat()
    client = portal_client(chat.csr)
    assert client.get(REQUEST_URL.format(chat.id)).status_code == 405


@pytest.mark.parametrize(
    ("status", "code", "who"),
    [
        (401, "not_authenticated", lambda chat: None),
        (403, "forbidden", lambda chat: user_factory(role=Role.CSR_MANAGER)),
        (403, "not_party", lambda chat: user_factory(role=Role.CSR)),
    ],
)
def test_only_the_handling_csr_may_request(status, code, who):
    chat = web_chat()
    user = who(chat)
    client = portal_client(user) if user else Client()
    response = post_request(client, chat.id)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert not Message.objects.filter(interaction_id=chat.id).exists()


def test_a_chat_that_does_not_allow_it_is_refused_with_the_reason():
    chat = web_chat(authenticated=True)
    response = post_request(portal_client(chat.csr), chat.id)
    assert response.status_code == 409
    assert response.json()["message"] == "The customer is already authenticated."
    response = post_request(portal_client(chat.csr), chat.id + 10_000)
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("reason", "make", "mode"),
    [
        ("", lambda: web_chat(), selectors.PanelMode.LIVE),
        ("The customer is already authenticated", lambda: web_chat(authenticated=True), "live"),
        (
            "This channel does not allow authentication requests",
            lambda: web_chat(
                channel=channel_factory(identity_secret=SECRET, auth_requests_allowed=False)
            ),
            "live",
        ),
        (
            "No identity secret is configured for this channel",
            lambda: web_chat(channel=channel_factory()),
            "live",
        ),
        ("This chat has ended", lambda: web_chat(status=InteractionStatus.ENDED), "read_only"),
        ("The chat is not active", lambda: web_chat(status=InteractionStatus.QUEUED), "live"),
        ("You are watching this chat read-only", lambda: web_chat(), "observer"),
    ],
)
def test_the_panel_says_why_request_authentication_is_disabled(reason, make, mode):
    chat = make()
    panel = selectors.interaction_panel(
        interaction=selectors.portal_interaction_get(interaction_id=chat.id),
        mode=selectors.PanelMode(mode),
    )
    assert panel["actions"]["request_authentication"] == reason


def test_the_panel_tells_the_page_what_the_channel_allows():
    """The page re-decides live (authenticated, ended); the channel's part comes from here."""
    chat = web_chat(channel=channel_factory())
    panel = selectors.interaction_panel(
        interaction=selectors.portal_interaction_get(interaction_id=chat.id),
        mode=selectors.PanelMode.LIVE,
    )
    assert panel["channel"]["auth_request_reason"] == (
        "No identity secret is configured for this channel"
    )
    chat = web_chat()
    panel = selectors.interaction_panel(
        interaction=selectors.portal_interaction_get(interaction_id=chat.id),
        mode=selectors.PanelMode.LIVE,
    )
    assert panel["channel"]["auth_request_reason"] == ""
