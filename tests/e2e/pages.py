"""Helpers the browser tests share: logging in, screenshots, the demo widget."""

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from chat.demo_bot import NOT_SURE

# How long the widget may take to show what the demo bot and the server answer.
WIDGET_TIMEOUT_MS = 15_000


def shot(page: Page, directory: Path, name: str) -> None:
    page.screenshot(path=str(directory / name))


def log_in(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def widget(page: Page):
    return page.get_by_role("dialog", name="Northwind Bank")


def say(page: Page, text: str) -> None:
    box = widget(page).get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def customer_escalates(
    page: Page, base: str, name: str, says: str = "I was charged twice for one order"
) -> None:
    """The customer opens the widget on /demo/, gives the demo bot their name, says
    `says` (which it does not understand) and asks for an agent: the chat is queued."""
    page.goto(f"{base}/demo/")
    page.get_by_role("button", name="Chat with us").click()
    log = widget(page).get_by_role("log", name="Conversation")
    say(page, f"I'm {name}")
    expect(log).to_contain_text(f"Nice to meet you, {name}.", timeout=WIDGET_TIMEOUT_MS)
    say(page, says)
    expect(log).to_contain_text(NOT_SURE, timeout=WIDGET_TIMEOUT_MS)
    widget(page).get_by_role("button", name="Talk to an agent").click()
    expect(widget(page).get_by_role("status").first).to_contain_text(
        "in the queue", timeout=WIDGET_TIMEOUT_MS
    )
