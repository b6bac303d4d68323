"""My Work's notifications in a real browser against daphne, with a customer, two CSRs and
a manager: a new offer, a customer message in a chat not in front, a transfer to the CSR
and a manager's whisper each give exactly one item in the notification centre and one
sound; the CSR's own messages, the chat in front and the replays after a reload give none;
the title counts what is not seen yet; the sound setting is saved and respected; desktop
notices appear only while the page is hidden, after the CSR turned them on."""

import re
import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

from chat.models import Interaction, Message, SenderKind
from chat.services.interactions import interaction_end
from portal.models import CSRPreferences
from routing.models import CSRProfile, CSRStatus, Offer, OfferStatus, QueueMembership
from routing.services.answers import offer_accept
from routing.services.transfers import interaction_transfer_to_csr
from supervision.services.joins import chat_whisper
from tests.e2e.a11y import assert_accessible
from tests.e2e.pages import log_in, shot
from tests.e2e.test_portal import customer_says, demo_user, escalate
from tests.factories import route_chat

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TIMEOUT_MS = 15_000
TITLE = "My Work · Interaction Portal"


def _available(username: str) -> None:
    user = demo_user(username)
    CSRProfile.objects.filter(user=user).update(status=CSRStatus.AVAILABLE)
    QueueMembership.objects.filter(user=user, queue__slug="billing").update(joined=True)


def _accepted(demo, name: str, username: str) -> Interaction:
    """A chat escalated and accepted by `username` before their page opens."""
    interaction = escalate(demo, name=name)
    route_chat(interaction_id=interaction.pk)
    offer = Offer.objects.get(interaction=interaction, status=OfferStatus.PENDING)
    assert offer.csr.username == username
    offer_accept(offer_id=offer.pk, user=offer.csr)
    return interaction


def _items(page: Page, kind: str | None = None):
    selector = "#notify-list > li" + (f'[data-kind="{kind}"]' if kind else "")
    return page.locator(selector)


def _plays(page: Page) -> int:
    return int(page.locator("#notify-centre").get_attribute("data-sound-plays") or "0")


def _open_my_work(page: Page, base: str, *chats: Interaction) -> None:
    log_in(page, base, "csr1", "csr1-demo")
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
    for chat in chats:  # every panel has had its replay
        expect(page.locator(f"#panel-{chat.pk} [data-field='log']")).to_contain_text(
            "joined the chat", timeout=TIMEOUT_MS
        )
    page.wait_for_timeout(500)


# axe is injected into the page: the context lets it past the CSP (tests/e2e/a11y.py).
@pytest.mark.browser_context_args(bypass_csp=True)
def test_each_event_notifies_exactly_once(page: Page, portal_server, demo, dialogs, screenshot_dir):
    """Offer, message in a background chat, whisper and transfer: one item and one sound
    each; nothing for the chat in front, the CSR's own message or a reload's replay."""
    _available("csr1")
    csr1, csr2, manager = demo_user("csr1"), demo_user("csr2"), demo_user("manager")
    first = _accepted(demo, "First Customer", "csr1")
    _open_my_work(page, portal_server.url, first)
    expect(_items(page)).to_have_count(0)  # the replay of the open chat is history
    assert _plays(page) == 0

    # 1. A new offer: one item, one sound, the pop-up's title.
    second = escalate(demo, name="Second Customer")
    popup = page.get_by_role("dialog", name=re.compile("Second Customer"))
    expect(popup).to_be_visible(timeout=TIMEOUT_MS)
    expect(_items(page, "offer")).to_have_count(1)
    expect(_items(page, "offer")).to_contain_text("Incoming chat Second Customer · Billing")
    assert _plays(page) == 1
    expect(page).to_have_title("(1) Incoming chat — Second Customer")
    popup.get_by_role("button", name="Accept").click()
    tab2 = page.get_by_role("tab", name=re.compile("Second Customer"))
    expect(tab2).to_have_attribute("aria-selected", "true", timeout=TIMEOUT_MS)
    expect(page).to_have_title(TITLE)  # the offer was answered: seen
    expect(page.locator(f"#panel-{second.pk} [data-field='log']")).to_contain_text(
        "joined the chat", timeout=TIMEOUT_MS
    )

    # 2. The customer of the chat in front writes: no notification (it is on screen).
    customer_says(second, "I am right here")
    expect(page.locator(f"#panel-{second.pk} [data-field='log']")).to_contain_text(
        "I am right here", timeout=TIMEOUT_MS
    )
    # The CSR's own message: none either.
    box = page.locator(f"#panel-{second.pk} [data-field='composer'] textarea")
    box.fill("How can I help?")
    box.press("Enter")
    expect(page.locator(f"#panel-{second.pk} .msg--csr").last).to_contain_text(
        "Sent", timeout=TIMEOUT_MS
    )
    page.wait_for_timeout(500)
    expect(_items(page)).to_have_count(1)  # still only the offer

    # 3. The customer of the chat behind writes: one item, one sound, the title counts it.
    customer_says(first, "Are you still there?")
    expect(_items(page, "message")).to_have_count(1, timeout=TIMEOUT_MS)
    expect(_items(page, "message")).to_contain_text("First Customer wrote Are you still there?")
    expect(page).to_have_title(f"(1) {TITLE}")
    expect(page.locator("#notify-count")).to_have_text("1 new")
    assert _plays(page) == 2

    # 4. A manager's whisper in a chat (here the one behind): one item, one sound.
    chat_whisper(
        manager=manager,
        interaction_id=first.pk,
        text="Offer the refund",
        client_msg_id=str(uuid.uuid4()),
    )
    expect(_items(page, "whisper")).to_have_count(1, timeout=TIMEOUT_MS)
    expect(_items(page, "whisper")).to_contain_text("Offer the refund")
    expect(page).to_have_title(f"(2) {TITLE}")
    assert _plays(page) == 3
    shot(page, screenshot_dir, "notifications-centre.png")
    assert_accessible(page, "My Work with notifications")

    # Opening the chat marks its notifications seen; they stay listed.
    _items(page, "whisper").get_by_role("button", name="Open chat").click()
    expect(page.get_by_role("tab", name=re.compile("First Customer"))).to_have_attribute(
        "aria-selected", "true"
    )
    expect(page).to_have_title(TITLE)
    expect(page.locator("#notify-list > li[data-unseen]")).to_have_count(0)
    expect(page.locator("#notify-count")).to_be_hidden()

    # 5. A transfer to this CSR: one item (kind transfer), one sound.
    third = _accepted_by_csr2(demo)
    interaction_transfer_to_csr(interaction_id=third.pk, user=csr2, target=csr1, note="VIP")
    popup = page.get_by_role("dialog", name=re.compile("Third Customer"))
    expect(popup).to_be_visible(timeout=TIMEOUT_MS)
    expect(popup).to_contain_text("Incoming transfer")
    expect(_items(page, "transfer")).to_have_count(1)
    expect(_items(page, "transfer")).to_contain_text("Transfer from Blake Chen Third Customer")
    assert _plays(page) == 4
    popup.get_by_role("button", name="Decline").click()
    expect(popup).to_be_hidden(timeout=TIMEOUT_MS)

    # A reload replays both chats and the state: nothing is notified again.
    page.reload()
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
    for chat in (first, second):
        expect(page.locator(f"#panel-{chat.pk} [data-field='log']")).to_contain_text(
            "Are you still there?" if chat == first else "I am right here", timeout=TIMEOUT_MS
        )
    page.wait_for_timeout(1000)
    expect(_items(page)).to_have_count(0)
    assert _plays(page) == 0
    # ...and the next live message still notifies, once.
    page.get_by_role("tab", name=re.compile("Second Customer")).click()
    customer_says(first, "One more thing")
    expect(_items(page, "message")).to_have_count(1, timeout=TIMEOUT_MS)
    page.wait_for_timeout(1000)
    expect(_items(page)).to_have_count(1)
    assert _plays(page) == 1
    interaction_end(interaction_id=third.pk, by=SenderKind.CSR, user=csr2)


def _accepted_by_csr2(demo) -> Interaction:
    """A chat csr2 accepted while csr1 was away (so routing passed csr1 by)."""
    _available("csr2")
    csr1 = demo_user("csr1")
    CSRProfile.objects.filter(user=csr1).update(status=CSRStatus.AWAY)
    try:
        return _accepted(demo, "Third Customer", "csr2")
    finally:
        CSRProfile.objects.filter(user=csr1).update(status=CSRStatus.AVAILABLE)


# axe is injected into the page: the context lets it past the CSP (tests/e2e/a11y.py).
@pytest.mark.browser_context_args(bypass_csp=True)
def test_sound_setting_is_saved_and_respected(
    page: Page, portal_server, demo, dialogs, screenshot_dir
):
    """Sound off is saved for the CSR (and shown after a reload): notifications still
    list, without a sound; Test sound plays anyway; the volume is saved; sound back on
    plays again."""
    _available("csr1")
    first = _accepted(demo, "First Customer", "csr1")
    second = _accepted(demo, "Second Customer", "csr1")
    _open_my_work(page, portal_server.url, first, second)
    page.get_by_text("Sound and desktop notifications").click()
    sound = page.get_by_role("switch", name="Sound")
    expect(sound).to_have_attribute("aria-checked", "true")
    sound.click()
    expect(page.locator("#notify-saved")).to_have_text("Saved.", timeout=TIMEOUT_MS)
    expect(sound).to_have_attribute("aria-checked", "false")
    assert CSRPreferences.objects.get(user=demo_user("csr1")).sound_enabled is False
    page.get_by_label("Volume").fill("40")
    expect(page.locator("#notify-saved")).to_have_text("Saved.", timeout=TIMEOUT_MS)
    for _ in range(50):
        if CSRPreferences.objects.get(user=demo_user("csr1")).sound_volume == 40:
            break
        page.wait_for_timeout(100)
    assert CSRPreferences.objects.get(user=demo_user("csr1")).sound_volume == 40
    shot(page, screenshot_dir, "notifications-settings.png")
    assert_accessible(page, "My Work with the notification settings open")

    page.reload()
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
    expect(page.get_by_role("switch", name="Sound", include_hidden=True)).to_have_attribute(
        "aria-checked", "false"
    )
    expect(page.get_by_label("Volume", exact=True)).to_have_value("40")
    expect(page.locator(f"#panel-{second.pk} [data-field='log']")).to_contain_text(
        "joined the chat", timeout=TIMEOUT_MS
    )
    page.wait_for_timeout(500)
    customer_says(second, "Quiet please")  # the first chat is in front
    expect(_items(page, "message")).to_have_count(1, timeout=TIMEOUT_MS)
    page.wait_for_timeout(300)
    assert _plays(page) == 0
    page.get_by_text("Sound and desktop notifications").click()
    page.get_by_role("button", name="Test sound").click()
    assert _plays(page) == 1
    page.get_by_role("switch", name="Sound").click()
    expect(page.get_by_role("switch", name="Sound")).to_have_attribute(
        "aria-checked", "true", timeout=TIMEOUT_MS
    )
    customer_says(second, "Loud again")
    expect(_items(page, "message")).to_have_count(2, timeout=TIMEOUT_MS)
    assert _plays(page) == 2


# Replaces the Notification API and the page's visibility, so the test can see which
# desktop notices the page raises and hide the page as a minimised window would.
DESKTOP_STUB = """
(() => {
  window.__notices = [];
  window.__hidden = false;
  // Kept across reloads, as the browser keeps a site's permission.
  let permission = localStorage.getItem("__permission") || "default";
  class FakeNotification {
    constructor(title, options) {
      window.__notices.push({ title, body: options.body, tag: options.tag });
    }
    static get permission() { return permission; }
    static requestPermission() {
      window.__asked = (window.__asked || 0) + 1;
      permission = "granted";
      localStorage.setItem("__permission", permission);
      return Promise.resolve(permission);
    }
    addEventListener() {}
    close() {}
  }
  window.Notification = FakeNotification;
  const hidden = () => window.__hidden;
  Object.defineProperty(Document.prototype, "hidden", { get: hidden });
  Object.defineProperty(Document.prototype, "visibilityState", {
    get: () => (hidden() ? "hidden" : "visible"),
  });
})();
"""


def test_desktop_notices_only_while_hidden_after_turning_them_on(
    browser: Browser, portal_server, demo, screenshot_dir
):
    """The permission is asked only when the CSR clicks the explained button, once; a
    desktop notice comes only while the page is hidden; one per event."""
    _available("csr1")
    first = _accepted(demo, "First Customer", "csr1")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(DESKTOP_STUB)
    page = context.new_page()
    try:
        _open_my_work(page, portal_server.url, first)
        assert page.evaluate("window.__asked || 0") == 0  # never asked by itself
        page.get_by_text("Sound and desktop notifications").click()
        expect(page.locator("#notify-centre")).to_contain_text("while My Work is in the background")
        turn_on = page.get_by_role("button", name="Turn on desktop notifications")
        turn_on.click()
        expect(turn_on).to_be_hidden()
        expect(page.locator("#notify-desktop-state")).to_have_text(
            "Desktop notifications are on while My Work is in the background."
        )
        assert page.evaluate("window.__asked") == 1
        # Visible page: an in-page item, no desktop notice.
        customer_says(first, "Seen in the page")
        page.wait_for_timeout(1000)
        assert page.evaluate("window.__notices.length") == 0
        expect(_items(page)).to_have_count(0)  # the chat is in front of a visible page
        # Hidden page: the same chat's message notifies, on the desktop too, once.
        page.evaluate("window.__hidden = true")
        customer_says(first, "Anyone?")
        expect(_items(page, "message")).to_have_count(1, timeout=TIMEOUT_MS)
        page.wait_for_timeout(500)
        notices = page.evaluate("window.__notices")
        assert [(n["title"], n["body"]) for n in notices] == [("First Customer wrote", "Anyone?")]
        assert notices[0]["tag"].startswith(f"msg:{first.pk}:")
        page.evaluate(
            "window.__hidden = false; document.dispatchEvent(new Event('visibilitychange'))"
        )
        expect(page).to_have_title(TITLE)
        page.reload()
        expect(page.get_by_role("button", name="Turn on desktop notifications")).to_be_hidden()
    finally:
        context.close()


# Lets the test drop a chat's socket and keep it from reconnecting for a while (a new
# socket of that chat goes to a closed port until window.__blockChat is cleared).
SOCKET_DROPPER = """
(() => {
  const Native = window.WebSocket;
  const open = [];
  window.__blockChat = null;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      const chat = window.__blockChat;
      const blocked = chat !== null && String(url).includes(`/ws/chat/${chat}/`);
      super(blocked ? "ws://127.0.0.1:9/" : url, protocols);
      open.push([String(url), this]);
    }
  };
  window.__dropChat = (id) => {
    for (const [url, socket] of open) if (url.includes(`/ws/chat/${id}/`)) socket.close();
  };
})();
"""


def test_a_reconnect_or_a_second_tab_never_notifies_twice(
    browser: Browser, portal_server, demo, screenshot_dir
):
    """Two My Work tabs of the same CSR: one notification between them for a message. A
    chat socket that drops and resumes notifies what it missed once, and nothing it had."""
    _available("csr1")
    first = _accepted(demo, "First Customer", "csr1")
    second = _accepted(demo, "Second Customer", "csr1")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(SOCKET_DROPPER)
    try:
        page = context.new_page()
        _open_my_work(page, portal_server.url, first, second)
        other = context.new_page()
        other.goto(f"{portal_server.url}/")
        expect(other.locator(f"#panel-{second.pk} [data-field='log']")).to_contain_text(
            "joined the chat", timeout=TIMEOUT_MS
        )
        other.wait_for_timeout(500)
        both = (page, other)

        customer_says(second, "Hello from behind")  # behind the first chat in both tabs
        for tab in both:
            expect(tab.locator(f"#panel-{second.pk} [data-field='log']")).to_contain_text(
                "Hello from behind", timeout=TIMEOUT_MS
            )
        page.wait_for_timeout(1000)
        assert sum(_items(tab).count() for tab in both) == 1
        assert sum(_plays(tab) for tab in both) == 1
        other.close()

        # The second chat's socket drops and cannot come back until the customer wrote.
        before = _items(page).count()
        panel = page.locator(f"#panel-{second.pk}")
        page.evaluate(f"window.__blockChat = {second.pk}; window.__dropChat({second.pk})")
        expect(panel).not_to_have_attribute("data-connection", "open", timeout=TIMEOUT_MS)
        customer_says(second, "Written while you were away")
        page.evaluate("window.__blockChat = null")
        expect(panel).to_have_attribute("data-connection", "open", timeout=TIMEOUT_MS * 2)
        expect(
            panel.locator("[data-field='log']").get_by_text("Written while you were away")
        ).to_have_count(1, timeout=TIMEOUT_MS)
        page.wait_for_timeout(1000)
        expect(_items(page, "message")).to_have_count(before + 1)
        expect(_items(page, "message").first).to_contain_text("Written while you were away")
        assert _plays(page) == before + 1
    finally:
        context.close()


def test_an_offer_on_another_portal_page_is_announced_once(
    browser: Browser, portal_server, demo, screenshot_dir
):
    """On Recent work an offer plays the sound and shows in the title and the banner; with
    My Work open in another tab the two pages announce it once between them; a CSR whose
    sound is off hears nothing there either."""
    _available("csr1")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        recent = context.new_page()
        log_in(recent, portal_server.url, "csr1", "csr1-demo")
        recent.goto(f"{portal_server.url}/recent/")
        chip = recent.locator("#presence")
        expect(chip).to_have_attribute("data-status", "available", timeout=TIMEOUT_MS)
        recent.wait_for_timeout(500)

        escalate(demo, name="Roaming Customer")
        expect(recent.locator("#presence-note")).to_contain_text(
            "Incoming chat from Roaming Customer", timeout=TIMEOUT_MS
        )
        expect(recent).to_have_title("(1) Incoming chat — Roaming Customer")
        expect(chip).to_have_attribute("data-sound-plays", "1")
        shot(recent, screenshot_dir, "notifications-recent-work-offer.png")

        # My Work opened now gets the same offer from its state: no second sound.
        work = context.new_page()
        work.goto(f"{portal_server.url}/")
        popup = work.get_by_role("dialog", name=re.compile("Roaming Customer"))
        expect(popup).to_be_visible(timeout=TIMEOUT_MS)
        work.wait_for_timeout(1000)
        expect(_items(work)).to_have_count(0)
        assert _plays(work) == 0
        popup.get_by_role("button", name="Decline").click()
        expect(recent).to_have_title(re.compile("^Recent work"), timeout=TIMEOUT_MS)
        expect(chip).to_have_attribute("data-sound-plays", "1")
        work.close()

        # Sound off: the next offer is shown on Recent work, silently.
        CSRPreferences.objects.create(user=demo_user("csr1"), sound_enabled=False)
        recent.reload()
        expect(chip).to_have_attribute("data-status", "available", timeout=TIMEOUT_MS)
        recent.wait_for_timeout(1000)
        escalate(demo, name="Quiet Customer")
        expect(recent.locator("#presence-note")).to_contain_text(
            "Incoming chat from Quiet Customer", timeout=TIMEOUT_MS
        )
        recent.wait_for_timeout(500)
        assert chip.get_attribute("data-sound-plays") is None
    finally:
        context.close()


def test_the_interaction_window_announces_a_customer_message_only_while_hidden(
    browser: Browser, portal_server, demo
):
    """A chat worked in its interaction window alone: a customer message while the window
    is seen makes no sound; while it is hidden one does, once, with a desktop notice; the
    CSR's own reply never does."""
    _available("csr1")
    interaction = _accepted(demo, "Window Customer", "csr1")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(DESKTOP_STUB)
    try:
        page = context.new_page()
        log_in(page, portal_server.url, "csr1", "csr1-demo")
        expect(page.locator("#connection")).to_have_attribute(
            "data-state", "open", timeout=TIMEOUT_MS
        )
        page.evaluate("localStorage.setItem('__permission', 'granted')")
        page.goto(f"{portal_server.url}/interactions/{interaction.pk}/")  # My Work closes
        panel = page.locator("[data-panel]")
        expect(panel).to_have_attribute("data-connection", "open", timeout=TIMEOUT_MS)
        chip = page.locator("#presence")
        log = panel.locator("[data-field='log']")

        customer_says(interaction, "Written while you look")
        expect(log).to_contain_text("Written while you look", timeout=TIMEOUT_MS)
        panel.get_by_role("textbox", name="Message").fill("Checking that now")
        panel.get_by_role("textbox", name="Message").press("Enter")
        expect(log).to_contain_text("Checking that now", timeout=TIMEOUT_MS)
        page.wait_for_timeout(1000)
        assert (chip.get_attribute("data-sound-plays") or "0") == "0"

        page.evaluate("window.__hidden = true")
        customer_says(interaction, "Are you still there?")
        expect(chip).to_have_attribute("data-sound-plays", "1", timeout=TIMEOUT_MS)
        seq = Message.objects.get(interaction=interaction, text="Are you still there?").seq
        assert page.evaluate("window.__notices") == [
            {
                "title": "Window Customer wrote",
                "body": "Are you still there?",
                "tag": f"msg:{interaction.pk}:{seq}",
            }
        ]
        # Shown again and reloaded: the replay announces nothing.
        page.evaluate(
            "window.__hidden = false; document.dispatchEvent(new Event('visibilitychange'))"
        )
        page.reload()
        expect(panel).to_have_attribute("data-connection", "open", timeout=TIMEOUT_MS)
        page.evaluate("window.__hidden = true")
        page.wait_for_timeout(1000)
        assert (page.locator("#presence").get_attribute("data-sound-plays") or "0") == "0"
        assert page.evaluate("window.__notices") == []
    finally:
        context.close()
