"""What the CSR workspace keeps when the connection or the page goes away: a message
still "Sending…" survives a reload and is stored once; a workspace whose agent socket
comes back opens the chats it was given meanwhile."""

import json
import re

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from chat.models import Message, SenderKind
from routing.models import Offer, OfferStatus, QueueMembership
from routing.services.answers import offer_accept
from routing.services.presence import csr_status_set
from tests.e2e.pages import log_in, shot
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
