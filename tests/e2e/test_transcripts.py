"""Transcripts in a real browser against a real ASGI server: Actions → Download
transcripts during the chat (by keyboard) and after it ends, and My Work → Recent work →
interaction ID → Download transcript once it is over; each saves ChatTranscript.txt
with the conversation so far, in the contact center's time zone."""

import re
import uuid
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Download, Page, expect

from chat.models import AppStudioSettings, Interaction, SenderKind
from chat.services.messages import message_send
from routing.models import Offer, OfferStatus, QueueMembership
from routing.services.answers import offer_accept
from routing.services.escalations import escalation_create
from routing.services.presence import csr_status_set
from tests.e2e.pages import log_in, shot

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TIMEOUT_MS = 15_000
SCRIPT = "<script>alert('x')</script>"
MULTILINE = "Hello, my order:\n- 2 × Größe M\n- 1 × 帽子"
# Paris keeps +01:00 in winter and +02:00 in summer: the offset is always shown.
PARIS_TIME = re.compile(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0[12]:00\]")


@pytest.fixture
def demo(demo):
    """The shared demo data, in the Europe/Paris time zone."""
    seed = demo
    record = AppStudioSettings.objects.get(pk=AppStudioSettings.SINGLETON_ID)
    record.time_zone = "Europe/Paris"
    record.save()  # drops the cached settings on commit, for the server too
    return seed


def active_chat(demo, csr: User) -> Interaction:
    """An escalation csr1 has accepted, with a customer message in it."""
    QueueMembership.objects.filter(user=csr, queue__slug="billing").update(joined=True)
    csr_status_set(user=csr, status="available")
    interaction = escalation_create(
        client=demo.bot_client,
        channel_slug="web-messaging",
        customer={"name": "Dana Reyes", "external_id": f"e2e-{uuid.uuid4()}"},
        queue_slug="billing",
        intent="billing",
        context={},
        transcript=[
            {"sender": "customer", "text": "I was charged twice"},
            {"sender": "bot", "text": "Let me find a person."},
        ],
    ).interaction
    offer = Offer.objects.get(interaction=interaction, status=OfferStatus.PENDING)
    offer_accept(offer_id=offer.pk, user=csr)
    for text in (MULTILINE, SCRIPT):
        message_send(
            interaction_id=interaction.pk,
            sender_kind=SenderKind.CUSTOMER,
            text=text,
            client_msg_id=str(uuid.uuid4()),
        )
    return interaction


def saved_text(download: Download) -> str:
    assert download.suggested_filename == "ChatTranscript.txt"
    assert download.failure() is None
    return Path(download.path()).read_text(encoding="utf-8")


def check_common(text: str, interaction: Interaction) -> None:
    assert text.startswith("Chat transcript\n")
    assert f"Interaction ID: {interaction.pk}\n" in text
    assert "Customer: Dana Reyes" in text
    assert "Channel: Web messaging\n" in text
    assert "Queue: Billing\n" in text
    assert "CSRs: Alex Morgan\n" in text
    assert "Time zone: Europe/Paris\n" in text
    assert "\nBot conversation before escalation\n" in text
    assert "Dana Reyes (customer): I was charged twice\n" in text
    assert "(bot): Let me find a person.\n" in text
    assert "*** Alex Morgan joined the chat\n" in text
    assert "Dana Reyes (customer): Hello, my order:\n    - 2 × Größe M\n    - 1 × 帽子\n" in text
    assert f"Dana Reyes (customer): {SCRIPT}\n" in text
    assert "Alex Morgan (CSR): Checking your order now.\n" in text
    assert PARIS_TIME.search(text)


def test_download_transcripts_during_and_after_the_chat(
    page: Page, portal_server, demo, dialogs, screenshot_dir
):
    """csr1 downloads ChatTranscript.txt from the Actions menu by keyboard during the
    chat, again after ending it, and from Recent work → interaction ID → Download
    transcript; every copy holds the conversation up to then."""
    csr1 = User.objects.get(username="csr1")
    interaction = active_chat(demo, csr1)
    base = portal_server.url
    log_in(page, base, "csr1", "csr1-demo")
    panel = page.get_by_role("tabpanel")
    log = panel.get_by_role("log", name="Conversation")
    expect(log).to_contain_text("1 × 帽子", timeout=TIMEOUT_MS)
    box = panel.get_by_role("textbox", name="Message")
    box.fill("Checking your order now.")
    box.press("Enter")
    expect(log.locator(".msg--csr").last).to_have_attribute(
        "data-delivery", re.compile("sent|read"), timeout=TIMEOUT_MS
    )

    # During the chat: Actions → Download transcripts, by keyboard only.
    actions = panel.get_by_role("button", name="Actions")
    actions.focus()
    page.keyboard.press("ArrowDown")
    menu = panel.get_by_role("menu")
    item = menu.get_by_role("menuitem", name=re.compile("^Download transcripts"))
    expect(item).not_to_have_attribute("aria-disabled", "true")
    for _ in range(5):
        if item.evaluate("node => node === document.activeElement"):
            break
        page.keyboard.press("ArrowDown")
    expect(item).to_be_focused()
    shot(page, screenshot_dir, "transcripts-actions-menu.png")
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    during = saved_text(info.value)
    check_common(during, interaction)
    assert "Status: Active\n" in during
    assert "Ended: -\n" in during
    assert "ended the chat" not in during
    expect(menu).to_be_hidden()
    expect(panel.get_by_role("textbox", name="Message")).to_be_visible()

    # End the chat, then download once more from the same menu.
    actions.click()
    menu.get_by_role("menuitem", name="End chat").click()
    page.get_by_role("alertdialog", name="End chat?").get_by_role("button", name="End chat").click()
    expect(log).to_contain_text("Alex Morgan ended the chat", timeout=TIMEOUT_MS)
    actions.click()
    with page.expect_download() as info:
        item.click()
    after_end = saved_text(info.value)
    check_common(after_end, interaction)
    assert "Status: Ended\n" in after_end
    assert "*** Alex Morgan ended the chat\n" in after_end

    # After the session: My Work → Recent work → interaction ID → Download transcript.
    page.get_by_role("link", name="Recent work").click()
    table = page.locator("#recent-work")
    expect(table).to_contain_text("Dana Reyes")
    row = table.get_by_role("row").filter(
        has=page.get_by_role("link", name=str(interaction.pk), exact=True)
    )
    expect(row.get_by_role("link", name="Download transcript")).to_be_visible()
    shot(page, screenshot_dir, "transcripts-recent-work.png")
    table.get_by_role("link", name=str(interaction.pk), exact=True).click()
    expect(
        page.get_by_text("This interaction has ended. You are viewing it read-only.")
    ).to_be_visible()
    button = page.get_by_role("link", name="Download transcript", exact=True)
    expect(button).to_be_visible()
    shot(page, screenshot_dir, "transcripts-interaction-window.png")
    with page.expect_download() as info:
        button.click()
    from_recent = saved_text(info.value)
    assert from_recent == after_end
    assert dialogs == []


def test_another_csr_cannot_download_it(page: Page, portal_server, demo):
    """csr2 never handled csr1's chat: the download URL answers 403 and no transcript."""
    interaction = active_chat(demo, User.objects.get(username="csr1"))
    log_in(page, portal_server.url, "csr2", "csr2-demo")
    expect(page.get_by_role("link", name="Recent work")).to_be_visible(timeout=TIMEOUT_MS)
    response = page.request.get(
        f"{portal_server.url}/interactions/{interaction.pk}/ChatTranscript.txt"
    )
    assert response.status == 403
    assert "Dana Reyes" not in response.text()
