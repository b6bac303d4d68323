"""Accessibility as a gate: every page state of the portal and the customer widget is
checked with axe-core (WCAG 2.0/2.1/2.2 A and AA) in a real browser, and fails on any
critical or serious violation; the widget is shown at 200% zoom and 360 px wide."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from chat.demo_bot import GREETING, NOT_SURE
from chat.models import Interaction, InteractionStatus
from routing import tasks
from routing.models import Queue, QueueMembership
from routing.services.presence import csr_status_set
from tests.e2e.a11y import AxeGate, assert_accessible
from tests.e2e.pages import log_in, say, shot, widget
from tests.e2e.test_portal import TIMEOUT_MS, customer_says, demo_user, escalate
from tests.e2e.test_portal_csr_pages import accept_pending

# The portal's CSP allows no inline script, which is how Playwright injects axe-core:
# these tests alone lift it in their browser context (the product never loads axe).
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.browser_context_args(bypass_csp=True),
]


def wait_for_socket(page: Page) -> None:
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)


def test_the_csr_pages_pass_axe_in_every_state(page: Page, portal_server, demo, dialogs):
    """Login, My Work empty, with the offer pop-up, with a chat open, the Transcripts
    overlay, the transfer and end-chat dialogs, the Actions menu, Recent work and the
    read-only interaction window have no critical or serious axe violation."""
    gate = AxeGate()
    base = portal_server.url
    page.goto(f"{base}/accounts/login/")
    gate.check(page, "the login page")
    page.get_by_label("Username").fill("csr1")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
    gate.check(page, "the login page with an error")

    log_in(page, base, "csr1", "csr1-demo")
    wait_for_socket(page)
    expect(page.locator("#queues .queue").first).to_be_visible()
    gate.check(page, "My Work, empty")

    billing = page.locator('.queue[data-queue="billing"]')
    billing.get_by_role("switch").click()
    expect(billing.get_by_role("switch")).to_have_attribute("aria-checked", "true")
    page.get_by_label("Your status").select_option("available")
    expect(page.locator("#status-dot")).to_have_attribute("data-status", "available")
    gate.check(page, "My Work, Available in a queue")

    interaction = escalate(demo, name="Dana Reyes")
    popup = page.get_by_role("dialog", name=re.compile("Dana"))
    expect(popup).to_be_visible(timeout=TIMEOUT_MS)
    gate.check(page, "My Work with the offer pop-up")
    popup.get_by_role("button", name="Accept").click()
    panel = page.get_by_role("tabpanel")
    log = panel.get_by_role("log", name="Conversation")
    expect(log).to_contain_text("joined the chat", timeout=TIMEOUT_MS)
    customer_says(interaction, "Hello? Anyone there?")
    expect(log).to_contain_text("Hello? Anyone there?", timeout=TIMEOUT_MS)
    gate.check(page, "My Work with a chat open")

    panel.get_by_role("button", name="Transcripts").click()
    expect(page.get_by_role("dialog", name="Transcripts")).to_be_visible()
    gate.check(page, "the Transcripts overlay")
    page.keyboard.press("Escape")

    panel.get_by_role("button", name="Actions").click()
    expect(panel.get_by_role("menu")).to_be_visible()
    gate.check(page, "the Actions menu")
    panel.get_by_role("menuitem", name="Transfer interaction").click()
    transfer = page.get_by_role("dialog", name="Transfer interaction")
    expect(transfer).to_be_visible()
    gate.check(page, "the transfer dialog")
    transfer.get_by_role("button", name="Cancel").click()

    panel.get_by_role("button", name="Actions").click()
    panel.get_by_role("menuitem", name="End chat").click()
    confirm = page.get_by_role("alertdialog", name="End chat?")
    expect(confirm).to_be_visible()
    gate.check(page, "the end-chat dialog")
    confirm.get_by_role("button", name="End chat").click()
    expect(log).to_contain_text("ended the chat", timeout=TIMEOUT_MS)
    gate.check(page, "My Work with an ended chat")

    page.get_by_role("link", name="Recent work").click()
    expect(page.locator("#recent-work")).to_contain_text("Dana Reyes")
    gate.check(page, "Recent work")
    page.locator("#recent-work").get_by_role("link", name=str(interaction.pk)).click()
    expect(page.get_by_role("log", name="Conversation")).to_contain_text("Hello? Anyone there?")
    gate.check(page, "the interaction window, read-only")
    gate.assert_clean()
    assert dialogs == []


def test_the_manager_pages_and_error_pages_pass_axe(page: Page, portal_server, demo, dialogs):
    """The manager's live page, the manager watching a live chat, and the 403 and 404
    pages have no critical or serious axe violation."""
    gate = AxeGate()
    csr1 = demo_user("csr1")
    QueueMembership.objects.filter(user=csr1, queue__slug="billing").update(joined=True)
    csr_status_set(user=csr1, status="available")
    interaction = escalate(demo, name="Watched Customer")
    accept_pending(interaction, csr1)
    assert Interaction.objects.get(pk=interaction.pk).status == InteractionStatus.ACTIVE

    log_in(page, portal_server.url, "manager", "manager-demo")
    expect(page.get_by_role("heading", name="Live interactions")).to_be_visible()
    gate.check(page, "the manager's live interactions")
    page.get_by_role("link", name=str(interaction.pk)).click()
    log = page.get_by_role("log", name="Conversation")
    expect(log).to_contain_text("I was charged twice", timeout=TIMEOUT_MS)
    customer_says(interaction, "Is anyone watching?")
    expect(log).to_contain_text("Is anyone watching?", timeout=TIMEOUT_MS)
    gate.check(page, "the manager watching a live chat")

    reply = page.goto(f"{portal_server.url}/no-such-page/")
    assert reply is not None and reply.status == 404
    gate.check(page, "the 404 page")
    page.context.clear_cookies()
    log_in(page, portal_server.url, "csr2", "csr2-demo")
    wait_for_socket(page)
    reply = page.goto(f"{portal_server.url}/interactions/{interaction.pk}/")
    assert reply is not None and reply.status == 403
    gate.check(page, "the 403 page")
    gate.assert_clean()
    assert dialogs == []


def test_the_widget_passes_axe_in_every_state(page: Page, portal_server, demo, dialogs):
    """The demo page with the widget closed, the bot conversation, the queued customer,
    the wait card after the queue's maximum wait (and its message form) and the live
    chat with a CSR have no critical or serious axe violation."""
    gate = AxeGate()
    page.goto(f"{portal_server.url}/demo/")
    launcher = page.get_by_role("button", name="Chat with us")
    expect(launcher).to_be_visible()
    gate.check(page, "the demo page, widget closed")
    launcher.click()
    log = widget(page).get_by_role("log", name="Conversation")
    expect(log).to_contain_text(GREETING, timeout=TIMEOUT_MS)
    say(page, "I'm Dana")
    expect(log).to_contain_text("Nice to meet you, Dana.", timeout=TIMEOUT_MS)
    say(page, "I was charged twice for one order")
    expect(log).to_contain_text(NOT_SURE, timeout=TIMEOUT_MS)
    gate.check(page, "the widget, bot conversation")

    widget(page).get_by_role("button", name="Talk to an agent").click()
    status = widget(page).get_by_role("status")
    expect(status).to_have_text(re.compile(r"^You are number 1 in the queue"), timeout=TIMEOUT_MS)
    gate.check(page, "the widget, queued")

    # Waited past the queue's maximum: the wait card, then its follow-up message form.
    interaction = Interaction.objects.get(customer__name="Dana")
    Queue.objects.filter(slug="billing").update(max_wait_seconds=60)
    Interaction.objects.filter(pk=interaction.pk).update(
        queued_at=timezone.now() - timedelta(seconds=61)
    )
    tasks.long_waits_check(interaction.queue_id)
    choice = widget(page).get_by_role("group", name="You have waited a while")
    expect(choice).to_contain_text("You have waited 1 minute", timeout=TIMEOUT_MS)
    gate.check(page, "the widget, the wait card")
    choice.get_by_role("button", name="Leave a message").click()
    expect(choice.get_by_role("textbox", name="Your message for follow-up")).to_be_visible()
    gate.check(page, "the widget, leaving a message")
    choice.get_by_role("button", name="Back").click()
    choice.get_by_role("button", name="Keep waiting").click()
    expect(choice).to_be_hidden(timeout=TIMEOUT_MS)

    csr1 = demo_user("csr1")
    QueueMembership.objects.filter(user=csr1, queue__slug="billing").update(joined=True)
    csr_status_set(user=csr1, status="available")
    accept_pending(interaction, csr1)
    expect(status).to_have_text(re.compile(r"^You are chatting with "), timeout=TIMEOUT_MS)
    say(page, "Thanks for taking this")
    expect(log).to_contain_text("Thanks for taking this")
    gate.check(page, "the widget, mid-chat")
    gate.assert_clean()
    assert dialogs == []


@pytest.mark.parametrize(
    ("name", "viewport", "zoom"),
    [("360px", {"width": 360, "height": 740}, 1), ("zoom-200", {"width": 1280, "height": 800}, 2)],
)
def test_the_widget_works_at_200_percent_zoom_and_360_px_wide(
    browser, portal_server, demo, transactional_db, screenshot_dir, name, viewport, zoom
):
    """At 360 px wide, and at 200% zoom (a 1280 × 800 window at device scale 2 lays out
    like 640 × 400 CSS px), the widget opens, fits the screen without horizontal
    scrolling, leaves the conversation room to read, and the customer can write to the
    bot; axe finds nothing serious."""
    width = viewport["width"] // zoom
    height = viewport["height"] // zoom
    context = browser.new_context(
        viewport={"width": width, "height": height},
        device_scale_factor=zoom,
        locale="en-GB",
        bypass_csp=True,
    )
    page = context.new_page()
    try:
        page.goto(f"{portal_server.url}/demo/")
        page.get_by_role("button", name="Chat with us").click()
        log = widget(page).get_by_role("log", name="Conversation")
        expect(log).to_contain_text(GREETING, timeout=TIMEOUT_MS)
        say(page, "I'm Dana")
        expect(log).to_contain_text("Nice to meet you, Dana.", timeout=TIMEOUT_MS)
        box = widget(page).bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, box
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        # The conversation keeps room to read (a short window gets the whole-window panel).
        conversation = log.bounding_box()
        assert conversation is not None and conversation["height"] >= 150, conversation
        send = widget(page).get_by_role("button", name="Send")
        expect(send).to_be_in_viewport()
        expect(widget(page).get_by_role("textbox", name="Message")).to_be_in_viewport()
        shot(page, screenshot_dir, f"widget-{name}.png")
        assert_accessible(page, f"the widget at {name}")
    finally:
        context.close()
