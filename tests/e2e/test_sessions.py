"""A CSR who logs out in one tab loses the portal in every other tab of that browser at
once: the sockets are closed (4401) and the pages go to the login page, instead of
going on sending, taking chats and setting the status."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.pages import log_in, shot

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TIMEOUT_MS = 15_000


def test_logging_out_in_one_tab_sends_every_other_tab_to_the_login_page(
    page: Page, portal_server, demo, dialogs, screenshot_dir
):
    log_in(page, portal_server.url, "csr1", "csr1-demo")
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
    other = page.context.new_page()
    other.goto(f"{portal_server.url}/")
    expect(other.locator("#connection")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
    shot(other, screenshot_dir, "sessions-before-logout.png")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"), timeout=TIMEOUT_MS)
    # The other tab is told at once (well before its next heartbeat) and leaves.
    expect(other).to_have_url(re.compile(r"/accounts/login/\?next=(/|%2F)$"), timeout=5_000)
    expect(other.get_by_label("Username")).to_be_visible()
    shot(other, screenshot_dir, "sessions-other-tab-after-logout.png")
    assert dialogs == []
