"""My Work's keyboard shortcuts and drafts in a real browser against daphne: each shortcut
does its action; `?` and `/` do nothing while typing in the message box (the Alt
combinations work there too); the help overlay opens with `?`, traps focus and closes
with Escape; a draft survives switching tabs and a reload, and goes when it is sent or the
chat ends."""

import json
import re

import pytest
from playwright.sync_api import Page, expect

from chat.models import Interaction, Message, SenderKind, SystemEvent
from chat.services.interactions import interaction_end
from routing.models import CSRProfile, CSRStatus, Offer, OfferStatus, QueueMembership
from routing.services.answers import offer_accept
from tests.e2e.a11y import assert_accessible
from tests.e2e.pages import log_in, shot
from tests.e2e.test_portal import demo_user, escalate
from tests.factories import route_chat

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TIMEOUT_MS = 15_000


def _accepted(demo, name: str) -> Interaction:
    interaction = escalate(demo, name=name)
    route_chat(interaction_id=interaction.pk)
    offer = Offer.objects.get(interaction=interaction, status=OfferStatus.PENDING)
    offer_accept(offer_id=offer.pk, user=offer.csr)
    return interaction


def _composer(page: Page, chat: Interaction):
    return page.locator(f"#panel-{chat.pk} [data-field='composer'] textarea")


def _selected(page: Page, name: str) -> None:
    expect(page.get_by_role("tab", name=re.compile(name))).to_have_attribute(
        "aria-selected", "true", timeout=TIMEOUT_MS
    )


def _draft(page: Page, chat_id: int) -> str | None:
    """The draft text kept for the chat, None when there is none."""
    user_id = demo_user("csr1").pk
    saved = page.evaluate(f"localStorage.getItem('portal.draft.{user_id}.{chat_id}')")
    return json.loads(saved)["text"] if saved else None


@pytest.fixture
def two_chats(demo) -> tuple[Interaction, Interaction]:
    csr1 = demo_user("csr1")
    CSRProfile.objects.filter(user=csr1).update(status=CSRStatus.AVAILABLE)
    QueueMembership.objects.filter(user=csr1, queue__slug="billing").update(joined=True)
    return _accepted(demo, "First Customer"), _accepted(demo, "Second Customer")


def _open(page: Page, base: str, *chats: Interaction) -> None:
    log_in(page, base, "csr1", "csr1-demo")
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
    for chat in chats:
        expect(page.locator(f"#panel-{chat.pk} [data-field='log']")).to_contain_text(
            "joined the chat", timeout=TIMEOUT_MS
        )


# axe is injected into the page: the context lets it past the CSP (tests/e2e/a11y.py).
@pytest.mark.browser_context_args(bypass_csp=True)
def test_help_overlay_opens_with_question_mark_and_closes_with_escape(
    page: Page, portal_server, two_chats, dialogs, screenshot_dir
):
    """`?` outside a field opens the list of shortcuts, focus stays inside it, Escape
    closes it and focus goes back; `?` typed in the message box is just text."""
    first, _ = two_chats
    _open(page, portal_server.url, first)
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    page.locator("#main").focus()
    page.keyboard.press("?")
    expect(help_dialog).to_be_visible()
    rows = help_dialog.locator("tbody tr")
    expect(rows).to_have_count(9)
    expect(help_dialog).to_contain_text("Transfer the chat")
    expect(help_dialog).to_contain_text("End the chat (asks you to confirm)")
    shot(page, screenshot_dir, "shortcuts-help.png")
    assert_accessible(page, "the keyboard shortcuts overlay")
    for _ in range(4):  # Tab never leaves the modal dialog
        page.keyboard.press("Tab")
        assert page.evaluate(
            "document.getElementById('shortcuts-help').contains(document.activeElement)"
        )
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    box = _composer(page, first)
    box.click()
    page.keyboard.type("Is that right? /really")
    expect(box).to_have_value("Is that right? /really")
    expect(help_dialog).to_be_hidden()
    expect(box).to_be_focused()
    # The "Keyboard shortcuts" button opens the same list.
    page.get_by_role("button", name="Keyboard shortcuts").click()
    expect(help_dialog).to_be_visible()
    help_dialog.get_by_role("button", name="Close").click()
    expect(help_dialog).to_be_hidden()


def test_each_shortcut_does_its_action(page: Page, portal_server, demo, two_chats, dialogs):
    """Alt+Page Down/Up move between chat tabs, `/` and Alt+Shift+C go to the message box,
    Alt+Shift+P opens the phrases, Alt+Shift+X the transfer dialog, Alt+Shift+E the end
    confirmation (nothing ends without it), Alt+Shift+A accepts an offer."""
    first, second = two_chats
    _open(page, portal_server.url, first, second)
    _selected(page, "First Customer")

    page.locator("#main").focus()
    page.keyboard.press("/")
    expect(_composer(page, first)).to_be_focused()
    expect(_composer(page, first)).to_have_value("")  # the key went nowhere else

    page.keyboard.press("Alt+PageDown")  # from the box: into the next chat's box
    _selected(page, "Second Customer")
    expect(_composer(page, second)).to_be_focused()
    page.keyboard.press("Alt+PageDown")  # wraps round
    _selected(page, "First Customer")
    page.keyboard.press("Alt+PageUp")
    _selected(page, "Second Customer")

    page.locator("#main").focus()
    page.keyboard.press("Alt+Shift+KeyC")
    expect(_composer(page, second)).to_be_focused()

    page.keyboard.press("Alt+Shift+KeyP")
    panel = page.locator(f"#panel-{second.pk}")
    expect(panel.get_by_role("tab", name="Assist")).to_have_attribute("aria-selected", "true")
    expect(panel.get_by_role("searchbox", name="Search phrases")).to_be_focused()

    page.keyboard.press("Alt+Shift+KeyX")
    transfer = panel.get_by_role("dialog", name=re.compile("Transfer"))
    expect(transfer).to_be_visible()
    page.keyboard.press("Escape")
    expect(transfer).to_be_hidden()

    _composer(page, second).focus()
    page.keyboard.press("Alt+Shift+KeyE")  # works while typing
    end = panel.get_by_role("alertdialog", name="End chat?")
    expect(end).to_be_visible()
    page.keyboard.press("Escape")
    expect(end).to_be_hidden()
    second.refresh_from_db()
    assert second.status == "active"  # ending needs the confirmation

    third = escalate(demo, name="Third Customer")
    popup = page.get_by_role("dialog", name=re.compile("Third Customer"))
    expect(popup).to_be_visible(timeout=TIMEOUT_MS)
    page.keyboard.press("Alt+Shift+KeyA")
    expect(popup).to_be_hidden(timeout=TIMEOUT_MS)
    _selected(page, "Third Customer")
    third.refresh_from_db()
    assert third.status == "active"
    # Let the new panel finish loading: nothing of the page still in flight at teardown.
    expect(page.locator(f"#panel-{third.pk} [data-field='log']")).to_contain_text(
        "joined the chat", timeout=TIMEOUT_MS
    )
    page.wait_for_timeout(500)


def test_alt_shortcuts_need_a_chat_and_say_so(page: Page, portal_server, demo, dialogs):
    """With no chat open the shortcuts do nothing but say why (a status message)."""
    _open(page, portal_server.url)
    page.locator("#main").focus()
    page.keyboard.press("Alt+Shift+KeyX")
    expect(page.locator("#shortcut-note")).to_have_text("No chat open.")
    page.keyboard.press("Alt+Shift+KeyA")
    expect(page.locator("#shortcut-note")).to_have_text("No incoming chat to accept.")
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_a_draft_survives_tab_switches_and_a_reload(
    page: Page, portal_server, two_chats, dialogs, screenshot_dir
):
    """Each chat keeps its own draft across tab switches and a reload; sending it or the
    chat ending drops it."""
    first, second = two_chats
    _open(page, portal_server.url, first, second)
    _composer(page, first).fill("Half a thought for First")
    page.keyboard.press("Alt+PageDown")
    _selected(page, "Second Customer")
    _composer(page, second).fill("A note for Second")
    page.keyboard.press("Alt+PageUp")
    _selected(page, "First Customer")
    expect(_composer(page, first)).to_have_value("Half a thought for First")

    page.reload()
    _open_again(page, first, second)
    expect(_composer(page, first)).to_have_value("Half a thought for First")
    page.get_by_role("tab", name=re.compile("Second Customer")).click()
    expect(_composer(page, second)).to_have_value("A note for Second")
    shot(page, screenshot_dir, "drafts-after-reload.png")

    _composer(page, second).press("Enter")  # sent: the draft goes
    expect(page.locator(f"#panel-{second.pk} .msg--csr").last).to_contain_text(
        "A note for Second", timeout=TIMEOUT_MS
    )
    assert _draft(page, second.pk) is None
    assert _draft(page, first.pk) == "Half a thought for First"

    interaction_end(interaction_id=first.pk, by=SenderKind.CUSTOMER)  # the chat ends: gone
    expect(page.get_by_role("tab", name=re.compile("First Customer"))).to_have_attribute(
        "data-ended", "", timeout=TIMEOUT_MS
    )
    assert _draft(page, first.pk) is None
    # A draft left over from a chat that went elsewhere is dropped after a week.
    user_id = demo_user("csr1").pk
    week_ago = "Date.now() - 8 * 86400 * 1000"
    page.evaluate(
        f"localStorage.setItem('portal.draft.{user_id}.999999',"
        f" JSON.stringify({{text: 'stale', at: {week_ago}}}))"
    )
    page.reload()
    _open_again(page, second)
    expect(_composer(page, second)).to_have_value("")
    assert _draft(page, 999999) is None


def test_a_draft_written_as_an_internal_note_comes_back_as_a_note(
    page: Page, portal_server, two_chats, dialogs
):
    """A note typed and not added is a note again after a reload: the composer is back in
    note mode, so Enter adds it as a note and nothing reaches the customer."""
    first, second = two_chats
    _open(page, portal_server.url, first, second)
    panel = page.locator(f"#panel-{first.pk}")
    panel.get_by_role("button", name="Internal note").click()
    _composer(page, first).fill("Customer may be confused about the refund date")

    page.reload()
    _open_again(page, first, second)
    page.get_by_role("tab", name=re.compile("First Customer")).click()
    toggle = panel.get_by_role("button", name="Internal note")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(_composer(page, first)).to_have_value("Customer may be confused about the refund date")
    _composer(page, first).press("Enter")
    expect(panel.locator(".msg--internal[data-seq]")).to_contain_text(
        "Customer may be confused about the refund date", timeout=TIMEOUT_MS
    )
    note = Message.objects.get(interaction=first, text__startswith="Customer may be confused")
    assert note.event == SystemEvent.NOTE and note.internal
    assert _draft(page, first.pk) is None
    # Toggled back to a message before the reload: a message draft.
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    _composer(page, first).fill("Your refund is on its way")
    page.reload()
    _open_again(page, first, second)
    page.get_by_role("tab", name=re.compile("First Customer")).click()
    expect(panel.get_by_role("button", name="Internal note")).to_have_attribute(
        "aria-pressed", "false"
    )
    expect(_composer(page, first)).to_have_value("Your refund is on its way")
    assert dialogs == []


def _open_again(page: Page, *chats: Interaction) -> None:
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
    for chat in chats:
        expect(page.locator(f"#panel-{chat.pk} [data-field='log']")).to_contain_text(
            "joined the chat", timeout=TIMEOUT_MS
        )
