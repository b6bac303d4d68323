"""Keyboard only: the CSR's whole loop (status, queues, accept, reply, transfer, end,
download the transcript) and the customer's (open the widget, talk to the bot,
escalate, chat, end), driven with Tab, Enter, Space, the arrow keys and Escape — no
clicks. Setting the status with the arrow keys posts one change, on Enter."""

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from chat.demo_bot import GREETING, NOT_SURE
from chat.models import Interaction, InteractionStatus, Message, SenderKind
from chat.services.messages import message_send
from routing.models import CSRProfile, CSRStatus, QueueMembership
from routing.services.presence import csr_status_set
from tests.e2e.pages import shot, widget
from tests.e2e.test_portal import TIMEOUT_MS, customer_says, demo_user, escalate
from tests.e2e.test_portal_csr_pages import accept_pending

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MAX_TABS = 60


def tab_to(page: Page, target: Locator, *, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until `target` has focus; fail if it never does."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(MAX_TABS):
        if target.evaluate("node => node === document.activeElement"):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{MAX_TABS} presses of {key} never reached {target}")


def is_focused(locator: Locator) -> bool:
    return locator.evaluate("node => node === document.activeElement")


def arrow_to(page: Page, target: Locator, key: str, *, tries: int = 10) -> None:
    """Press an arrow key until `target` has focus (menus and radio groups)."""
    for _ in range(tries):
        if is_focused(target):
            return
        page.keyboard.press(key)
    expect(target).to_be_focused()


def test_a_csr_does_the_whole_loop_by_keyboard(
    page: Page, portal_server, demo, dialogs, screenshot_dir
):
    """Log in, choose Available with the arrow keys (nothing is posted until Enter, then
    exactly one change), join Billing with Space, accept the pop-up with Enter, reply,
    transfer a chat to a queue, download the transcript and end another chat."""
    base = portal_server.url
    status_posts: list[str] = []
    page.on(
        "request",
        lambda request: (
            status_posts.append(request.post_data or "")
            if request.method == "POST" and request.url.endswith("/api/v1/agent/status/")
            else None
        ),
    )
    page.goto(f"{base}/")
    tab_to(page, page.get_by_label("Username"))
    page.keyboard.type("csr1")
    page.keyboard.press("Tab")
    page.keyboard.type("csr1-demo")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)

    # Status: from Offline up through every Away reason to Available, then Enter.
    status = page.get_by_label("Your status")
    expect(status).to_be_enabled(timeout=TIMEOUT_MS)
    expect(status).to_have_value("offline")
    tab_to(page, status)
    options = status.locator("option:not([disabled])").count()
    for _ in range(options - 1):
        page.keyboard.press("ArrowUp")
    expect(status).to_have_value("available")
    page.wait_for_timeout(500)
    assert status_posts == [], f"{len(status_posts)} statuses posted on the way"
    expect(page.locator("#status-pending")).to_contain_text("Press Enter to set Available")
    assert CSRProfile.objects.get(user__username="csr1").status == CSRStatus.OFFLINE
    page.keyboard.press("Enter")
    expect(page.locator("#status-dot")).to_have_attribute("data-status", "available")
    expect(page.locator("#status-pending")).to_be_hidden()
    assert len(status_posts) == 1 and '"available"' in status_posts[0]

    # Escape takes back a choice not yet set; leaving the list sets nothing then.
    page.keyboard.press("ArrowDown")
    expect(status).not_to_have_value("available")
    page.keyboard.press("Escape")
    expect(status).to_have_value("available")
    page.keyboard.press("Tab")
    page.wait_for_timeout(300)
    assert len(status_posts) == 1

    # Queues: the Billing switch, with Space.
    billing = page.locator('.queue[data-queue="billing"]').get_by_role("switch")
    tab_to(page, billing)
    page.keyboard.press("Space")
    expect(billing).to_have_attribute("aria-checked", "true")

    # Accept: the pop-up opens with Accept focused; Enter accepts and focuses the composer.
    first = escalate(demo, name="Dana Reyes")
    popup = page.get_by_role("dialog", name=re.compile("Dana"))
    expect(popup).to_be_visible(timeout=TIMEOUT_MS)
    expect(popup.get_by_role("button", name="Accept")).to_be_focused()
    page.keyboard.press("Enter")
    panel = page.get_by_role("tabpanel")
    box = panel.get_by_role("textbox", name="Message")
    expect(box).to_be_focused(timeout=TIMEOUT_MS)
    log = panel.get_by_role("log", name="Conversation")
    customer_says(first, "Hello, is anyone there?")
    expect(log).to_contain_text("Hello, is anyone there?", timeout=TIMEOUT_MS)

    # Reply.
    page.keyboard.type("Hi Dana, I am moving you to General.")
    page.keyboard.press("Enter")
    expect(log.locator(".msg--csr").last).to_have_attribute(
        "data-delivery", re.compile("sent|read"), timeout=TIMEOUT_MS
    )

    # The conversation log is reachable by keyboard (it scrolls).
    tab_to(page, panel.locator('[data-field="log"]'), backwards=True)
    shot(page, screenshot_dir, "keyboard-log-focused.png")

    # csr2 works General, so the chat transferred there finds a taker.
    csr2 = demo_user("csr2")
    QueueMembership.objects.filter(user=csr2, queue__slug="general").update(joined=True)
    csr_status_set(user=csr2, status="available")

    # Transfer to a queue: Actions → Transfer interaction, the "To a queue" radio with
    # the arrow keys, a note, and Enter on Transfer.
    actions = panel.get_by_role("button", name="Actions")
    tab_to(page, actions)
    page.keyboard.press("ArrowDown")
    expect(panel.get_by_role("menuitem", name="Transfer interaction")).to_be_focused()
    page.keyboard.press("Enter")
    transfer = page.get_by_role("dialog", name="Transfer interaction")
    expect(transfer).to_be_visible()
    tab_to(page, transfer.get_by_role("radio", name="To a CSR"))
    page.keyboard.press("ArrowRight")
    expect(transfer.get_by_role("radio", name="To a queue")).to_be_checked()
    queue = transfer.get_by_label("Queue", exact=True)
    tab_to(page, queue)
    for _ in range(10):
        if queue.input_value() == "general":
            break
        page.keyboard.press("ArrowDown")
    expect(queue).to_have_value("general")
    tab_to(page, transfer.get_by_label("Note for the next CSR"))
    page.keyboard.type("Wants to change the card")
    tab_to(page, transfer.get_by_role("button", name="Transfer", exact=True))
    page.keyboard.press("Enter")
    expect(transfer).to_be_hidden(timeout=TIMEOUT_MS)
    expect(log).to_contain_text("Transferred to General", timeout=TIMEOUT_MS)
    accept_pending(first, csr2)
    expect(box).to_be_hidden(timeout=TIMEOUT_MS)
    first.refresh_from_db()
    assert first.queue.slug == "general"
    assert first.assigned_csr == csr2

    # The ended tab closes with Delete; focus stays on the page.
    dana = page.get_by_role("tab", name=re.compile("Dana Reyes"))
    tab_to(page, dana, backwards=True)
    page.keyboard.press("Delete")
    expect(dana).to_have_count(0)

    # A second chat: accept, download the transcript, end it.
    second = escalate(demo, name="Sam Keys")
    popup = page.get_by_role("dialog", name=re.compile("Sam Keys"))
    expect(popup.get_by_role("button", name="Accept")).to_be_focused(timeout=TIMEOUT_MS)
    page.keyboard.press("Enter")
    panel = page.get_by_role("tabpanel")
    box = panel.get_by_role("textbox", name="Message")
    expect(box).to_be_focused(timeout=TIMEOUT_MS)
    page.keyboard.type("Hello Sam.")
    page.keyboard.press("Enter")
    expect(panel.locator(".msg--csr").last).to_have_attribute(
        "data-delivery", re.compile("sent|read"), timeout=TIMEOUT_MS
    )
    actions = panel.get_by_role("button", name="Actions")
    tab_to(page, actions, backwards=True)
    page.keyboard.press("ArrowDown")
    download = panel.get_by_role("menuitem", name=re.compile("^Download transcripts"))
    arrow_to(page, download, "ArrowDown")
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    saved = Path(info.value.path()).read_text(encoding="utf-8")
    assert info.value.suggested_filename == "ChatTranscript.txt"
    assert "Hello Sam." in saved

    tab_to(page, actions, backwards=True)
    page.keyboard.press("ArrowDown")
    arrow_to(page, panel.get_by_role("menuitem", name="End chat"), "ArrowDown")
    page.keyboard.press("Enter")
    confirm = page.get_by_role("alertdialog", name="End chat?")
    expect(confirm).to_be_visible()
    end = confirm.get_by_role("button", name="End chat")
    tab_to(page, end)
    page.keyboard.press("Enter")
    expect(panel.get_by_role("log", name="Conversation")).to_contain_text(
        "ended the chat", timeout=TIMEOUT_MS
    )
    second.refresh_from_db()
    assert second.status == InteractionStatus.ENDED
    # The ended chat's tab closes from its panel's toolbar as well.
    close = panel.get_by_role("button", name=re.compile("^Close tab"))
    tab_to(page, close, backwards=True)
    page.keyboard.press("Enter")
    expect(page.get_by_role("tab")).to_have_count(0)
    expect(page.locator("#empty-state")).to_be_visible()
    assert len(status_posts) == 1
    assert dialogs == []


def test_a_customer_does_the_whole_loop_by_keyboard(
    page: Page, portal_server, demo, dialogs, screenshot_dir
):
    """Open the widget with Enter, talk to the bot, escalate with Enter on "Talk to an
    agent", chat with the CSR who takes it, and end the chat."""
    page.goto(f"{portal_server.url}/demo/")
    launcher = page.get_by_role("button", name="Chat with us")
    tab_to(page, launcher)
    page.keyboard.press("Enter")
    chat = widget(page)
    box = chat.get_by_role("textbox", name="Message")
    expect(box).to_be_focused()
    log = chat.get_by_role("log", name="Conversation")
    expect(log).to_contain_text(GREETING, timeout=TIMEOUT_MS)
    page.keyboard.type("I'm Dana")
    page.keyboard.press("Enter")
    expect(log).to_contain_text("Nice to meet you, Dana.", timeout=TIMEOUT_MS)
    page.keyboard.type("I was charged twice for one order")
    page.keyboard.press("Enter")
    expect(log).to_contain_text(NOT_SURE, timeout=TIMEOUT_MS)

    # The conversation scrolls by keyboard.
    tab_to(page, log.locator("ol"), backwards=True)
    page.keyboard.press("Home")
    talk = chat.get_by_role("button", name="Talk to an agent")
    tab_to(page, talk)
    page.keyboard.press("Enter")
    # The chat's status line (the satisfaction survey has a status line of its own).
    status = chat.locator("#cpw-status")
    expect(status).to_have_text(re.compile(r"^You are number 1 in the queue"), timeout=TIMEOUT_MS)

    csr = demo_user("csr1")
    QueueMembership.objects.filter(user=csr, queue__slug="billing").update(joined=True)
    csr_status_set(user=csr, status="available")
    interaction = Interaction.objects.get(customer__name="Dana")
    accept_pending(interaction, csr)
    expect(status).to_have_text(re.compile(r"^You are chatting with "), timeout=TIMEOUT_MS)
    message_send(
        interaction_id=interaction.pk,
        sender_kind=SenderKind.CSR,
        text="Hi Dana, I can fix that.",
        client_msg_id=str(uuid.uuid4()),
        user=csr,
    )
    expect(log).to_contain_text("Hi Dana, I can fix that.", timeout=TIMEOUT_MS)
    tab_to(page, box)
    page.keyboard.type("Thank you!")
    page.keyboard.press("Enter")
    expect(log.locator(".cpw-msg--customer").last).to_have_attribute(
        "data-delivery", re.compile("sent|read"), timeout=TIMEOUT_MS
    )
    assert Message.objects.filter(interaction=interaction, text="Thank you!").count() == 1
    shot(page, screenshot_dir, "keyboard-widget-mid-chat.png")

    tab_to(page, chat.get_by_role("button", name="End chat"), backwards=True)
    page.keyboard.press("Enter")
    expect(status).to_have_text("Chat ended", timeout=TIMEOUT_MS)
    expect(chat.get_by_role("button", name="Start a new chat")).to_be_focused()
    interaction.refresh_from_db()
    assert interaction.status == InteractionStatus.ENDED
    assert interaction.ended_by == "customer"
    page.keyboard.press("Escape")
    expect(chat).to_be_hidden()
    expect(launcher).to_be_focused()
    assert dialogs == []
