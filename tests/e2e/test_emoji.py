"""Emoji in a real browser, both directions: the customer picks one in the widget's
emoji picker (emoji-picker-element, vendored with its data), the CSR completes
`:shortcode:` in the panel's composer; both arrive intact as plain Unicode, and no
request leaves for a third-party host (the picker's data comes from our static files)."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from chat.models import Message, SenderKind
from tests.e2e.pages import widget
from tests.e2e.test_attachments import SHOTS, TIMEOUT_MS, chat, csr_page, customer_page

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

__all__ = ["chat"]  # the fixture


def test_emoji_both_ways_and_no_third_party_request(
    page: Page,
    browser: Browser,
    portal_server,
    chat,
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = portal_server.url
    hosts: set[str] = set()

    def record(request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme not in ("data", "blob"):
            hosts.add(parts.netloc)

    csr = csr_page(page, base, chat)
    csr.context.on("request", record)
    customer = customer_page(browser, base, chat)
    customer.context.on("request", record)
    w = widget(customer)

    # The customer: the picker, a search, a pick; the emoji goes in at the caret.
    box = w.get_by_role("textbox", name="Message")
    box.fill("Thanks ")
    button = w.get_by_role("button", name="Insert emoji")
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    picker = customer.locator("emoji-picker")
    search = picker.get_by_role("combobox")
    expect(search).to_be_visible(timeout=TIMEOUT_MS)
    search.fill("thumbs up")
    option = picker.get_by_role("option").first
    expect(option).to_be_visible(timeout=TIMEOUT_MS)
    chosen = option.text_content().strip()
    assert chosen.startswith("👍")
    customer.screenshot(path=str(SHOTS / "widget-emoji-picker.png"))
    option.click()
    expect(box).to_have_value(f"Thanks {chosen}")
    search.press("Escape")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(box).to_be_focused()
    box.press("Enter")

    log = csr.get_by_role("log", name="Conversation")
    expect(log).to_contain_text(f"Thanks {chosen}", timeout=TIMEOUT_MS)

    # The CSR: `:grin` offers matches; Enter takes the first; the message goes out.
    composer = csr.locator("[data-panel]").get_by_role("textbox", name="Message")
    composer.press_sequentially("Glad to help :grinn")
    suggestions = csr.get_by_role("listbox", name="Emoji suggestions")
    expect(suggestions).to_be_visible(timeout=TIMEOUT_MS)
    first = suggestions.get_by_role("option").first
    expect(first).to_have_attribute("aria-selected", "true")
    emoji = first.locator(".att-shortcodes__emoji").text_content()
    csr.screenshot(path=str(SHOTS / "panel-shortcode.png"))
    composer.press("Enter")
    expect(composer).to_have_value(f"Glad to help {emoji}")
    expect(suggestions).to_be_hidden()
    composer.press("Enter")
    expect(w.get_by_role("log", name="Conversation")).to_contain_text(
        f"Glad to help {emoji}", timeout=TIMEOUT_MS
    )

    texts = dict(
        Message.objects.filter(interaction_id=chat.id)
        .exclude(sender_kind=SenderKind.SYSTEM)
        .values_list("sender_kind", "text")
    )
    assert texts == {"customer": f"Thanks {chosen}", "csr": f"Glad to help {emoji}"}
    assert hosts == {urlsplit(base).netloc}, hosts
    customer.context.close()
