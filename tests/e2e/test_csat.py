"""The satisfaction survey in real browsers: the customer ends the chat, the widget asks
for a rating (an accessible radio group, an optional comment), the answer is thanked;
the CSR's open panel shows the rating live, and Recent work lists it."""

import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from chat.models import SatisfactionRating
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
QUESTION = "How satisfied are you with this chat?"


def test_the_customer_rates_the_chat_and_the_csr_sees_it(
    page: Page, csr_page: Page, portal_server, demo, dialogs
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = portal_server.url
    interaction = customer_reaches_a_csr(page, base)
    log_in(csr_page, base, "csr1", "csr1-demo")
    open_window(csr_page, base, interaction)
    panel = csr_page.locator("[data-panel]")
    expect(panel.locator('[data-field="csat"]')).to_be_hidden()

    widget(page).get_by_role("button", name="End chat").click()
    survey = widget(page).get_by_role("group", name=QUESTION)
    expect(survey).to_be_visible(timeout=TIMEOUT_MS)
    for label in ("1 – Very dissatisfied", "3 – Neither satisfied nor dissatisfied"):
        expect(survey.get_by_role("radio", name=label)).to_be_visible()
    assert_accessible(page, "the satisfaction survey", context=".cpw-csat")
    shot(page, SHOTS, "csat-widget-survey.png")

    # Send without a rating: told what to do, nothing stored.
    send = widget(page).get_by_role("button", name="Send rating")
    send.click()
    expect(widget(page).locator(".cpw-csat-status")).to_have_text("Choose a rating from 1 to 5.")
    assert SatisfactionRating.objects.get(interaction=interaction).rating is None

    # By keyboard: the radio group takes arrow keys.
    survey.get_by_role("radio", name="3 – Neither satisfied nor dissatisfied").check()
    page.keyboard.press("ArrowDown")
    expect(survey.get_by_role("radio", name="4 – Satisfied")).to_be_checked()
    widget(page).get_by_label("Comment (optional)").fill("Alex sorted it quickly.")
    send.click()
    expect(widget(page).locator(".cpw-csat-thanks")).to_contain_text(
        "Thank you for your feedback", timeout=TIMEOUT_MS
    )
    shot(page, SHOTS, "csat-widget-thanks.png")

    rating = SatisfactionRating.objects.get(interaction=interaction)
    assert (rating.rating, rating.comment, rating.answered_via) == (
        4,
        "Alex sorted it quickly.",
        "widget",
    )
    # The CSR's open panel: the header badge and the internal line, live.
    expect(panel.locator('[data-field="csat"]')).to_contain_text(
        "Customer rating: 4/5 – Satisfied", timeout=TIMEOUT_MS
    )
    expect(panel.locator('[data-field="log"]')).to_contain_text(
        "Customer rated this chat 4/5: “Alex sorted it quickly.”"
    )
    shot(csr_page, SHOTS, "csat-panel-rating.png")
    # The customer never sees that line.
    expect(widget(page).get_by_role("log", name="Conversation")).not_to_contain_text(
        "Customer rated"
    )

    # Recent work lists the rating; the read-only window shows it.
    csr_page.goto(f"{base}/recent/")
    row = csr_page.locator(f'tr[data-interaction="{interaction.pk}"]')
    expect(row.locator('[data-field="rating"]')).to_have_text("4/5")
    # Every column, the last (Transcript) included, fits its card in a 1280-pixel window.
    assert csr_page.viewport_size["width"] == 1280
    card = csr_page.get_by_role("region", name="Interactions").bounding_box()
    transcript = row.get_by_role("link", name="Download transcript").bounding_box()
    assert card is not None and transcript is not None
    assert transcript["x"] + transcript["width"] <= card["x"] + card["width"]
    assert_accessible(csr_page, "Recent work with a rating")
    shot(csr_page, SHOTS, "csat-recent-work.png")
    csr_page.goto(f"{base}/interactions/{interaction.pk}/")
    expect(csr_page.locator('[data-panel] [data-field="csat"]')).to_contain_text("4/5")

    # A reload of the customer's page does not ask again.
    page.reload()
    expect(widget(page).get_by_role("log", name="Conversation")).to_contain_text(
        "The customer ended the chat", timeout=TIMEOUT_MS
    )
    page.wait_for_timeout(1000)
    expect(widget(page).get_by_role("group", name=QUESTION)).to_have_count(0)
    assert dialogs == []
