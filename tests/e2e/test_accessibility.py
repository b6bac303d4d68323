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
    status = widget(page).locator("#cpw-status")
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


def test_the_case_assistant_and_case_pages_pass_axe(page: Page, portal_server, demo, dialogs):
    """The chat panel's Case tab with suggestions, the case form pre-filled (reminding to
    authenticate) and with field errors, the Cases page and a case's page have no
    critical or serious axe violation (tests/e2e/test_cases.py walks them by keyboard)."""
    from cases.models import CaseType
    from cases.services import case_create

    gate = AxeGate()
    csr1 = demo_user("csr1")
    QueueMembership.objects.filter(user=csr1).update(joined=True)
    csr_status_set(user=csr1, status="available")
    interaction = escalate(demo, name="Casey Case", intent="card_dispute")
    accept_pending(interaction, csr1)
    customer_says(interaction, "someone took £250 from my card on Monday")
    log_in(page, portal_server.url, "csr1", "csr1-demo")
    wait_for_socket(page)
    panel = page.locator(f"#panel-{interaction.pk}")
    panel.get_by_role("tab", name="Case").click()
    expect(panel.locator(".case-suggestion").first).to_contain_text(
        "Dispute a card payment", timeout=TIMEOUT_MS
    )
    gate.check(page, "the case assistant's suggestions")
    panel.get_by_role("button", name="Open form: Dispute a card payment").click()
    form = panel.locator('[data-field="case-form"]')
    expect(form.get_by_role("textbox", name="Amount (required)")).to_have_value("250.00")
    gate.check(page, "the case form, pre-filled, reminding to authenticate")
    form.get_by_role("textbox", name="Amount (required)").fill("")
    form.get_by_role("button", name="Save case").click()
    expect(form.locator('[data-field="case-form-error"]')).to_be_visible(timeout=TIMEOUT_MS)
    gate.check(page, "the case form with errors")

    Interaction.objects.filter(pk=interaction.pk).update(authenticated=True)
    case = case_create(
        interaction_id=interaction.pk,
        case_type_id=CaseType.objects.get(prefix="DSP").pk,
        values={"amount": "250", "payment_date": "2026-11-23", "reason": "Other"},
        csr=csr1,
    )
    page.goto(f"{portal_server.url}/cases/")
    expect(page.locator("#cases")).to_contain_text(case.reference)
    gate.check(page, "the Cases page")
    page.get_by_role("link", name=case.reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(case.reference)
    gate.check(page, "a case's page")
    gate.assert_clean()
    assert dialogs == []


def test_the_manager_tools_pass_axe(page: Page, portal_server, demo, dialogs):
    """The manager tools (Queues, CSRs, Chat activity, System health, a queue's CSRs)
    with a waiting and an active chat, an alert, and the join bar of a watched chat have
    no critical or serious axe violation."""
    gate = AxeGate()
    base = portal_server.url
    waiting = escalate(demo, name="Waiting Customer")
    watched = escalate(demo, name="Watched Customer")
    Interaction.objects.filter(pk=watched.pk).update(
        status=InteractionStatus.ACTIVE, assigned_csr=demo_user("csr1"), accepted_at=timezone.now()
    )
    log_in(page, base, "manager", "manager-demo")
    for path, name in (
        ("/supervision/", "Manager tools: Queues"),
        ("/supervision/csrs/", "Manager tools: CSRs"),
        ("/supervision/chats/", "Manager tools: Chat activity"),
        ("/supervision/health/", "Manager tools: System health"),
        (f"/supervision/queues/{waiting.queue_id}/members/", "Manager tools: a queue's CSRs"),
    ):
        page.goto(f"{base}{path}")
        expect(page.locator("#sv-live")).to_have_text("Live", timeout=TIMEOUT_MS)
        gate.check(page, name)
    page.goto(f"{base}/interactions/{watched.pk}/")
    expect(page.locator("#sv-join-state")).to_contain_text("monitoring", timeout=TIMEOUT_MS)
    gate.check(page, "the join bar of a watched chat")
    gate.assert_clean()
    assert dialogs == []


def test_the_reports_and_dashboards_pass_axe(page: Page, portal_server, transactional_db):
    """Reports (filtered, a table view open), the drill-down list, a manager's dashboard
    with a chart, a table and a figure, and a CSR's dashboard have no critical or serious
    axe violation; the report's filters, table views and widget buttons work by keyboard."""
    from tests.reports.conftest import build_history

    history = build_history()
    gate = AxeGate()
    log_in(page, portal_server.url, "boss", "pass-word-123")
    page.goto(f"{portal_server.url}/reports/?range=custom&start=2026-11-10&end=2026-11-10")
    expect(page.locator("[data-block='period'] canvas")).to_have_attribute("data-drawn", "true")
    summary = page.locator("[data-block='queue'] summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-block='queue'] details")).to_have_attribute("open", "")
    gate.check(page, "the Reports page with a table view open")
    page.locator("[data-block='queue'] tbody a").first.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("table", name=re.compile("Interactions"))).to_be_visible()
    gate.check(page, "the drill-down list")
    page.goto(f"{portal_server.url}/dashboard/")
    for kind, source in (("chart", "period"), ("table", "queue"), ("metric", "wait_p90")):
        form = page.locator("#add-widget")
        form.get_by_label("Show", exact=True).select_option(kind)
        form.get_by_label("Figure, chart or table", exact=True).select_option(source)
        form.get_by_label("Date range", exact=True).select_option("30d")
        form.get_by_role("button", name="Add widget").press("Enter")
        page.wait_for_load_state()
    expect(page.locator("article.widget")).to_have_count(3)
    gate.check(page, "a manager's dashboard with three widgets")
    page.context.clear_cookies()
    log_in(page, portal_server.url, history.csr1.username, "pass-word-123")
    page.goto(f"{portal_server.url}/dashboard/")
    gate.check(page, "a CSR's empty dashboard")
    gate.assert_clean()


def test_co_browse_passes_axe_in_every_state(page: Page, browser, portal_server, demo, dialogs):
    """The consent prompt, the sharing bar, the Add task menu, the panel with the viewer
    and the viewer page have no critical or serious axe violation."""
    from cobrowse.models import CobrowseSession
    from tests.e2e.test_cobrowse import (
        chat_for_csr1,
        csr_panel,
        customer_in_chat,
        replay,
        start_from_actions,
    )

    base = portal_server.url
    gate = AxeGate()
    interaction, token = chat_for_csr1(demo)
    customer_context = browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="en-GB", bypass_csp=True
    )
    try:
        customer = customer_in_chat(customer_context, base, interaction, token)
        panel = csr_panel(page, base, interaction)
        panel.get_by_role("button", name="Add task").click()
        expect(panel.get_by_role("group", name="Add task")).to_contain_text("Co-Browsing Session")
        gate.check(page, "the Add task menu")
        page.keyboard.press("Escape")
        start_from_actions(panel)
        prompt = customer.get_by_role("alertdialog", name=re.compile("would like to see"))
        expect(prompt).to_be_visible(timeout=TIMEOUT_MS)
        gate.check(customer, "the customer's consent prompt")
        gate.check(page, "the chat panel waiting for consent")
        prompt.get_by_role("button", name="Allow").click()
        expect(customer.get_by_role("region", name="Co-browse")).to_be_visible(timeout=TIMEOUT_MS)
        gate.check(customer, "the customer's page while sharing")
        expect(replay(page).get_by_role("heading", name="How can we help?")).to_be_visible(
            timeout=TIMEOUT_MS
        )
        gate.check(page, "the chat panel with the live viewer")
        session = CobrowseSession.objects.get(interaction=interaction)
        page.goto(f"{base}/cobrowse/{session.pk}/viewer/")
        expect(page.locator('[data-field="status"]')).to_contain_text("Live", timeout=TIMEOUT_MS)
        gate.check(page, "the viewer page", context=".cbv__bar")
        page.get_by_role("button", name="Point").focus()
        page.keyboard.press("Enter")
        page.keyboard.press("ArrowRight")
        expect(page.get_by_role("application", name=re.compile("^Point at"))).to_be_focused()
        gate.check(page, "the viewer page pointing by keyboard", context=".cbv__main")
    finally:
        customer_context.close()
    gate.assert_clean()
    assert dialogs == []


def test_attachments_and_emoji_pass_axe_and_work_by_keyboard(
    page: Page, portal_server, transactional_db, browser
):
    """Both sides of a chat with files: the widget's tray (ready and refused files), its
    conversation with a thumbnail and a card, its lightbox and emoji picker; the panel's
    files, lightbox, emoji picker and :shortcode: list. The lightbox opens with Enter on
    a thumbnail and Escape gives the focus back."""
    from chat.selectors.settings import app_studio_cache_invalidate
    from config.users import Role as Roles
    from tests.chat.conftest import make_live_chat
    from tests.e2e.test_attachments import (
        EXE,
        PASSWORD,
        PDF,
        attach,
        csr_page,
        customer_page,
        png,
    )
    from tests.factories import user_factory

    app_studio_cache_invalidate()
    csr_user = user_factory(role=Roles.CSR, password=PASSWORD, first_name="Sam")
    chat = make_live_chat(csr=csr_user, context={"order": "A-1009"})
    gate = AxeGate()
    base = portal_server.url
    customer = customer_page(browser, base, chat, bypass_csp=True)
    w = widget(customer)
    attach(w, [{"name": "photo.png", "mimeType": "image/png", "buffer": png()}])
    attach(w, [{"name": "virus.exe", "mimeType": "image/png", "buffer": EXE}])
    expect(w.get_by_text("Ready to send", exact=True)).to_be_visible(timeout=TIMEOUT_MS)
    expect(w.get_by_role("alert").filter(has_text="virus.exe")).to_be_visible(timeout=TIMEOUT_MS)
    gate.check(customer, "the widget, files in the tray")
    w.get_by_role("button", name="Dismiss virus.exe").click()
    attach(w, [{"name": "terms.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    expect(w.get_by_text("Ready to send", exact=True)).to_have_count(2, timeout=TIMEOUT_MS)
    w.get_by_role("textbox", name="Message").press("Enter")
    thumb = w.get_by_role("button", name=re.compile(r"^Open image photo\.png"))
    expect(thumb).to_be_visible(timeout=TIMEOUT_MS)
    gate.check(customer, "the widget, files in the conversation")
    thumb.focus()
    customer.keyboard.press("Enter")
    lightbox = customer.get_by_role("dialog", name="photo.png")
    expect(lightbox).to_be_visible()
    gate.check(customer, "the widget, the lightbox")
    customer.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()
    expect(thumb).to_be_focused()
    w.get_by_role("button", name="Insert emoji").click()
    expect(customer.locator("emoji-picker").get_by_role("combobox")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    gate.check(customer, "the widget, the emoji picker")
    customer.keyboard.press("Escape")
    expect(w.get_by_role("textbox", name="Message")).to_be_focused()

    csr = csr_page(page, base, chat)
    log = csr.get_by_role("log", name="Conversation")
    panel_thumb = log.get_by_role("button", name=re.compile(r"^Open image photo\.png"))
    expect(panel_thumb).to_be_visible(timeout=TIMEOUT_MS)
    expect(log.get_by_role("link", name=re.compile(r"^Download terms\.pdf"))).to_be_visible()
    gate.check(csr, "the chat panel, files in the conversation")
    panel_thumb.focus()
    csr.keyboard.press("Enter")
    expect(csr.get_by_role("dialog", name="photo.png")).to_be_visible()
    gate.check(csr, "the chat panel, the lightbox")
    csr.keyboard.press("Escape")
    expect(panel_thumb).to_be_focused()
    composer = csr.locator("[data-panel]").get_by_role("textbox", name="Message")
    composer.press_sequentially(":smil")
    expect(csr.get_by_role("listbox", name="Emoji suggestions")).to_be_visible(timeout=TIMEOUT_MS)
    gate.check(csr, "the chat panel, :shortcode: suggestions")
    composer.press("Escape")
    composer.fill("")
    panel = csr.locator("[data-panel]")
    attach(panel, [{"name": "form.txt", "mimeType": "text/plain", "buffer": b"hello"}])
    expect(panel.get_by_text("Ready to send", exact=True)).to_be_visible(timeout=TIMEOUT_MS)
    panel.get_by_role("button", name="Insert emoji").click()
    expect(csr.locator("emoji-picker").get_by_role("combobox")).to_be_visible(timeout=TIMEOUT_MS)
    gate.check(csr, "the chat panel, a file in the tray and the emoji picker")
    customer.context.close()
    gate.assert_clean()


def test_the_assist_tabs_and_my_phrases_pass_axe(page: Page, portal_server, demo, dialogs):
    """The chat panel's Assist tab with suggestions, the /shortcut list, the Knowledge
    tab with an article open and a refused page push, My phrases (with an error) and a
    public help article have no critical or serious axe violation."""
    from tests.e2e.test_assist import csr_takes

    gate = AxeGate()
    base = portal_server.url
    interaction = escalate(demo, name="Dana Reyes")
    csr_takes(interaction)
    log_in(page, base, "csr1", "csr1-demo")
    page.goto(f"{base}/interactions/{interaction.pk}/")
    panel = page.locator("[data-panel]")
    expect(panel).to_have_attribute("data-connection", "open", timeout=TIMEOUT_MS)
    panel.get_by_role("tab", name="Assist").click()
    customer_says(interaction, "I lost my card yesterday")
    expect(panel.locator('[data-field="suggestions"] li').first).to_contain_text(
        "lost", timeout=TIMEOUT_MS
    )
    gate.check(page, "the chat panel, Assist tab with suggestions")
    box = panel.get_by_role("textbox", name="Message")
    box.press_sequentially("/g")
    expect(page.get_by_role("listbox", name="Phrases")).to_be_visible()
    gate.check(page, "the chat panel, /shortcut completion")
    box.press("Escape")
    box.fill("")
    panel.get_by_role("tab", name="Knowledge").click()
    panel.get_by_role("searchbox", name="Search articles").fill("statement")
    expect(panel.locator('[data-field="kb-results"] li').first).to_contain_text(
        "statements", timeout=TIMEOUT_MS
    )
    panel.get_by_role("button", name="Download your statements").click()
    expect(panel.locator('[data-field="kb-article"]')).to_be_visible()
    panel.get_by_label("Web page address").fill("https://evil.example/")
    panel.get_by_role("button", name="Push page", exact=True).last.click()
    expect(panel.locator('[data-field="push-error"]')).to_be_visible(timeout=TIMEOUT_MS)
    gate.check(page, "the chat panel, Knowledge tab with an article and a refused push")

    page.goto(f"{base}/assist/phrases/")
    page.get_by_label("Title").fill("Bad one")
    page.get_by_label("Text").fill("Hello {nobody}")
    page.get_by_role("button", name="Add phrase").click()
    expect(page.get_by_role("alert")).to_contain_text("Unknown placeholder")
    gate.check(page, "My phrases with an error")
    page.goto(f"{base}/help/articles/lost-or-stolen-card/")
    gate.check(page, "a public help article")
    gate.assert_clean()
    assert dialogs == []
