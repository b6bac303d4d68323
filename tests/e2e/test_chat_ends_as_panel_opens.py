"""A chat that ends just as the CSR accepts it, in a real browser: however the end falls
against the panel's opening (before its data is read, before its socket subscribes, or
after), the CSR gets the chat's tab marked ended with its conversation and wrap-up form,
the way a chat ended later is."""

import re
import time

import pytest
from playwright.sync_api import Page, expect

from chat.models import SenderKind
from chat.services.interactions import interaction_end
from routing.models import CSRProfile, Offer, OfferStatus, Queue, QueueMembership
from routing.services.presence import csr_status_set
from tests.e2e.pages import log_in
from tests.e2e.test_portal import TIMEOUT_MS, demo_user, escalate

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Milliseconds between the acceptance's commit and the end: each lands the end in a
# different step of the panel's opening (its data, its socket's hello, live events).
DELAYS_MS = [0, 10, 50, 200] * 2


def _accepted(interaction_id: int) -> None:
    """Wait until the CSR's acceptance has committed (an end before it withdraws the
    offer instead, which is another story)."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not Offer.objects.filter(
        interaction_id=interaction_id, status=OfferStatus.ACCEPTED
    ).exists():
        assert time.monotonic() < deadline, "the offer was never accepted"
        time.sleep(0.005)


def test_a_chat_ended_as_its_panel_opens_shows_ended(page: Page, portal_server, demo, dialogs):
    billing = Queue.objects.get(slug="billing")
    billing.wrapup_seconds = 600  # each ended chat keeps its place: one per round
    billing.save()
    csr1 = demo_user("csr1")
    CSRProfile.objects.filter(user=csr1).update(capacity=len(DELAYS_MS))
    QueueMembership.objects.filter(user=csr1, queue=billing).update(joined=True)
    csr_status_set(user=csr1, status="available")
    log_in(page, portal_server.url, "csr1", "csr1-demo")
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
    popup = page.locator("#offer")

    for round_, delay_ms in enumerate(DELAYS_MS):
        name = f"Customer {round_} ({delay_ms} ms)"
        chat = escalate(demo, name=name)
        expect(popup).to_contain_text(name, timeout=TIMEOUT_MS)
        popup.get_by_role("button", name="Accept").click()
        _accepted(chat.pk)
        time.sleep(delay_ms / 1000)
        interaction_end(interaction_id=chat.pk, by=SenderKind.CUSTOMER)

        tab = page.get_by_role("tab", name=re.compile(re.escape(name)))
        expect(tab, f"round {round_}, {delay_ms} ms").to_have_attribute(
            "data-ended", "", timeout=5000
        )
        panel = page.locator(f"#{tab.get_attribute('aria-controls')}")
        expect(panel.locator('[data-field="status"]')).to_have_text("Ended")
        expect(panel.get_by_role("log")).to_contain_text("The customer ended the chat")
        expect(panel.get_by_role("form", name="Wrap-up")).to_be_visible(timeout=TIMEOUT_MS)
    assert dialogs == []
