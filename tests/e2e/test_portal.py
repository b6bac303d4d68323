"""The CSR Interaction Portal in a real browser against a real ASGI server: log in, go
Available, the incoming chat pop-up, accept, chat both ways, reload mid-chat, the
Transcripts overlay and the Actions menu, end the chat, Recent work — and that nothing
anyone types is run as HTML. The customer side is driven with the chat services."""

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from chat.models import Interaction, InteractionStatus, Message, SenderKind
from chat.services.messages import interaction_typing, message_send
from routing.models import CSRProfile, CSRStatus
from routing.services.escalations import escalation_create
from tests.e2e.pages import log_in, shot

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

XSS = "<img src=x onerror=alert(1)>"
TIMEOUT_MS = 15_000


def escalate(demo, *, name: str, intent: str = "billing") -> Interaction:
    return escalation_create(
        client=demo.bot_client,
        channel_slug="web-messaging",
        customer={"name": name, "email": "dana@example.com", "metadata": {"tier": "gold"}},
        intent=intent,
        context={"order": "A-1017", "page_url": "https://shop.example/orders"},
        transcript=[
            {"sender": "customer", "text": "I was charged twice"},
            {"sender": "bot", "text": "I'm not sure I can help with that. Let me find a person."},
        ],
    ).interaction


def customer_says(interaction: Interaction, text: str) -> None:
    message_send(
        interaction_id=interaction.pk,
        sender_kind=SenderKind.CUSTOMER,
        text=text,
        client_msg_id=str(uuid.uuid4()),
    )


def test_csr_takes_a_chat_from_the_pop_up_to_recent_work(
    page: Page, portal_server, demo, dialogs, screenshot_dir
):
    """csr1 logs in, joins Billing, goes Available, gets the pop-up (focus on Accept, a
    countdown, the title cue), accepts, chats both ways (HTML stays text), reloads
    mid-chat without losing anything, opens Transcripts and the Actions menu, ends the
    chat, and finds it in Recent work, where it opens read-only."""
    base = portal_server.url
    log_in(page, base, "csr1", "csr1-demo")
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)

    billing = page.locator('.queue[data-queue="billing"]')
    billing.get_by_role("switch").click()
    expect(billing.get_by_role("switch")).to_have_attribute("aria-checked", "true")
    page.get_by_label("Your status").select_option("available")
    expect(page.locator("#status-dot")).to_have_attribute("data-status", "available")
    expect(billing).to_contain_text("1 available", timeout=TIMEOUT_MS)

    interaction = escalate(demo, name=f"Dana {XSS}")
    popup = page.get_by_role("dialog", name=re.compile("Dana"))
    expect(popup).to_be_visible(timeout=TIMEOUT_MS)
    expect(popup).to_contain_text("Incoming chat")
    expect(popup).to_contain_text("Web messaging")
    expect(popup).to_contain_text("Billing")
    expect(popup).to_contain_text("billing")
    expect(popup.locator("#offer-countdown")).to_have_text(re.compile(r"^Expires in \d+ s$"))
    expect(popup.get_by_role("button", name="Accept")).to_be_focused()
    expect(page).to_have_title(f"(1) Incoming chat — Dana {XSS}")
    assert popup.locator("img").count() == 0
    shot(page, screenshot_dir, "portal-my-work-pop-up.png")

    popup.get_by_role("button", name="Accept").click()
    expect(popup).to_be_hidden(timeout=TIMEOUT_MS)
    expect(page).to_have_title("My Work · Interaction Portal")
    tab = page.get_by_role("tab", name=re.compile("Dana"))
    expect(tab).to_have_attribute("aria-selected", "true", timeout=TIMEOUT_MS)
    panel = page.get_by_role("tabpanel")
    log = panel.get_by_role("log", name="Conversation")
    expect(log).to_contain_text("Alex Morgan joined the chat", timeout=TIMEOUT_MS)
    expect(log).to_contain_text("I was charged twice")
    expect(panel.get_by_role("heading", level=2).first).to_have_text(f"Dana {XSS}")

    customer_says(interaction, "Hello? Anyone there?")
    expect(log).to_contain_text("Hello? Anyone there?", timeout=TIMEOUT_MS)
    interaction_typing(interaction_id=interaction.pk, by=SenderKind.CUSTOMER, active=True)
    expect(panel.get_by_text(f"Dana {XSS} is typing…")).to_be_visible(timeout=TIMEOUT_MS)

    box = panel.get_by_role("textbox", name="Message")
    box.fill("Hi Dana, I'm looking at the double charge.")
    box.press("Shift+Enter")
    box.press_sequentially("One moment.")
    expect(box).to_have_value("Hi Dana, I'm looking at the double charge.\nOne moment.")
    box.press("Enter")
    mine = log.locator(".msg--csr").last
    expect(mine).to_contain_text("One moment.", timeout=TIMEOUT_MS)
    expect(mine).to_have_attribute("data-delivery", re.compile("sent|read"), timeout=TIMEOUT_MS)
    expect(box).to_have_value("")
    stored = Message.objects.get(interaction=interaction, sender_kind=SenderKind.CSR)
    assert stored.text == "Hi Dana, I'm looking at the double charge.\nOne moment."

    customer_says(interaction, XSS)
    expect(log.locator(".msg--customer .msg__text").last).to_have_text(XSS, timeout=TIMEOUT_MS)
    assert page.locator("[data-panel] img").count() == 0

    # The character counter shows near the 5,000 limit.
    box.fill("x" * 4600)
    expect(panel.locator('[data-field="counter"]')).to_have_text("4,600 / 5,000")
    box.fill("")

    # A reload rebuilds everything from the server, each message once.
    page.reload()
    tab = page.get_by_role("tab", name=re.compile("Dana"))
    expect(tab).to_have_attribute("aria-selected", "true", timeout=TIMEOUT_MS)
    log = page.get_by_role("tabpanel").get_by_role("log", name="Conversation")
    expect(log.locator(".msg--customer .msg__text").last).to_have_text(XSS, timeout=TIMEOUT_MS)
    for text in ("Hello? Anyone there?", "Alex Morgan joined the chat", "I was charged twice"):
        expect(log.get_by_text(text, exact=True)).to_have_count(1)
    expect(log.locator(".msg--csr")).to_have_count(1)
    assert page.locator("[data-panel] img").count() == 0
    panel = page.get_by_role("tabpanel")

    # (3) Transcripts: the bot conversation before the escalation.
    panel.get_by_role("button", name="Transcripts").click()
    transcripts = page.get_by_role("dialog", name="Transcripts")
    expect(transcripts).to_be_visible()
    expect(transcripts).to_contain_text("I was charged twice")
    expect(transcripts).to_contain_text("Let me find a person.")
    expect(transcripts).not_to_contain_text("Hello? Anyone there?")
    shot(page, screenshot_dir, "portal-chat-panel-transcripts.png")
    page.keyboard.press("Escape")
    expect(transcripts).to_be_hidden()

    # (4) Context.
    context = panel.get_by_role("complementary", name="Context")
    expect(context).to_contain_text("A-1017")
    expect(context).to_contain_text("dana@example.com")
    expect(context).to_contain_text("gold")

    # (5) Actions, by keyboard.
    actions = panel.get_by_role("button", name="Actions")
    actions.focus()
    page.keyboard.press("ArrowDown")
    menu = panel.get_by_role("menu")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("menuitem", name=re.compile("^Transfer interaction"))).to_be_focused()
    # Web messaging with co-browse allowed: offered (tests/e2e/test_cobrowse.py).
    cobrowse = menu.get_by_role("menuitem", name=re.compile("^Start co-browse"))
    expect(cobrowse).not_to_have_attribute("aria-disabled", "true")
    expect(
        menu.get_by_role("menuitem", name=re.compile("^Download transcripts"))
    ).not_to_have_attribute("aria-disabled", "true")
    # Web messaging with an identity secret, customer not authenticated: offered
    # (tests/e2e/test_authentication.py follows it through).
    expect(
        menu.get_by_role("menuitem", name=re.compile("^Request authentication"))
    ).not_to_have_attribute("aria-disabled", "true")
    shot(page, screenshot_dir, "portal-actions-menu.png")
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("menuitem", name="End chat")).to_be_focused()
    page.keyboard.press("Enter")
    confirm = page.get_by_role("alertdialog", name="End chat?")
    expect(confirm).to_be_visible()
    confirm.get_by_role("button", name="End chat").click()
    expect(log).to_contain_text("Alex Morgan ended the chat", timeout=TIMEOUT_MS)
    expect(panel.get_by_role("textbox", name="Message")).to_be_hidden()
    interaction.refresh_from_db()
    assert interaction.status == InteractionStatus.ENDED
    assert interaction.ended_by == "csr"

    page.get_by_role("link", name="Recent work").click()
    table = page.locator("#recent-work")
    expect(table).to_contain_text(f"Dana {XSS}")
    assert table.locator("img").count() == 0
    shot(page, screenshot_dir, "portal-recent-work.png")
    table.get_by_role("link", name=str(interaction.pk)).click()
    expect(
        page.get_by_text("This interaction has ended. You are viewing it read-only.")
    ).to_be_visible()
    expect(page.get_by_role("log", name="Conversation")).to_contain_text("Hello? Anyone there?")
    assert page.locator("[data-panel] img").count() == 0
    shot(page, screenshot_dir, "portal-interaction-read-only.png")
    assert dialogs == []


def test_a_second_csr_cannot_open_the_first_csrs_chat_nor_the_admin(
    page: Page, portal_server, demo, dialogs, screenshot_dir
):
    """csr2 gets 403 on csr1's chat URL, and the admin sends them to its own login."""
    interaction = escalate(demo, name="Private Customer")
    csr1 = demo_user("csr1")
    Interaction.objects.filter(pk=interaction.pk).update(
        status=InteractionStatus.ACTIVE, assigned_csr=csr1
    )
    page.goto(f"{portal_server.url}/")
    page.get_by_label("Username").fill("csr2")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
    shot(page, screenshot_dir, "portal-login.png")
    log_in(page, portal_server.url, "csr2", "csr2-demo")
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
    response = page.goto(f"{portal_server.url}/interactions/{interaction.pk}/")
    assert response.status == 403
    expect(page.locator("body")).not_to_contain_text("Private Customer")
    page.goto(f"{portal_server.url}/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    assert dialogs == []


def test_a_csr_manager_watches_a_live_chat_read_only(
    page: Page, portal_server, demo, dialogs, screenshot_dir
):
    """The manager's start page lists the live chat; it opens read-only and new
    messages arrive live."""
    interaction = escalate(demo, name="Watched Customer")
    csr1 = demo_user("csr1")
    Interaction.objects.filter(pk=interaction.pk).update(
        status=InteractionStatus.ACTIVE, assigned_csr=csr1
    )
    log_in(page, portal_server.url, "manager", "manager-demo")
    expect(page.get_by_role("heading", name="Live interactions")).to_be_visible()
    shot(page, screenshot_dir, "portal-manager-live-interactions.png")
    page.get_by_role("link", name=str(interaction.pk)).click()
    expect(page.get_by_text("You are watching this chat read-only.")).to_be_visible()
    expect(page.get_by_role("textbox", name="Message")).to_be_hidden()
    log = page.get_by_role("log", name="Conversation")
    expect(log).to_contain_text("I was charged twice", timeout=TIMEOUT_MS)
    customer_says(interaction, "Is anyone watching?")
    expect(log).to_contain_text("Is anyone watching?", timeout=TIMEOUT_MS)
    shot(page, screenshot_dir, "portal-manager-observer.png")
    assert dialogs == []


def demo_user(username: str):
    from django.contrib.auth.models import User

    return User.objects.get(username=username)


def test_offers_that_go_away_say_why_decline_and_transfer_to_a_queue(
    page: Page, browser, portal_server, demo, dialogs, screenshot_dir
):
    """The pop-up goes by itself when the customer leaves (withdrawn) or the offer times
    out (expired) and says why; Decline takes a reason; a transfer to a queue with a note
    pops up at csr2 with the note, and csr1 loses the chat once csr2 accepts."""
    from datetime import timedelta

    from django.utils import timezone

    from chat.services.interactions import interaction_end
    from routing.models import Offer, OfferStatus, Queue, QueueMembership
    from routing.services.answers import offer_expire
    from routing.services.presence import csr_status_set

    csr1, csr2 = demo_user("csr1"), demo_user("csr2")
    QueueMembership.objects.filter(user=csr1, queue__slug="billing").update(joined=True)
    QueueMembership.objects.filter(user=csr2, queue__slug="general").update(joined=True)
    csr_status_set(user=csr1, status="available")
    csr_status_set(user=csr2, status="available")
    log_in(page, portal_server.url, "csr1", "csr1-demo")
    expect(page.locator("#status-dot")).to_have_attribute(
        "data-status", "available", timeout=TIMEOUT_MS
    )
    popup = page.locator("#offer")
    toast = page.locator("#toast")

    left = escalate(demo, name="Leaving Customer")
    expect(popup).to_be_visible(timeout=TIMEOUT_MS)
    interaction_end(interaction_id=left.pk, by=SenderKind.CUSTOMER)
    expect(popup).to_be_hidden(timeout=TIMEOUT_MS)
    expect(toast).to_have_text(
        "The chat from Leaving Customer was withdrawn. The customer left.", timeout=TIMEOUT_MS
    )
    expect(page).to_have_title("My Work · Interaction Portal")

    missed = escalate(demo, name="Missed Customer")
    expect(popup).to_contain_text("Missed Customer", timeout=TIMEOUT_MS)
    offer = Offer.objects.get(interaction=missed, status=OfferStatus.PENDING)
    Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert offer_expire(offer_id=offer.pk)
    expect(popup).to_be_hidden(timeout=TIMEOUT_MS)
    expect(toast).to_contain_text("You missed the chat from Missed Customer.", timeout=TIMEOUT_MS)

    declined = escalate(demo, name="Declined Customer")
    expect(popup).to_contain_text("Declined Customer", timeout=TIMEOUT_MS)
    popup.get_by_label("Reason for declining").fill("Not my language")
    popup.get_by_role("button", name="Decline").click()
    expect(popup).to_be_hidden(timeout=TIMEOUT_MS)
    expect(toast).to_have_text("You declined the chat from Declined Customer.")
    declined_offer = Offer.objects.get(interaction=declined, csr=csr1)
    assert declined_offer.status == OfferStatus.DECLINED
    assert declined_offer.reason == "Not my language"

    moved = escalate(demo, name="Moving Customer")
    expect(popup).to_contain_text("Moving Customer", timeout=TIMEOUT_MS)
    popup.get_by_role("button", name="Accept").click()
    panel = page.get_by_role("tabpanel")
    expect(panel.get_by_role("log")).to_contain_text(
        "Alex Morgan joined the chat", timeout=TIMEOUT_MS
    )

    second = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    page2 = second.new_page()
    try:
        log_in(page2, portal_server.url, "csr2", "csr2-demo")
        expect(page2.locator("#connection")).to_have_attribute(
            "data-state", "open", timeout=TIMEOUT_MS
        )

        panel.get_by_role("button", name="Actions").click()
        panel.get_by_role("menuitem", name="Transfer interaction").click()
        transfer = page.get_by_role("dialog", name="Transfer interaction")
        expect(transfer).to_be_visible()
        expect(transfer.get_by_role("radio", name=re.compile("Blake Chen"))).to_be_visible()
        transfer.get_by_text("To a queue").click()
        transfer.get_by_label("Queue", exact=True).select_option("general")
        transfer.get_by_label("Note for the next CSR").fill(
            "Customer asks about a refund <b>now</b>"
        )
        shot(page, screenshot_dir, "portal-transfer-dialog.png")
        transfer.get_by_role("button", name="Transfer", exact=True).click()
        expect(transfer).to_be_hidden(timeout=TIMEOUT_MS)
        expect(panel.get_by_role("log")).to_contain_text(
            "Transferred to General", timeout=TIMEOUT_MS
        )

        popup2 = page2.locator("#offer")
        expect(popup2).to_be_visible(timeout=TIMEOUT_MS)
        expect(popup2).to_contain_text("Incoming transfer")
        expect(popup2).to_contain_text("Transferred by Alex Morgan")
        expect(popup2).to_contain_text("Customer asks about a refund <b>now</b>")
        shot(page2, screenshot_dir, "portal-transfer-pop-up.png")
        popup2.get_by_role("button", name="Accept").click()
        expect(page2.get_by_role("tab", name=re.compile("Moving Customer"))).to_be_visible(
            timeout=TIMEOUT_MS
        )
        expect(page.locator("#toast")).to_contain_text(
            "transferred to Blake Chen", timeout=TIMEOUT_MS
        )
        expect(panel.get_by_role("textbox", name="Message")).to_be_hidden()
        moved.refresh_from_db()
        assert moved.assigned_csr == csr2
        assert moved.queue == Queue.objects.get(slug="general")
    finally:
        second.close()
    assert dialogs == []


def test_my_work_first_load_is_under_300_kb_and_reads_well_at_1920(
    page: Page, portal_server, demo, screenshot_dir
):
    """HTML + CSS + JS of the CSR workspace's first load stay under 300 KB (uncompressed),
    with a chat open; the workspace also renders at 1920×1080."""
    import json

    from routing.models import Offer, OfferStatus, QueueMembership
    from routing.services.answers import offer_accept
    from routing.services.presence import csr_status_set

    csr1 = demo_user("csr1")
    QueueMembership.objects.filter(user=csr1, queue__slug="billing").update(joined=True)
    csr_status_set(user=csr1, status="available")
    interaction = escalate(demo, name="Dana Reyes")
    offer = Offer.objects.get(interaction=interaction, status=OfferStatus.PENDING)
    offer_accept(offer_id=offer.pk, user=csr1)
    customer_says(interaction, "Thanks for taking my chat. " * 4)

    log_in(page, portal_server.url, "csr1", "csr1-demo")
    page.wait_for_load_state("networkidle")
    sizes: dict[str, int] = {}

    def record(response):
        if response.request.resource_type in {"document", "stylesheet", "script"}:
            sizes[response.url] = len(response.body())

    page.on("response", record)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})  # a first visit
    page.reload()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("log", name="Conversation")).to_contain_text("Thanks for taking")
    total = sum(sizes.values())
    report = {"total_bytes": total, "files": sizes}
    (screenshot_dir.parent / "portal-first-load.json").write_text(json.dumps(report, indent=2))
    assert total <= 300 * 1024, report

    page.set_viewport_size({"width": 1920, "height": 1080})
    shot(page, screenshot_dir, "portal-my-work-1920.png")


def test_two_chats_as_tabs_with_unread_badges_read_receipts_and_a_network_drop(
    page: Page, portal_server, demo, dialogs, screenshot_dir
):
    """Two active chats are two tabs; a message to the hidden one raises its unread badge
    (and the title count) until the CSR switches to it, without a reload; the customer's
    read mark turns the CSR's message to Read; while the CSR's network is down the
    customer writes, and back online the message shows once."""
    from chat.services.messages import interaction_mark_read
    from routing.models import Offer, OfferStatus, QueueMembership
    from routing.services.answers import offer_accept
    from routing.services.presence import csr_status_set

    csr1 = demo_user("csr1")
    QueueMembership.objects.filter(user=csr1, queue__slug="billing").update(joined=True)
    csr_status_set(user=csr1, status="available")
    first, second = escalate(demo, name="First Customer"), None
    offer_accept(
        offer_id=Offer.objects.get(interaction=first, status=OfferStatus.PENDING).pk, user=csr1
    )
    second = escalate(demo, name="Second Customer")
    offer_accept(
        offer_id=Offer.objects.get(interaction=second, status=OfferStatus.PENDING).pk, user=csr1
    )

    log_in(page, portal_server.url, "csr1", "csr1-demo")
    tab1 = page.get_by_role("tab", name=re.compile("First Customer"))
    tab2 = page.get_by_role("tab", name=re.compile("Second Customer"))
    expect(tab1).to_have_attribute("aria-selected", "true", timeout=TIMEOUT_MS)
    expect(tab2).to_have_attribute("aria-selected", "false")
    expect(page.locator("#capacity")).to_have_text("Chats: 2 of 3", timeout=TIMEOUT_MS)
    panel1 = page.locator(f"#panel-{first.pk}")
    panel2 = page.locator(f"#panel-{second.pk}")
    for panel in (panel1, panel2):  # the hidden tab's chat is live too
        expect(panel.locator('[data-field="log"]')).to_contain_text(
            "Alex Morgan joined the chat", timeout=TIMEOUT_MS
        )

    customer_says(second, "Are you still there?")
    customer_says(second, "Hello?")
    expect(tab2.locator(".badge")).to_have_text("2", timeout=TIMEOUT_MS)
    expect(page).to_have_title("(2) My Work · Interaction Portal")
    shot(page, screenshot_dir, "portal-tabs-unread.png")
    tab1.focus()
    page.keyboard.press("ArrowRight")
    expect(tab2).to_have_attribute("aria-selected", "true")
    expect(tab2).to_be_focused()
    expect(tab2.locator(".badge")).to_be_hidden()
    expect(panel2.get_by_role("log")).to_contain_text("Hello?")
    expect(page).to_have_title("My Work · Interaction Portal")
    second.refresh_from_db()
    for _ in range(50):  # the read mark goes to the server once the chat is on screen
        second.refresh_from_db()
        if second.csr_read_seq == second.last_seq:
            break
        page.wait_for_timeout(100)
    assert second.csr_read_seq == second.last_seq

    box = panel2.get_by_role("textbox", name="Message")
    box.fill("Yes, I'm here.")
    box.press("Enter")
    mine = panel2.locator(".msg--csr").last
    expect(mine).to_have_attribute("data-delivery", "sent", timeout=TIMEOUT_MS)
    second.refresh_from_db()
    interaction_mark_read(interaction_id=second.pk, by=SenderKind.CUSTOMER, seq=second.last_seq)
    expect(mine).to_have_attribute("data-delivery", "read", timeout=TIMEOUT_MS)
    expect(mine).to_contain_text("Read")

    page.context.set_offline(True)
    page.wait_for_timeout(500)
    customer_says(second, "Written while you were offline")
    page.wait_for_timeout(1500)
    page.context.set_offline(False)
    expect(panel2.get_by_role("log").get_by_text("Written while you were offline")).to_have_count(
        1, timeout=TIMEOUT_MS * 2
    )
    expect(page.locator("#connection")).to_have_attribute(
        "data-state", "open", timeout=TIMEOUT_MS * 2
    )
    assert dialogs == []


def test_the_customer_on_a_websocket_sees_typing_and_messages_and_away_with_a_reason(
    page: Page, portal_server, demo, dialogs
):
    """Driven from a real customer socket: the CSR's typing shows there and stops on
    send, the CSR's message arrives once, the customer's typing shows in the panel; the
    availability switch sets Away with a reason and Offline."""
    import json

    from websockets.sync.client import connect

    from routing.models import Offer, OfferStatus, QueueMembership
    from routing.services.answers import offer_accept
    from routing.services.presence import csr_status_set

    csr1 = demo_user("csr1")
    QueueMembership.objects.filter(user=csr1, queue__slug="billing").update(joined=True)
    csr_status_set(user=csr1, status="available")
    result = escalation_create(
        client=demo.bot_client,
        channel_slug="web-messaging",
        customer={"name": "Socket Customer"},
        intent="billing",
    )
    interaction = result.interaction
    offer_accept(
        offer_id=Offer.objects.get(interaction=interaction, status=OfferStatus.PENDING).pk,
        user=csr1,
    )
    log_in(page, portal_server.url, "csr1", "csr1-demo")
    panel = page.get_by_role("tabpanel")
    expect(panel.get_by_role("log")).to_contain_text(
        "Alex Morgan joined the chat", timeout=TIMEOUT_MS
    )

    ws_url = portal_server.url.replace("http", "ws", 1)
    interaction.refresh_from_db()
    url = (
        f"{ws_url}/ws/customer/{interaction.pk}/"
        f"?token={result.customer_token}&last_seq={interaction.last_seq}"
    )
    with connect(url, origin=portal_server.url, open_timeout=10) as customer:
        frames = []

        def wait_for(predicate, seconds=10.0):
            import time

            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                try:
                    frame = json.loads(customer.recv(timeout=0.5))
                except TimeoutError:
                    continue
                frames.append(frame)
                if predicate(frame):
                    return frame
            raise AssertionError(f"not received; got {frames[-5:]}")

        wait_for(lambda f: f["type"] == "replay.done")
        box = panel.get_by_role("textbox", name="Message")
        box.press_sequentially("Hello from the portal")
        typing = wait_for(lambda f: f["type"] == "typing")
        assert typing["from"] == "csr" and typing["active"] is True
        assert typing["name"] == "Alex Morgan"
        box.press("Enter")
        message = wait_for(lambda f: f["type"] == "message" and f["sender_kind"] == "csr")
        assert message["text"] == "Hello from the portal"
        assert message["author_name"] == "Alex Morgan"
        customer.send(json.dumps({"type": "typing", "active": True}))
        expect(panel.get_by_text("Socket Customer is typing…")).to_be_visible(timeout=TIMEOUT_MS)
        customer.send(
            json.dumps({"type": "send", "client_msg_id": "c-1", "text": "Thanks <b>a lot</b>"})
        )
        expect(panel.locator(".msg--customer .msg__text").last).to_have_text(
            "Thanks <b>a lot</b>", timeout=TIMEOUT_MS
        )
        expect(panel.get_by_text("Socket Customer is typing…")).to_be_hidden()
    assert (
        Message.objects.filter(interaction=interaction, text="Hello from the portal").count() == 1
    )

    status = page.get_by_label("Your status")
    status.select_option(label="Away — Lunch")
    expect(page.locator("#status-dot")).to_have_attribute("data-status", "away", timeout=TIMEOUT_MS)
    profile = CSRProfile.objects.select_related("away_reason").get(user=csr1)
    assert profile.status == CSRStatus.AWAY and profile.away_reason.code == "lunch"
    status.select_option("offline")
    expect(page.locator("#status-dot")).to_have_attribute(
        "data-status", "offline", timeout=TIMEOUT_MS
    )
    assert dialogs == []


def test_declined_goes_to_the_next_csr_and_two_missed_offers_set_away(
    page: Page, browser, portal_server, demo, dialogs, screenshot_dir
):
    """csr1 declines: csr2 gets the pop-up at once. csr2 leaves two offers unattended:
    each pop-up goes by itself, and csr2 is set Away — Missed offers and told why."""
    from datetime import timedelta

    from django.utils import timezone

    from routing.models import Offer, OfferStatus, QueueMembership
    from routing.services.answers import offer_expire
    from routing.services.presence import csr_status_set

    csr1, csr2 = demo_user("csr1"), demo_user("csr2")
    for user in (csr1, csr2):
        QueueMembership.objects.filter(user=user, queue__slug="billing").update(joined=True)
        csr_status_set(user=user, status="available")
    other = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    page2 = other.new_page()
    try:
        log_in(page, portal_server.url, "csr1", "csr1-demo")
        log_in(page2, portal_server.url, "csr2", "csr2-demo")
        for p in (page, page2):
            expect(p.locator("#status-dot")).to_have_attribute(
                "data-status", "available", timeout=TIMEOUT_MS
            )
        first = escalate(demo, name="Bounced Customer")
        offer = Offer.objects.get(interaction=first, status=OfferStatus.PENDING)
        mine, theirs = (page, page2) if offer.csr_id == csr1.pk else (page2, page)
        expect(mine.locator("#offer")).to_contain_text("Bounced Customer", timeout=TIMEOUT_MS)
        mine.locator("#offer").get_by_role("button", name="Decline").click()
        expect(mine.locator("#offer")).to_be_hidden(timeout=TIMEOUT_MS)
        expect(theirs.locator("#offer")).to_contain_text("Bounced Customer", timeout=TIMEOUT_MS)

        # Whoever holds it now leaves it, and then one more, unattended.
        taker = csr2 if theirs is page2 else csr1
        csr_status_set(user=csr1 if taker is csr2 else csr2, status="offline")
        for n in range(2):
            interaction = first if n == 0 else escalate(demo, name="Second Bounce")
            pending = Offer.objects.filter(
                interaction=interaction, csr=taker, status=OfferStatus.PENDING
            )
            for _ in range(50):
                if pending.exists():
                    break
                theirs.wait_for_timeout(100)
            offer = pending.get()
            expect(theirs.locator("#offer")).to_be_visible(timeout=TIMEOUT_MS)
            Offer.objects.filter(pk=offer.pk).update(
                expires_at=timezone.now() - timedelta(seconds=1)
            )
            assert offer_expire(offer_id=offer.pk)
            expect(theirs.locator("#offer")).to_be_hidden(timeout=TIMEOUT_MS)
            if n == 0:
                expect(theirs.locator("#toast")).to_contain_text("You missed the chat")
        expect(theirs.locator("#status-dot")).to_have_attribute(
            "data-status", "away", timeout=TIMEOUT_MS
        )
        expect(theirs.locator("#status-note")).to_contain_text("missing 2 chats")
        expect(theirs.get_by_label("Your status").locator("option:checked")).to_have_text(
            "Away — Missed offers"
        )
        shot(theirs, screenshot_dir, "portal-set-away-after-missed-offers.png")
    finally:
        other.close()
    assert dialogs == []


def test_an_offer_shown_before_the_join_reply_arrives_stays_on_screen(
    page: Page, portal_server, demo, dialogs
):
    """Joining a queue with a chat waiting offers it at once. With a real worker the
    offer reaches the socket while the join's reply, whose state was read before the
    offer existed, is still on its way: that reply must not close the pop-up. (Here the
    worker runs inline, so the reply is held and given the state it would have had.)"""
    from routing.services.presence import csr_status_set

    csr_status_set(user=demo_user("csr1"), status="available")
    escalate(demo, name="Early Bird")  # waits: nobody has joined Billing
    log_in(page, portal_server.url, "csr1", "csr1-demo")
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)

    held = []

    def hold(route):
        reply = route.fetch()
        state = reply.json()
        assert state["pending_offer"] is not None  # the worker ran inline
        held.append((route, reply, {**state, "pending_offer": None}))

    page.route("**/api/v1/agent/queues/billing/join/", hold)
    billing = page.locator('.queue[data-queue="billing"]')
    billing.get_by_role("switch").click()
    expect(page.locator("#offer")).to_contain_text("Early Bird", timeout=TIMEOUT_MS)
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    route, reply, stale = held[0]
    route.fulfill(response=reply, json=stale)
    expect(billing.get_by_role("switch")).to_have_attribute("aria-checked", "true")
    page.wait_for_timeout(500)
    expect(page.locator("#offer")).to_be_visible()
    expect(page.locator("#offer")).to_contain_text("Early Bird")
    assert dialogs == []


def test_transfer_to_a_csr_picked_from_the_searchable_list(
    page: Page, browser, portal_server, demo, dialogs
):
    """The Transfer dialog lists the CSRs who can take the chat now, filtered as the CSR
    types; the chosen CSR gets the pop-up with the note and takes the chat."""
    from routing.models import Offer, OfferStatus, QueueMembership
    from routing.services.answers import offer_accept
    from routing.services.presence import csr_status_set

    csr1, csr2, csr3 = demo_user("csr1"), demo_user("csr2"), demo_user("csr3")
    QueueMembership.objects.filter(user=csr1, queue__slug="billing").update(joined=True)
    csr_status_set(user=csr1, status="available")
    interaction = escalate(demo, name="Handed Customer")
    offer_accept(
        offer_id=Offer.objects.get(interaction=interaction, status=OfferStatus.PENDING).pk,
        user=csr1,
    )
    csr_status_set(user=csr2, status="available")
    csr_status_set(user=csr3, status="available")
    other = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    page2 = other.new_page()
    try:
        log_in(page2, portal_server.url, "csr2", "csr2-demo")
        expect(page2.locator("#connection")).to_have_attribute(
            "data-state", "open", timeout=TIMEOUT_MS
        )
        log_in(page, portal_server.url, "csr1", "csr1-demo")
        panel = page.get_by_role("tabpanel")
        expect(panel.get_by_role("log")).to_contain_text("joined the chat", timeout=TIMEOUT_MS)
        panel.get_by_role("button", name="Actions").click()
        panel.get_by_role("menuitem", name="Transfer interaction").click()
        transfer = page.get_by_role("dialog", name="Transfer interaction")
        csrs = transfer.get_by_role("radiogroup", name="Available CSRs").get_by_role("radio")
        expect(csrs).to_have_count(2, timeout=TIMEOUT_MS)
        transfer.get_by_label("Find a CSR who can take it now").fill("blak")
        expect(csrs).to_have_count(1, timeout=TIMEOUT_MS)
        transfer.get_by_role("radio", name=re.compile("Blake Chen")).check()
        transfer.get_by_label("Note for the next CSR").fill("Wants a manager callback")
        transfer.get_by_role("button", name="Transfer", exact=True).click()
        expect(transfer).to_be_hidden(timeout=TIMEOUT_MS)

        popup2 = page2.locator("#offer")
        expect(popup2).to_contain_text("Wants a manager callback", timeout=TIMEOUT_MS)
        expect(popup2).to_contain_text("Transferred by Alex Morgan")
        popup2.get_by_role("button", name="Accept").click()
        expect(page2.get_by_role("tab", name=re.compile("Handed Customer"))).to_be_visible(
            timeout=TIMEOUT_MS
        )
        expect(panel.get_by_role("textbox", name="Message")).to_be_hidden(timeout=TIMEOUT_MS)
        interaction.refresh_from_db()
        assert interaction.assigned_csr == csr2
        assert interaction.status == InteractionStatus.ACTIVE
    finally:
        other.close()
    assert dialogs == []


def test_demo_customer_to_csr1_transfer_to_csr2_who_ends_it(
    page: Page, browser, portal_server, demo, dialogs, screenshot_dir
):
    """The issue's journey: a customer on /demo/ talks to the bot and escalates; csr1
    gets the pop-up and accepts; they write both ways; csr1 transfers to a queue with a
    note; csr2 gets the pop-up with the note and accepts; csr2 ends the chat; the
    customer and csr2 both see it ended; it is in csr2's Recent work, read-only."""
    from chat.demo_bot import GREETING, NOT_SURE
    from routing.models import QueueMembership
    from routing.services.presence import csr_status_set

    csr1, csr2 = demo_user("csr1"), demo_user("csr2")
    QueueMembership.objects.filter(user=csr1, queue__slug="billing").update(joined=True)
    QueueMembership.objects.filter(user=csr2, queue__slug="general").update(joined=True)
    csr_status_set(user=csr1, status="available")
    csr_status_set(user=csr2, status="available")
    contexts = [
        browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
        for _ in range(2)
    ]
    customer, page2 = (c.new_page() for c in contexts)
    try:
        log_in(page, portal_server.url, "csr1", "csr1-demo")
        log_in(page2, portal_server.url, "csr2", "csr2-demo")
        for p in (page, page2):
            expect(p.locator("#connection")).to_have_attribute(
                "data-state", "open", timeout=TIMEOUT_MS
            )

        customer.goto(f"{portal_server.url}/demo/")
        customer.get_by_role("button", name="Chat with us").click()
        widget = customer.get_by_role("dialog", name="Northwind Bank")
        widget_log = widget.get_by_role("log", name="Conversation")
        box = widget.get_by_role("textbox", name="Message")
        expect(widget_log).to_contain_text(GREETING, timeout=TIMEOUT_MS)

        def customer_types(text: str) -> None:
            box.fill(text)
            box.press("Enter")

        customer_types("I'm Dana")
        expect(widget_log).to_contain_text("Nice to meet you, Dana.", timeout=TIMEOUT_MS)
        customer_types("I was charged twice for one order")
        expect(widget_log).to_contain_text(NOT_SURE, timeout=TIMEOUT_MS)
        widget.get_by_role("button", name="Talk to an agent").click()

        popup = page.locator("#offer")
        expect(popup).to_contain_text("Dana", timeout=TIMEOUT_MS)
        popup.get_by_role("button", name="Accept").click()
        panel = page.get_by_role("tabpanel")
        expect(widget).to_contain_text("Alex Morgan", timeout=TIMEOUT_MS)
        composer = panel.get_by_role("textbox", name="Message")
        composer.fill("Hi Dana, I'm Alex. Let me look.")
        composer.press("Enter")
        expect(widget_log).to_contain_text("Let me look.", timeout=TIMEOUT_MS)
        customer_types("Thanks, it was order 1017")
        expect(panel.get_by_role("log")).to_contain_text("order 1017", timeout=TIMEOUT_MS)
        panel.get_by_role("button", name="Transcripts").click()
        expect(page.get_by_role("dialog", name="Transcripts")).to_contain_text(
            "I was charged twice for one order"
        )
        page.keyboard.press("Escape")

        panel.get_by_role("button", name="Actions").click()
        panel.get_by_role("menuitem", name="Transfer interaction").click()
        transfer = page.get_by_role("dialog", name="Transfer interaction")
        transfer.get_by_text("To a queue").click()
        transfer.get_by_label("Queue", exact=True).select_option("general")
        transfer.get_by_label("Note for the next CSR").fill("Refund for order 1017")
        transfer.get_by_role("button", name="Transfer", exact=True).click()

        popup2 = page2.locator("#offer")
        expect(popup2).to_contain_text("Refund for order 1017", timeout=TIMEOUT_MS)
        popup2.get_by_role("button", name="Accept").click()
        panel2 = page2.get_by_role("tabpanel")
        expect(panel2.get_by_role("log")).to_contain_text("order 1017", timeout=TIMEOUT_MS)
        expect(panel.get_by_role("textbox", name="Message")).to_be_hidden(timeout=TIMEOUT_MS)
        expect(widget).to_contain_text("Blake Chen", timeout=TIMEOUT_MS)

        panel2.get_by_role("button", name="Actions").click()
        panel2.get_by_role("menuitem", name="End chat").click()
        page2.get_by_role("alertdialog", name="End chat?").get_by_role(
            "button", name="End chat"
        ).click()
        expect(panel2.get_by_role("log")).to_contain_text(
            "Blake Chen ended the chat", timeout=TIMEOUT_MS
        )
        expect(widget.locator("#cpw-status")).to_have_text("Chat ended", timeout=TIMEOUT_MS)
        expect(page2.locator("#capacity")).to_have_text("Chats: 0 of 3")
        shot(page2, screenshot_dir, "portal-chat-ended.png")

        page2.get_by_role("link", name="Recent work").click()
        interaction = Interaction.objects.get(customer__name="Dana")
        page2.locator("#recent-work").get_by_role("link", name=str(interaction.pk)).click()
        expect(page2.get_by_role("log", name="Conversation")).to_contain_text("order 1017")
        expect(page2.get_by_text("You are viewing it read-only.")).to_be_visible()
        assert interaction.assigned_csr == csr2
    finally:
        for c in contexts:
            c.close()
    assert dialogs == []
