"""The typing preview in real browsers: on a channel that turned it on the widget says so
and the CSR's panel shows the customer's draft before it is sent; by default neither."""

import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from chat.models import Channel, Message
from tests.e2e.a11y import assert_accessible
from tests.e2e.pages import log_in, shot, widget
from tests.e2e.test_assist import customer_reaches_a_csr, open_window
from tests.e2e.test_portal import TIMEOUT_MS

# axe is injected as a script: the test browsers bypass the CSP (as test_accessibility).
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.browser_context_args(bypass_csp=True),
]

SHOTS = Path(tempfile.gettempdir()) / "csat" / "shots"
NOTICE = "The agent can see what you type before you send it."


def test_the_csr_sees_the_draft_when_the_channel_turned_it_on(
    page: Page, csr_page: Page, portal_server, demo, dialogs
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    Channel.objects.filter(slug="web-messaging").update(typing_preview=True)
    base = portal_server.url
    interaction = customer_reaches_a_csr(page, base)
    log_in(csr_page, base, "csr1", "csr1-demo")
    open_window(csr_page, base, interaction)
    preview = csr_page.locator('[data-panel] [data-field="typing-preview"]')

    expect(widget(page).get_by_text(NOTICE)).to_be_visible(timeout=TIMEOUT_MS)
    box = widget(page).get_by_role("textbox", name="Message")
    expect(box).to_have_attribute("aria-describedby", "cpw-hint cpw-preview-notice")
    box.press_sequentially("My card ends in 4417", delay=40)
    expect(preview).to_have_text("Dana is typing: My card ends in 4417", timeout=TIMEOUT_MS)
    expect(preview).to_have_attribute("aria-live", "off")
    assert not Message.objects.filter(text__contains="4417").exists()
    shot(page, SHOTS, "typing-preview-widget.png")
    shot(csr_page, SHOTS, "typing-preview-panel.png")
    assert_accessible(page, "the widget with the typing preview notice", context="#cpw-panel")
    assert_accessible(csr_page, "the chat panel with a typing preview")

    box.press("Enter")
    expect(csr_page.locator('[data-panel] [data-field="log"]')).to_contain_text(
        "My card ends in 4417", timeout=TIMEOUT_MS
    )
    expect(preview).to_be_hidden()
    assert dialogs == []


def test_by_default_no_notice_and_no_draft(
    page: Page, csr_page: Page, portal_server, demo, dialogs
):
    base = portal_server.url
    interaction = customer_reaches_a_csr(page, base)
    log_in(csr_page, base, "csr1", "csr1-demo")
    open_window(csr_page, base, interaction)
    box = widget(page).get_by_role("textbox", name="Message")
    box.press_sequentially("Secret draft", delay=40)
    expect(csr_page.locator('[data-panel] [data-field="typing"]')).to_contain_text(
        "is typing", timeout=TIMEOUT_MS
    )
    expect(widget(page).get_by_text(NOTICE)).to_be_hidden()
    csr_page.wait_for_timeout(800)
    expect(csr_page.locator('[data-panel] [data-field="typing-preview"]')).to_be_hidden()
    expect(csr_page.locator("[data-panel]")).not_to_contain_text("Secret draft")
    assert dialogs == []
