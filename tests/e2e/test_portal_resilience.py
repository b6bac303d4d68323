"""What the CSR workspace keeps when the connection or the page goes away: a message
still "Sending…" survives a reload and is stored once; a workspace whose agent socket
comes back opens the chats it was given meanwhile; a CSR the portal set Offline sees
why; the workspace and the widget say when the server's live updates are delayed."""

import json
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, WebSocketRoute, expect

from chat.demo_bot import GREETING
from chat.models import Message, SenderKind
from config.sockets import LIVE_DELAYED_MESSAGE, LIVE_RESTORED_MESSAGE
from routing.models import Offer, OfferStatus, QueueMembership
from routing.selectors.csrs import OPEN_PAGE_SECONDS
from routing.services.answers import offer_accept
from routing.services.presence import csr_status_set, presence_sweep
from tests.e2e.pages import log_in, say, shot, widget
from tests.e2e.test_portal import TIMEOUT_MS, demo_user, escalate

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


class NetworkSwitch:
    """The page's WebSockets, routed through Playwright so a test can cut them: Chromium's
    offline emulation leaves open WebSockets alone. While cut, open sockets are closed
    (1012, as when a server restarts) and new ones are closed as soon as they open."""

    def __init__(self, page: Page) -> None:
        self.cut_off = False
        self.live: list[tuple[WebSocketRoute, WebSocketRoute]] = []
        page.route_web_socket(re.compile(r"/ws/"), self.handle)

    def handle(self, ws: WebSocketRoute) -> None:
        if self.cut_off:
            ws.close(code=1012, reason="network down")
            return
        self.live.append((ws, ws.connect_to_server()))

    def cut(self) -> None:
        self.cut_off = True
        for ws, server in self.live:
            server.close(code=1012, reason="network down")
            ws.close(code=1012, reason="network down")
        self.live = []

    def restore(self) -> None:
        self.cut_off = False


def accepted_chat(demo, csr, *, name: str):
    QueueMembership.objects.filter(user=csr, queue__slug="billing").update(joined=True)
    csr_status_set(user=csr, status="available")
    interaction = escalate(demo, name=name)
    offer = Offer.objects.get(interaction=interaction, status=OfferStatus.PENDING)
    offer_accept(offer_id=offer.pk, user=csr)
    return interaction


def test_a_message_still_sending_survives_a_reload_and_is_stored_once(
    page: Page,
    portal_server,
    demo,
    screenshot_dir,
):
    """The server never gets the CSR's send (the socket drops `send` frames), so the
    message stays "Sending…"; after a reload it is shown again, sent with the same
    client_msg_id, stored once and turns to Sent."""
    csr1 = demo_user("csr1")
    interaction = accepted_chat(demo, csr1, name="Robin Reload")
    dropped: list[dict] = []
    dropping = {"on": True}

    def drop_sends(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def forward(message) -> None:
            frame = json.loads(message)
            if dropping["on"] and frame.get("type") == "send":
                dropped.append(frame)
                return
            server.send(message)

        ws.on_message(forward)

    page.route_web_socket(re.compile(r"/ws/chat/\d+/"), drop_sends)
    log_in(page, portal_server.url, "csr1", "csr1-demo")
    panel = page.locator(f"#panel-{interaction.pk}")
    log = panel.get_by_role("log", name="Conversation")
    expect(log).to_contain_text("joined the chat", timeout=TIMEOUT_MS)

    box = panel.get_by_role("textbox", name="Message")
    box.fill("Kept across the reload")
    box.press("Enter")
    mine = log.locator(".msg--csr").last
    expect(mine).to_have_attribute("data-delivery", "sending")
    expect(mine).to_contain_text("Sending…")
    page.wait_for_timeout(500)
    assert [frame["text"] for frame in dropped] == ["Kept across the reload"]
    assert not Message.objects.filter(interaction=interaction, sender_kind=SenderKind.CSR).exists()

    dropping["on"] = False
    page.reload()
    panel = page.locator(f"#panel-{interaction.pk}")
    log = panel.get_by_role("log", name="Conversation")
    mine = log.locator(".msg--csr")
    expect(mine).to_have_count(1, timeout=TIMEOUT_MS)
    expect(mine).to_contain_text("Kept across the reload")
    expect(mine).to_have_attribute("data-delivery", re.compile("sent|read"), timeout=TIMEOUT_MS)
    stored = Message.objects.get(interaction=interaction, sender_kind=SenderKind.CSR)
    assert stored.client_msg_id == dropped[0]["client_msg_id"]
    assert stored.text == "Kept across the reload"

    # Nothing is left to resend: another reload shows the stored message once.
    page.reload()
    mine = page.locator(f"#panel-{interaction.pk} .msg--csr")
    expect(mine).to_have_count(1, timeout=TIMEOUT_MS)
    expect(mine).to_have_attribute("data-seq", str(stored.seq))
    shot(page, screenshot_dir, "portal-sending-survives-reload.png")


def test_a_workspace_back_online_opens_the_chats_it_was_given_meanwhile(
    page: Page,
    portal_server,
    demo,
):
    """While the CSR's sockets are cut, a chat is accepted for them elsewhere (another
    window); when the agent socket is back, the workspace opens its tab by itself."""
    csr1 = demo_user("csr1")
    first = accepted_chat(demo, csr1, name="First Online")
    network = NetworkSwitch(page)
    log_in(page, portal_server.url, "csr1", "csr1-demo")
    expect(page.get_by_role("tab", name=re.compile("First Online"))).to_be_visible(
        timeout=TIMEOUT_MS
    )
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)

    network.cut()
    expect(page.locator("#connection")).not_to_have_attribute(
        "data-state", "open", timeout=TIMEOUT_MS
    )
    second = accepted_chat(demo, csr1, name="Second Meanwhile")
    expect(page.get_by_role("tab", name=re.compile("Second Meanwhile"))).to_have_count(0)
    network.restore()

    tab = page.get_by_role("tab", name=re.compile("Second Meanwhile"))
    expect(tab).to_be_visible(timeout=TIMEOUT_MS * 2)
    expect(page.get_by_role("tab", name=re.compile("First Online"))).to_have_count(1)
    expect(page.locator("#capacity")).to_have_text("Chats: 2 of 3", timeout=TIMEOUT_MS)
    tab.click()
    log = page.locator(f"#panel-{second.pk}").get_by_role("log", name="Conversation")
    expect(log).to_contain_text("joined the chat", timeout=TIMEOUT_MS)
    assert first.pk != second.pk


class ServerFrames:
    """Passes the page's sockets matching `pattern` through to the server, and sends the
    page frames of the server's own making (as the server sends while Redis is down)."""

    def __init__(self, page: Page, pattern: str) -> None:
        self.routes: list[WebSocketRoute] = []
        page.route_web_socket(re.compile(pattern), self.handle)

    def handle(self, ws: WebSocketRoute) -> None:
        ws.connect_to_server()
        self.routes.append(ws)

    def send(self, url_part: str, frame: dict) -> None:
        """To the newest socket whose URL contains `url_part`."""
        route = [ws for ws in self.routes if url_part in ws.url][-1]
        route.send(json.dumps(frame))


DELAYED = {"type": "live.delayed", "message": LIVE_DELAYED_MESSAGE}
RESTORED = {"type": "live.restored", "message": LIVE_RESTORED_MESSAGE}


def test_a_csr_the_portal_set_offline_sees_why(page: Page, portal_server, demo, screenshot_dir):
    """The presence sweep sets a silent CSR Offline with reason "Disconnected": the
    workspace shows "Offline — Disconnected" and the note, also after a reload (from the
    `state` snapshot); going Available again shows a plain Offline option."""
    csr1 = demo_user("csr1")
    csr_status_set(user=csr1, status="available")
    log_in(page, portal_server.url, "csr1", "csr1-demo")
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
    chosen = page.locator("#status-select option:checked")
    expect(chosen).to_have_text("Available")

    # Silent for longer than an open page counts (OPEN_PAGE_SECONDS), then the grace.
    grace = settings.PORTAL["PRESENCE_GRACE_SECONDS"]
    presence_sweep(now=timezone.now() + timedelta(seconds=OPEN_PAGE_SECONDS + grace + 1))
    expect(chosen).to_have_text("Offline — Disconnected", timeout=TIMEOUT_MS)
    expect(page.locator("#status-dot")).to_have_attribute("data-status", "offline")
    expect(page.locator("#status-note")).to_have_text(
        "You were set Offline because your connection was lost."
    )
    shot(page, screenshot_dir, "portal-offline-disconnected.png")

    page.reload()
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
    expect(page.locator("#status-select option:checked")).to_have_text("Offline — Disconnected")

    page.get_by_label("Your status").select_option("available")
    expect(page.locator("#status-dot")).to_have_attribute("data-status", "available")
    expect(page.locator('#status-select option[value="offline"]')).to_have_text("Offline")


def test_the_workspace_says_when_live_updates_are_delayed_and_keeps_working(
    page: Page, portal_server, demo, screenshot_dir
):
    """`live.delayed` on the agent and chat sockets: the connection badge and the chat
    panel say so, and the CSR still sends; `live.restored`: both say updates are back,
    then return to normal."""
    csr1 = demo_user("csr1")
    interaction = accepted_chat(demo, csr1, name="Dale Delay")
    frames = ServerFrames(page, r"/ws/")
    log_in(page, portal_server.url, "csr1", "csr1-demo")
    panel = page.locator(f"#panel-{interaction.pk}")
    expect(panel.get_by_role("log", name="Conversation")).to_contain_text(
        "joined the chat", timeout=TIMEOUT_MS
    )
    connection = page.locator("#connection")
    expect(connection).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
    note = panel.locator('[data-field="live-note"]')
    expect(note).to_be_hidden()

    frames.send("/ws/agent/", DELAYED)
    frames.send(f"/ws/chat/{interaction.pk}/", DELAYED)
    expect(connection).to_have_attribute("data-state", "delayed")
    expect(page.locator("#connection-text")).to_have_text("Live updates delayed")
    expect(note).to_be_visible()
    expect(note).to_have_text(re.compile(r"^Live updates are delayed"))
    box = panel.get_by_role("textbox", name="Message")
    box.fill("Still here while it reconnects")
    box.press("Enter")
    mine = panel.locator(".msg--csr").last
    expect(mine).to_have_attribute("data-delivery", re.compile("sent|read"), timeout=TIMEOUT_MS)
    shot(page, screenshot_dir, "portal-live-updates-delayed.png")

    frames.send("/ws/agent/", RESTORED)
    frames.send(f"/ws/chat/{interaction.pk}/", RESTORED)
    expect(connection).to_have_attribute("data-state", "open")
    expect(page.locator("#connection-text")).to_have_text("Live updates are back")
    expect(note).to_have_text("Live updates are back.")
    expect(page.locator("#connection-text")).to_have_text("Connected", timeout=TIMEOUT_MS)
    expect(note).to_be_hidden(timeout=TIMEOUT_MS)


def test_the_widget_says_when_live_updates_are_delayed(
    page: Page, portal_server, demo, screenshot_dir
):
    """`live.delayed` on the customer socket: the widget's status line says replies may
    be delayed and the customer can still write; `live.restored`: "Connected again.",
    then the usual status."""
    frames = ServerFrames(page, r"/ws/customer/")
    page.goto(f"{portal_server.url}/demo/")
    page.get_by_role("button", name="Chat with us").click()
    conversation = widget(page).get_by_role("log", name="Conversation")
    expect(conversation).to_contain_text(GREETING, timeout=TIMEOUT_MS)
    say(page, "Dee")
    expect(conversation).to_contain_text("Nice to meet you, Dee.", timeout=TIMEOUT_MS)
    say(page, "agent")
    status = widget(page).get_by_role("status")
    queued = re.compile(r"^You are number 1 in the queue")
    expect(status).to_have_text(queued, timeout=TIMEOUT_MS)

    frames.send("/ws/customer/", DELAYED)
    expect(status).to_have_text(
        "Replies may be delayed a moment. You can keep writing: your messages are saved."
    )
    expect(widget(page).get_by_role("textbox", name="Message")).to_be_enabled()
    shot(page, screenshot_dir, "widget-live-updates-delayed.png")

    frames.send("/ws/customer/", RESTORED)
    expect(status).to_have_text("Connected again.")
    expect(status).to_have_text(queued, timeout=TIMEOUT_MS)
