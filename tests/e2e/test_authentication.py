"""Request authentication end to end, in real browsers against a real ASGI server: the
CSR clicks Actions → Request authentication, the customer's widget on /demo/ shows a
login prompt, the customer logs in on the bank's demo login page, and the CSR's
authenticated icon turns on live with "Customer authenticated". Also the host site's
identity callback (window.PortalWidget.identity) instead of a login page."""

import re

import pytest
from playwright.sync_api import Page, expect

from chat import identity
from chat.models import Channel, Interaction, SystemEvent
from chat.services.authentication import interaction_request_authentication
from config.users import Role
from routing.models import Offer, OfferStatus, Queue, QueueMembership
from routing.services.answers import offer_accept
from routing.services.presence import csr_status_set
from tests.e2e.pages import customer_escalates, shot, widget
from tests.factories import user_factory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TIMEOUT_MS = 15_000
XSS = "<img src=x onerror=alert(1)>"


def test_csr_requests_authentication_and_the_customer_logs_in_on_the_demo_site(
    page: Page, csr_page: Page, portal_server, demo, screenshot_dir
):
    """The whole story of the reference page, with the icon turning on live."""
    base = portal_server.url
    dialogs: list[str] = []
    for p in (page, csr_page):
        p.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    # The CSR logs in, joins Billing and goes Available.
    csr_page.goto(f"{base}/")
    csr_page.get_by_label("Username").fill("csr1")
    csr_page.get_by_label("Password").fill("csr1-demo")
    csr_page.get_by_role("button", name="Log in").click()
    expect(csr_page.locator("#connection")).to_have_attribute(
        "data-state", "open", timeout=TIMEOUT_MS
    )
    billing = csr_page.locator('.queue[data-queue="billing"]')
    billing.get_by_role("switch").click()
    expect(billing.get_by_role("switch")).to_have_attribute("aria-checked", "true")
    csr_page.get_by_label("Your status").select_option("available")
    expect(billing).to_contain_text("1 available", timeout=TIMEOUT_MS)

    # The customer escalates from the demo site; the CSR accepts.
    customer_escalates(page, base, "Dana")
    popup = csr_page.get_by_role("dialog", name=re.compile("Dana"))
    expect(popup).to_be_visible(timeout=TIMEOUT_MS)
    popup.get_by_role("button", name="Accept").click()
    panel = csr_page.get_by_role("tabpanel")
    chat_log = panel.get_by_role("log", name="Conversation")
    expect(chat_log).to_contain_text("Alex Morgan joined the chat", timeout=TIMEOUT_MS)
    badge = panel.locator('[data-field="auth"]')
    expect(badge).to_be_hidden()

    # (5) Actions → Request authentication.
    panel.get_by_role("button", name="Actions").click()
    item = panel.get_by_role("menuitem", name=re.compile("^Request authentication"))
    expect(item).not_to_have_attribute("aria-disabled", "true")
    shot(csr_page, screenshot_dir, "auth-csr-actions-menu.png")
    item.click()
    expect(chat_log).to_contain_text(
        "Authentication request is sent to customer", timeout=TIMEOUT_MS
    )
    shot(csr_page, screenshot_dir, "auth-csr-request-sent.png")

    # The customer's widget shows a login prompt, in the customer's words.
    prompt = widget(page).get_by_role("group", name="Sign-in request")
    expect(prompt).to_contain_text("Please sign in", timeout=TIMEOUT_MS)
    expect(widget(page)).not_to_contain_text("Authentication request is sent to customer")
    shot(page, screenshot_dir, "auth-widget-login-prompt.png")

    # Sign in opens the bank's login page; a wrong password is refused there.
    with page.expect_popup() as opened:
        prompt.get_by_role("button", name="Sign in").click()
    login = opened.value
    login.wait_for_load_state()
    expect(login.get_by_role("heading", name="Sign in to Northwind Bank")).to_be_visible()
    login.get_by_label("User name").fill("dana")
    login.get_by_label("Password").fill(f"wrong {XSS}")
    login.get_by_role("button", name="Sign in").click()
    expect(login.get_by_role("alert")).to_have_text("That user name and password do not match.")
    shot(login, screenshot_dir, "auth-demo-login-wrong-password.png")
    login.get_by_label("Password").fill("dana-demo")
    login.get_by_role("button", name="Sign in").click()
    expect(login.get_by_role("heading", name="You are signed in")).to_be_visible()
    shot(login, screenshot_dir, "auth-demo-login-signed-in.png")
    login.wait_for_event("close", timeout=TIMEOUT_MS)

    # The widget says so; the CSR's icon lights up live with the system message.
    expect(widget(page).get_by_text("You are signed in").first).to_be_visible(timeout=TIMEOUT_MS)
    expect(prompt.get_by_role("button", name="Sign in")).to_be_hidden()
    shot(page, screenshot_dir, "auth-widget-signed-in.png")
    expect(badge).to_be_visible(timeout=TIMEOUT_MS)
    expect(chat_log).to_contain_text("Customer authenticated")
    expect(panel.get_by_role("complementary", name="Context")).to_contain_text(
        "NB-1001 (Dana Reyes)", timeout=TIMEOUT_MS
    )
    menu_item = panel.locator('[data-menu="authenticate"]')  # the menu is closed now
    expect(menu_item).to_have_attribute("aria-disabled", "true")
    expect(menu_item).to_have_attribute("title", "The customer is already authenticated")
    shot(csr_page, screenshot_dir, "auth-csr-authenticated.png")

    interaction = Interaction.objects.select_related("customer").get(customer__name="Dana")
    assert interaction.authenticated is True
    assert interaction.customer.verified_identity == "NB-1001 (Dana Reyes)"
    assert interaction.messages.filter(event=SystemEvent.AUTHENTICATED).count() == 1

    # After a reload both sides still show it, and the CSR sees the verified identity.
    csr_page.reload()
    panel = csr_page.get_by_role("tabpanel")
    expect(panel.locator('[data-field="auth"]')).to_be_visible(timeout=TIMEOUT_MS)
    expect(panel.get_by_role("complementary", name="Context")).to_contain_text(
        "NB-1001 (Dana Reyes)"
    )
    page.reload()
    expect(widget(page).locator(".cpw-verified")).to_be_visible(timeout=TIMEOUT_MS)
    assert page.locator("img").count() == 0
    assert dialogs == []


def test_the_host_sites_identity_callback_signs_the_customer_in_without_a_login_page(
    page: Page, portal_server, demo, screenshot_dir
):
    """window.PortalWidget.identity (set by the host page before the widget loads) gives
    the widget a token its server signed: Sign in uses it, no window opens."""
    calls: list[dict] = []
    secret = Channel.objects.get(slug="web-messaging").identity_secret

    def sign_for_chat(args: dict) -> dict:
        calls.append(args)
        return identity.sign(
            secret=secret, customer_id=f"demo-{args['customerId']}", identity="host-user-42"
        )

    page.expose_function("hostSignsForChat", sign_for_chat)
    page.add_init_script(
        "window.PortalWidget = { identity: (chat) => window.hostSignsForChat(chat) };"
    )
    customer_escalates(page, portal_server.url, "Sam")
    interaction = Interaction.objects.get(customer__name="Sam")
    csr = user_factory(role=Role.CSR, first_name="Alex", last_name="Morgan")
    QueueMembership.objects.create(user=csr, queue=Queue.objects.get(slug="billing"), joined=True)
    csr_status_set(user=csr, status="available")
    offer_accept(
        offer_id=Offer.objects.get(interaction=interaction, status=OfferStatus.PENDING).pk,
        user=csr,
    )
    expect(widget(page).get_by_role("status").first).to_have_text(
        "You are chatting with Alex Morgan", timeout=TIMEOUT_MS
    )

    interaction_request_authentication(interaction_id=interaction.pk, csr=csr)
    prompt = widget(page).get_by_role("group", name="Sign-in request")
    prompt.get_by_role("button", name="Sign in").click(timeout=TIMEOUT_MS)

    expect(widget(page).locator(".cpw-verified")).to_be_visible(timeout=TIMEOUT_MS)
    assert len(page.context.pages) == 1  # no login window
    assert calls and calls[0]["interactionId"] == interaction.pk
    interaction.refresh_from_db()
    assert interaction.authenticated is True
    assert interaction.customer.verified_identity == "host-user-42"
    shot(page, screenshot_dir, "auth-widget-host-identity.png")
