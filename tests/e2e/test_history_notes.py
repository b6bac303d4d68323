"""Customer history and internal notes in a real browser against a real ASGI server,
with a customer on the demo widget and two CSRs: Alex's panel counts the earlier chats
he may open ("1 earlier chat") and opens one read-only in a new tab; Alex writes an
internal note (a different-looking composer), transfers the chat to Blake, and Blake's
panel shows the note marked internal with his own history; the customer's widget never
shows the note."""

import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from chat.models import Interaction, InteractionStatus, Message, SenderKind, SystemEvent
from chat.services.interactions import interaction_end
from chat.services.notes import note_add
from routing.models import QueueMembership
from routing.services.answers import offer_accept
from routing.services.presence import csr_status_set
from routing.services.transfers import interaction_transfer_to_csr
from tests.e2e.a11y import AxeGate
from tests.e2e.pages import customer_escalates, log_in, widget
from tests.e2e.test_assist import csr_takes, open_window
from tests.e2e.test_portal import TIMEOUT_MS, demo_user, escalate
from tests.factories import interaction_factory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SHOTS = Path(tempfile.gettempdir()) / "history" / "shots"
NOTE = "Second contact about the double charge: refund approved by billing"


@pytest.fixture
def browser_page(browser: Browser, browser_context_args):
    """make(): another browser with its own cookies (one per CSR)."""
    contexts = []

    def make() -> Page:
        context = browser.new_context(**browser_context_args)
        contexts.append(context)
        return context.new_page()

    try:
        yield make
    finally:
        for context in contexts:
            context.close()


def _earlier_chat(interaction: Interaction, *, csr, days_ago: int, text: str) -> Interaction:
    """An ended chat of the same customer, handled by `csr`, with one message."""
    earlier = interaction_factory(
        customer=interaction.customer,
        channel=interaction.channel,
        queue=interaction.queue,
        assigned_csr=csr,
        status=InteractionStatus.ENDED,
        intent="billing.double_charge",
        ended_at=timezone.now() - timedelta(days=days_ago),
        last_seq=1,
    )
    Interaction.objects.filter(pk=earlier.pk).update(
        created_at=timezone.now() - timedelta(days=days_ago, minutes=10)
    )
    Message.objects.create(interaction=earlier, seq=1, sender_kind=SenderKind.CUSTOMER, text=text)
    return earlier


def test_history_and_a_note_that_follows_the_transfer_but_never_reaches_the_customer(
    page: Page, browser_page, portal_server, demo, dialogs
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = portal_server.url
    customer_escalates(page, base, "Dana", says="I was charged twice again")
    chat_log = widget(page).get_by_role("log", name="Conversation")
    interaction = Interaction.objects.get(customer__name="Dana")
    alex, blake = demo_user("csr1"), demo_user("csr2")
    alexs = _earlier_chat(interaction, csr=alex, days_ago=3, text="Charged twice for order A-1009")
    blakes = _earlier_chat(interaction, csr=blake, days_ago=9, text="Card declined abroad")
    csr_takes(interaction)
    expect(chat_log).to_contain_text("Alex Morgan joined the chat", timeout=TIMEOUT_MS)

    # Alex: his panel counts the one earlier chat he may open, and opens it.
    alex_page = browser_page()
    log_in(alex_page, base, "csr1", "csr1-demo")
    open_window(alex_page, base, interaction)
    panel = alex_page.locator("[data-panel]")
    count = panel.locator('[data-field="history-count"]')
    expect(count).to_have_text("1 earlier chat", timeout=TIMEOUT_MS)
    count.click()
    expect(panel.get_by_role("tab", name="History")).to_have_attribute("aria-selected", "true")
    items = panel.locator(".history__item")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("Ended")
    expect(items.first).to_contain_text("Intent: billing.double_charge")
    expect(panel.locator('[data-field="history-rule"]')).to_have_text("Listed: chats you handled.")
    alex_page.screenshot(path=str(SHOTS / "history-tab.png"))
    with alex_page.expect_popup() as opened:
        items.first.get_by_role("link").click()
    earlier = opened.value
    expect(earlier).to_have_url(f"{base}/interactions/{alexs.pk}/")
    expect(earlier.get_by_role("log", name="Conversation")).to_contain_text(
        "Charged twice for order A-1009"
    )
    ended = "This interaction has ended. You are viewing it read-only."
    expect(earlier.get_by_text(ended)).to_be_visible()
    earlier.screenshot(path=str(SHOTS / "history-earlier-window.png"))
    earlier.close()

    # Alex writes an internal note: the composer says the customer does not see it.
    toggle = panel.get_by_role("button", name="Internal note")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(panel.get_by_text("Internal note — the customer does not see this")).to_be_visible()
    box = panel.get_by_role("textbox", name="Internal note")
    box.fill(NOTE)
    alex_page.screenshot(path=str(SHOTS / "note-composer.png"))
    box.press("Enter")
    alex_log = alex_page.get_by_role("log", name="Conversation")
    # The stored copy (with its seq), not the pending one the panel shows at once.
    note = alex_log.locator(".msg--internal[data-seq]").filter(has_text=NOTE)
    expect(note).to_contain_text("Internal note", timeout=TIMEOUT_MS)
    expect(note).to_contain_text("the customer does not see this")
    # Back to messages: this one reaches the customer, after the note.
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    message = panel.get_by_role("textbox", name="Message", exact=True)
    message.fill("Let me look into it")
    message.press("Enter")
    expect(chat_log).to_contain_text("Let me look into it", timeout=TIMEOUT_MS)
    alex_page.screenshot(path=str(SHOTS / "note-in-log.png"))
    stored = Message.objects.get(interaction=interaction, event=SystemEvent.NOTE)
    assert stored.internal and stored.text == NOTE and stored.author == alex

    # Transfer to Blake: his panel shows the note, marked, and his own history.
    QueueMembership.objects.filter(user=blake).update(joined=True)
    csr_status_set(user=blake, status="available")
    offer = interaction_transfer_to_csr(interaction_id=interaction.pk, user=alex, target=blake)
    offer_accept(offer_id=offer.pk, user=blake)
    blake_page = browser_page()
    log_in(blake_page, base, "csr2", "csr2-demo")
    open_window(blake_page, base, interaction)
    blake_panel = blake_page.locator("[data-panel]")
    blake_note = (
        blake_page.get_by_role("log", name="Conversation")
        .locator(".msg--internal")
        .filter(has_text=NOTE)
    )
    expect(blake_note).to_contain_text("Internal note", timeout=TIMEOUT_MS)
    expect(blake_note).to_contain_text("Alex Morgan")
    blake_count = blake_panel.locator('[data-field="history-count"]')
    expect(blake_count).to_have_text("1 earlier chat", timeout=TIMEOUT_MS)
    blake_count.click()
    expect(blake_panel.locator(".history__item")).to_have_count(1)
    expect(blake_panel.locator(f'.history__item[data-interaction="{blakes.pk}"]')).to_be_visible()
    blake_page.screenshot(path=str(SHOTS / "note-after-transfer.png"))

    # The customer's widget never shows the note, live or after a reload.
    expect(chat_log).to_contain_text("Blake Chen joined the chat", timeout=TIMEOUT_MS)
    assert NOTE not in widget(page).inner_text()
    page.reload()
    expect(widget(page)).to_be_visible()  # a live chat reopens by itself
    expect(widget(page).get_by_role("log", name="Conversation")).to_contain_text(
        "Let me look into it", timeout=TIMEOUT_MS
    )
    assert NOTE not in widget(page).inner_text()
    page.screenshot(path=str(SHOTS / "customer-widget.png"))
    assert dialogs == []


@pytest.mark.browser_context_args(bypass_csp=True)  # axe is injected inline (see a11y.py)
def test_the_history_tab_the_note_composer_and_a_note_pass_axe(
    page: Page, portal_server, demo, dialogs
):
    """The History tab, the composer in note mode, and a note in the live panel and in
    the read-only window have no critical or serious axe violation; the note mode is
    reached and left by keyboard."""
    gate = AxeGate()
    base = portal_server.url
    interaction = escalate(demo, name="Dana Reyes")
    csr_takes(interaction)
    alex = demo_user("csr1")
    _earlier_chat(interaction, csr=alex, days_ago=2, text="Charged twice")
    note_add(interaction_id=interaction.pk, user=alex, text=NOTE, client_msg_id="axe-note")
    log_in(page, base, "csr1", "csr1-demo")
    open_window(page, base, interaction)
    panel = page.locator("[data-panel]")
    expect(panel.locator(".msg--internal").filter(has_text=NOTE)).to_be_visible()
    panel.locator('[data-field="history-count"]').click()
    expect(panel.locator(".history__item")).to_have_count(1)
    gate.check(page, "the chat panel, History tab and a note in the log")
    toggle = panel.get_by_role("button", name="Internal note")
    toggle.focus()
    page.keyboard.press("Enter")
    box = panel.get_by_role("textbox", name="Internal note")
    expect(box).to_be_focused()
    gate.check(page, "the chat panel, composer in note mode")
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(panel.get_by_role("textbox", name="Message", exact=True)).to_be_visible()
    interaction_end(interaction_id=interaction.pk, by=SenderKind.CSR, user=alex)
    page.reload()
    expect(panel.locator(".msg--internal").filter(has_text=NOTE)).to_contain_text(
        "Internal note", timeout=TIMEOUT_MS
    )
    gate.check(page, "the read-only interaction window with a note")
    gate.assert_clean()
    assert dialogs == []


@pytest.mark.browser_context_args(bypass_csp=True)  # axe is injected inline (see a11y.py)
def test_a_manager_watching_adds_a_note_and_nothing_else(page: Page, portal_server, demo, dialogs):
    """The observer's panel has the composer in note mode only (no toggle back to
    messages); the note is stored as theirs, internal, and shows marked."""
    gate = AxeGate()
    base = portal_server.url
    interaction = escalate(demo, name="Watched Customer")
    csr_takes(interaction)
    log_in(page, base, "manager", "manager-demo")
    open_window(page, base, interaction)
    panel = page.locator("[data-panel]")
    expect(panel.get_by_text("You are watching this chat read-only.")).to_be_visible()
    expect(panel.get_by_role("textbox", name="Message", exact=True)).to_have_count(0)
    expect(panel.get_by_role("button", name="Internal note")).to_be_hidden()
    expect(panel.get_by_role("button", name="Attach files")).to_be_hidden()  # notes carry none
    box = panel.get_by_role("textbox", name="Internal note")
    expect(box).to_be_visible()
    gate.check(page, "the observer's panel with the note composer")
    box.fill("Watch the tone here")
    # Not added yet: a reload keeps it, as a CSR's draft.
    page.reload()
    expect(panel).to_have_attribute("data-connection", "open", timeout=TIMEOUT_MS)
    expect(box).to_have_value("Watch the tone here")
    panel.get_by_role("button", name="Add note").click()
    log = page.get_by_role("log", name="Conversation")
    expect(
        log.locator(".msg--internal[data-seq]").filter(has_text="Watch the tone here")
    ).to_contain_text("Internal note", timeout=TIMEOUT_MS)
    page.screenshot(path=str(SHOTS / "manager-note.png"))
    stored = Message.objects.get(interaction=interaction, event=SystemEvent.NOTE)
    assert stored.internal and stored.author == demo_user("manager")
    page.reload()  # added: the draft is gone
    expect(panel).to_have_attribute("data-connection", "open", timeout=TIMEOUT_MS)
    expect(box).to_have_value("")
    gate.assert_clean()
    assert dialogs == []
