"""Chat panel element (2), the customer's sentiment, in a real browser against a real
ASGI server: "Not yet scored" until the customer writes, then the label (in words and
colour) follows the customer's messages live — negative, then positive — with the score,
the messages and the trend in a tooltip that keyboard focus opens, and the same state
after a reload. The customer side is driven with the chat services; the scoring task
runs in this process (eager Celery) and its event reaches the browser through Redis."""

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from chat.models import SenderKind
from chat.services.messages import message_send
from config.users import Role
from tests.chat.conftest import make_live_chat
from tests.factories import user_factory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TIMEOUT_MS = 15_000
PASSWORD = "sentiment-pass-123"
ANGRY = "This is ridiculous, I've been charged twice and nobody helps 😡"
HAPPY = "Thank you so much, that's perfect, all fixed! 😊"


@pytest.fixture
def chat(transactional_db, portal_server):
    csr = user_factory(role=Role.CSR, password=PASSWORD, first_name="Sam", last_name="Lee")
    return make_live_chat(csr=csr)


def customer_says(chat, text: str) -> None:
    message_send(
        interaction_id=chat.id,
        sender_kind=SenderKind.CUSTOMER,
        text=text,
        client_msg_id=str(uuid.uuid4()),
    )


def open_chat(page: Page, base: str, chat) -> None:
    page.goto(f"{base}/accounts/login/?next=/interactions/{chat.id}/")
    page.get_by_label("Username").fill(chat.csr.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}/interactions/{chat.id}/")
    expect(page.locator("[data-panel]")).to_have_attribute(
        "data-connection", "open", timeout=TIMEOUT_MS
    )


def test_sentiment_turns_negative_then_positive_live(
    page: Page, portal_server, chat, screenshot_dir
):
    """The CSR's panel: Not yet scored → Negative (red) after an angry message →
    Positive (green) after a thankful one, each time without a reload; focus shows the
    tooltip with the score, the messages and the trend; a reload keeps Positive."""
    base = portal_server.url
    open_chat(page, base, chat)
    indicator = page.locator('[data-field="sentiment"]')
    label = indicator.locator('[data-field="sentiment-label"]')
    expect(indicator).to_be_visible()
    expect(label).to_have_text("Not yet scored")
    expect(indicator).to_have_attribute("data-sentiment", "none")

    customer_says(chat, ANGRY)
    log = page.get_by_role("log", name="Conversation")
    expect(log).to_contain_text("charged twice", timeout=TIMEOUT_MS)
    expect(label).to_have_text("Negative", timeout=TIMEOUT_MS)
    expect(indicator).to_have_attribute("data-sentiment", "negative")
    red = indicator.evaluate("node => getComputedStyle(node).color")
    assert red == "rgb(180, 35, 24)"  # --danger

    customer_says(chat, HAPPY)
    expect(label).to_have_text("Positive", timeout=TIMEOUT_MS)
    expect(indicator).to_have_attribute("data-sentiment", "positive")
    green = indicator.evaluate("node => getComputedStyle(node).color")
    assert green == "rgb(19, 122, 59)"  # --ok

    # Keyboard focus opens the tooltip: score, both messages (newest first), the trend.
    tip = page.get_by_role("tooltip")
    expect(tip).to_be_hidden()
    indicator.focus()
    expect(tip).to_be_visible()
    expect(tip).to_contain_text(re.compile(r"Positive, score \+0\.\d\d on a scale from −1 to \+1"))
    expect(tip).to_contain_text("from the customer's last 2 messages")
    sources = tip.locator("li")
    expect(sources).to_have_count(2)
    expect(sources.first).to_contain_text("all fixed")
    expect(sources.last).to_contain_text("charged twice")
    expect(tip.locator("svg circle")).to_have_count(2)
    expect(tip).to_contain_text("Trend, last 2 messages")
    description = indicator.evaluate(
        "node => document.getElementById(node.getAttribute('aria-describedby')).textContent"
    )
    assert "Positive, score" in description
    page.screenshot(path=str(screenshot_dir / "sentiment-positive-tooltip.png"))
    page.keyboard.press("Escape")
    expect(tip).to_be_hidden()

    page.reload()
    expect(page.locator("[data-panel]")).to_have_attribute(
        "data-connection", "open", timeout=TIMEOUT_MS
    )
    expect(label).to_have_text("Positive")
    indicator.hover()
    expect(tip).to_be_visible()
    expect(tip.locator("li")).to_have_count(2)
