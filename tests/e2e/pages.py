"""Helpers the browser tests share: logging in, screenshots, the demo widget."""

import re
from pathlib import Path

from playwright.sync_api import Page, expect


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
