"""The customer widget on the demo site, in a real browser against a real ASGI server:
the bot conversation, the escalation, the live chat with a CSR (queue position, the
CSR's name, typing, messages), a page reload, a network loss, the end of the chat — and
that nothing anyone types is ever run as HTML."""

import itertools
import json
import re
import time
import uuid

import pytest
from playwright.sync_api import Page, expect

from chat.demo_bot import GREETING, HANDING_OVER, NOT_SURE
from chat.models import Interaction, InteractionStatus, Message, SenderKind
from chat.services.interactions import interaction_end
from chat.services.messages import interaction_mark_read, interaction_typing, message_send
from config.users import Role
from routing.models import Offer, OfferStatus, Queue, QueueMembership
from routing.services.answers import offer_accept
from routing.services.escalations import escalation_create
from routing.services.presence import csr_status_set
from tests.e2e.pages import say, shot, widget
from tests.factories import user_factory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

XSS = "<img src=x onerror=alert(1)><script>alert(1)</script>"
TIMEOUT_MS = 15_000


def log(page: Page):
    return widget(page).get_by_role("log", name="Conversation")


def open_widget(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/demo/")
    page.get_by_role("button", name="Chat with us").click()
    expect(widget(page)).to_be_visible()
    expect(log(page)).to_contain_text(GREETING, timeout=TIMEOUT_MS)


def test_bot_conversation_is_accessible_and_shows_text_as_text(
    page: Page, portal_server, dialogs, screenshot_dir
):
    """The launcher opens a labelled dialog with the bot's greeting and focus in the
    composer; Enter sends, Shift+Enter makes a new line; an FAQ is answered; a name
    that is HTML is shown as text and runs nothing; Escape closes and gives focus back
    to the launcher; a reload keeps the conversation."""
    open_widget(page, portal_server.url)
    launcher = page.get_by_role("button", name="Chat with us")
    expect(launcher).to_have_attribute("aria-expanded", "true")
    box = widget(page).get_by_role("textbox", name="Message")
    expect(box).to_be_focused()

    box.fill("first line")
    box.press("Shift+Enter")
    box.press_sequentially("second line")
    expect(box).to_have_value("first line\nsecond line")
    box.fill("")

    say(page, XSS)
    expect(log(page)).to_contain_text(f"Nice to meet you, {XSS}.", timeout=TIMEOUT_MS)
    expect(log(page).locator(".cpw-msg--customer .cpw-bubble").last).to_have_text(XSS)
    assert log(page).locator("img, script").count() == 0

    say(page, "What are your opening hours?")
    expect(log(page)).to_contain_text("Monday to Friday 9:00–17:00", timeout=TIMEOUT_MS)
    expect(widget(page).get_by_role("button", name="Talk to an agent")).to_be_visible()
    shot(page, screenshot_dir, "widget-bot-conversation.png")

    page.keyboard.press("Escape")
    expect(widget(page)).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")

    page.reload()
    launcher.click()
    expect(log(page)).to_contain_text("Monday to Friday 9:00–17:00")
    expect(log(page).get_by_text(GREETING)).to_have_count(1)
    assert dialogs == []


def test_customer_talks_to_the_bot_then_to_a_csr(
    page: Page, portal_server, demo, dialogs, screenshot_dir
):
    """The whole customer journey: bot, escalation with queue position, a CSR joins,
    types and writes, the customer answers (HTML stays text), reloads, loses the network
    while the CSR writes, comes back to see that message once, and ends the chat."""
    earlier = escalation_create(
        client=demo.bot_client,
        channel_slug="web-messaging",
        customer={"name": "Earlier customer"},
        intent="billing",
    ).interaction
    open_widget(page, portal_server.url)
    say(page, "I'm Dana")
    expect(log(page)).to_contain_text("Nice to meet you, Dana.", timeout=TIMEOUT_MS)
    say(page, "I was charged twice for one order")
    expect(log(page)).to_contain_text(NOT_SURE, timeout=TIMEOUT_MS)

    widget(page).get_by_role("button", name="Talk to an agent").click()
    status = widget(page).locator("#cpw-status")  # not the survey's own status line
    expect(status).to_have_text(re.compile(r"^You are number 2 in the queue"), timeout=TIMEOUT_MS)
    shot(page, screenshot_dir, "widget-in-queue.png")
    # The customer ahead leaves: the position is pushed live.
    interaction_end(interaction_id=earlier.pk, by=SenderKind.CUSTOMER)
    expect(status).to_have_text(re.compile(r"^You are number 1 in the queue"), timeout=TIMEOUT_MS)
    interaction = Interaction.objects.select_related("queue", "customer").get(customer__name="Dana")
    assert interaction.intent == "billing"
    assert interaction.queue.slug == "billing"
    assert interaction.customer.name == "Dana"
    assert interaction.context["demo"] is True
    assert interaction.context["page_url"].endswith("/demo/")
    # The socket replayed the bot conversation, then the escalation notice.
    expect(log(page)).to_contain_text("Customer escalated to the Billing queue")
    expect(log(page).get_by_text(HANDING_OVER.format(name=", Dana"))).to_have_count(1)
    expect(log(page).get_by_text(GREETING)).to_have_count(1)

    # A CSR goes Available in the Billing queue and accepts the offer.
    csr = user_factory(role=Role.CSR, first_name="Alex", last_name="Morgan")
    QueueMembership.objects.create(user=csr, queue=Queue.objects.get(slug="billing"), joined=True)
    csr_status_set(user=csr, status="available")
    offer = Offer.objects.get(interaction=interaction, status=OfferStatus.PENDING)
    offer_accept(offer_id=offer.pk, user=csr)
    expect(status).to_have_text("You are chatting with Alex Morgan", timeout=TIMEOUT_MS)
    expect(widget(page)).to_contain_text("Agent: Alex Morgan")
    expect(log(page)).to_contain_text("Alex Morgan joined the chat")

    interaction_typing(interaction_id=interaction.pk, by=SenderKind.CSR, active=True, user=csr)
    typing = widget(page).get_by_text("Alex Morgan is typing…")
    expect(typing).to_be_visible(timeout=TIMEOUT_MS)
    csr_says(interaction, csr, "Hi Dana, I can see the double charge. Let me fix that.")
    expect(log(page)).to_contain_text("I can see the double charge", timeout=TIMEOUT_MS)
    expect(typing).to_be_hidden()

    say(page, "Thank you!")
    mine = log(page).locator(".cpw-msg--customer").last
    expect(mine).to_have_attribute("data-delivery", "sent", timeout=TIMEOUT_MS)
    say(page, XSS)
    expect(log(page).locator(".cpw-msg--customer .cpw-bubble").last).to_have_text(
        XSS, timeout=TIMEOUT_MS
    )
    expect(log(page).locator(".cpw-msg--customer").last).to_have_attribute(
        "data-delivery", "sent", timeout=TIMEOUT_MS
    )
    assert log(page).locator("img, script").count() == 0
    assert Message.objects.filter(interaction=interaction, text=XSS).count() == 1
    # The CSR reads the chat: the customer's newest message says so.
    interaction.refresh_from_db()
    interaction_mark_read(
        interaction_id=interaction.pk, by=SenderKind.CSR, seq=interaction.last_seq, user=csr
    )
    newest = log(page).locator(".cpw-msg--customer").last
    expect(newest).to_have_attribute("data-delivery", "read", timeout=TIMEOUT_MS)
    expect(newest.locator(".cpw-delivery")).to_have_text("Read")
    shot(page, screenshot_dir, "widget-live-chat.png")

    # A reload rebuilds the conversation from the server's replay, each message once.
    page.reload()
    expect(widget(page)).to_be_visible()
    expect(log(page)).to_contain_text("I can see the double charge", timeout=TIMEOUT_MS)
    expect(status).to_have_text("You are chatting with Alex Morgan", timeout=TIMEOUT_MS)
    for text in (GREETING, "Thank you!", XSS, "Alex Morgan joined the chat"):
        expect(log(page).get_by_text(text, exact=True)).to_have_count(1)
    assert log(page).locator("img, script").count() == 0

    # The network goes away while the CSR writes and the customer types; back online,
    # the CSR's message shows once and the customer's goes out once.
    page.context.set_offline(True)
    expect(status).to_contain_text("offline", timeout=TIMEOUT_MS)
    csr_says(interaction, csr, "Done: the refund is on its way.")
    say(page, "Great, written while offline")
    expect(log(page).locator(".cpw-msg--customer").last).to_contain_text("Waiting for connection")
    page.wait_for_timeout(3000)
    expect(log(page)).not_to_contain_text("the refund is on its way")
    page.context.set_offline(False)
    expect(log(page).get_by_text("Done: the refund is on its way.")).to_have_count(
        1, timeout=TIMEOUT_MS
    )
    expect(log(page).locator(".cpw-msg--customer").last).to_have_attribute(
        "data-delivery", "sent", timeout=TIMEOUT_MS
    )
    expect(log(page).get_by_text("Great, written while offline")).to_have_count(1)
    assert Message.objects.filter(interaction=interaction, text__startswith="Great,").count() == 1
    expect(status).to_have_text("You are chatting with Alex Morgan")
    shot(page, screenshot_dir, "widget-after-reconnect.png")

    widget(page).get_by_role("button", name="End chat").click()
    expect(status).to_have_text("Chat ended", timeout=TIMEOUT_MS)
    expect(widget(page).get_by_role("button", name="Start a new chat")).to_be_visible()
    interaction.refresh_from_db()
    assert interaction.status == InteractionStatus.ENDED
    assert interaction.ended_by == "customer"
    shot(page, screenshot_dir, "widget-chat-ended.png")
    assert dialogs == []


def csr_says(interaction: Interaction, csr, text: str) -> None:
    message_send(
        interaction_id=interaction.pk,
        sender_kind=SenderKind.CSR,
        text=text,
        client_msg_id=str(uuid.uuid4()),
        user=csr,
    )


def test_demo_page_search_and_contact_form_work_with_our_files_only(
    page: Page, portal_server, screenshot_dir
):
    """Every request of the page goes to our own server; the article search filters;
    the contact form explains what is missing and, once valid, says it sent nothing."""
    hosts = set()
    page.on("request", lambda request: hosts.add(request.url.split("/")[2]))
    page.goto(f"{portal_server.url}/demo/")
    page.wait_for_load_state("networkidle")
    assert hosts == {portal_server.url.split("/")[2]}

    page.get_by_role("searchbox", name="Search help articles").fill("password")
    articles = page.locator("#article-list .article")
    expect(articles.filter(visible=True)).to_have_count(1)
    expect(articles.filter(visible=True)).to_contain_text("I can't log in")
    page.get_by_role("searchbox", name="Search help articles").fill("zebra")
    expect(page.get_by_text("No article matches your search.")).to_be_visible()
    page.get_by_role("searchbox", name="Search help articles").fill("")

    form = page.locator("#contact-form")
    send = form.get_by_role("button", name="Send message")
    send.click()
    expect(form.get_by_label("Your name")).to_be_focused()
    expect(form.get_by_label("Your name")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#contact-name-error")).to_have_text("Please fill this in.")
    form.get_by_label("Email address").fill("not-an-address")
    send.click()
    expect(page.locator("#contact-email-error")).to_have_text(
        "Enter an email address like name@example.com."
    )
    page.get_by_role("button", name="Chat with us").scroll_into_view_if_needed()
    shot(page, screenshot_dir, "demo-page-form-errors.png")
    form.get_by_label("Your name").fill("Dana Reyes")
    form.get_by_label("Email address").fill("dana@example.com")
    form.get_by_label("Topic").select_option("Cards")
    form.get_by_label("Message").fill("Please send me a new card.")
    send.click()
    expect(form.get_by_role("status")).to_contain_text("it was not sent anywhere")


class SocketProxy:
    """Sits between the widget and the customer socket (Playwright's WebSocket routing):
    records what the widget sends and when it connects, and on request drops or
    duplicates a server frame, or refuses connections like a server that is down."""

    def __init__(self, page: Page):
        self.routes: list = []
        self.urls: list[str] = []
        self.attempts: list[float] = []
        self.sent: list[dict] = []
        self.refuse = False
        self.drop_next_message = False
        self.duplicate_messages = False
        page.route_web_socket(re.compile(r"/ws/customer/"), self._connect)

    def _connect(self, route) -> None:
        self.urls.append(route.url)
        self.attempts.append(time.monotonic())
        if self.refuse:
            route.close(code=1011, reason="test: the server is down")
            return
        server = route.connect_to_server()

        def to_page(frame):
            message = json.loads(frame)
            if message.get("type") == "message" and self.drop_next_message:
                self.drop_next_message = False
                return
            route.send(frame)
            if message.get("type") == "message" and self.duplicate_messages:
                route.send(frame)

        def to_server(frame):
            self.sent.append(json.loads(frame))
            server.send(frame)

        server.on_message(to_page)
        route.on_message(to_server)
        self.routes.append(route)

    def of_type(self, kind: str) -> list[dict]:
        return [message for message in self.sent if message.get("type") == kind]


def test_widget_resumes_gaps_ignores_duplicates_and_reconnects_with_backoff(
    page: Page, portal_server, demo, screenshot_dir
):
    """A message the widget never got is asked for again with `resume`; a duplicate is
    shown once; a dropped socket is reopened after 1 s, 2 s, 4 s… with last_seq; a chat
    the server says is gone (4410) is not retried."""
    proxy = SocketProxy(page)
    open_widget(page, portal_server.url)
    say(page, "Sam")
    expect(log(page)).to_contain_text("Nice to meet you, Sam.", timeout=TIMEOUT_MS)
    say(page, "agent")
    status = widget(page).locator("#cpw-status")  # not the survey's own status line
    expect(status).to_have_text(re.compile(r"^You are number 1 in the queue"), timeout=TIMEOUT_MS)
    assert proxy.urls[0].endswith("&last_seq=0")
    interaction = Interaction.objects.get()
    csr = user_factory(role=Role.CSR, first_name="Blake", last_name="Chen")
    QueueMembership.objects.create(user=csr, queue=interaction.queue, joined=True)
    csr_status_set(user=csr, status="available")
    offer_accept(offer_id=Offer.objects.get(interaction=interaction).pk, user=csr)
    expect(status).to_have_text("You are chatting with Blake Chen", timeout=TIMEOUT_MS)

    # The customer types: typing on, the message with a random UUID, typing off.
    say(page, "Hello Blake")
    hello = log(page).locator(".cpw-msg--customer").last
    expect(hello).to_have_attribute("data-delivery", "sent", timeout=TIMEOUT_MS)
    # Sent on the ack; placed by its seq once its own `message` frame is in too.
    expect(hello).to_have_attribute("data-seq", re.compile(r"^\d+$"), timeout=TIMEOUT_MS)
    sends = proxy.of_type("send")
    assert [send["text"] for send in sends] == ["Hello Blake"]
    assert uuid.UUID(sends[0]["client_msg_id"]).version == 4
    assert {"type": "typing", "active": True} in proxy.sent
    assert {"type": "typing", "active": False} in proxy.sent
    assert proxy.sent.index({"type": "typing", "active": True}) < proxy.sent.index(sends[0])

    # A gap: the first of two CSR messages never reaches the widget.
    last_seen = Interaction.objects.get().last_seq
    proxy.drop_next_message = True
    csr_says(interaction, csr, "First, lost on the way")
    csr_says(interaction, csr, "Second, arrives")
    expect(log(page).get_by_text("Second, arrives")).to_have_count(1, timeout=TIMEOUT_MS)
    expect(log(page).get_by_text("First, lost on the way")).to_have_count(1)
    assert {"type": "resume", "last_seq": last_seen} in proxy.sent
    texts = log(page).locator(".cpw-msg--csr .cpw-bubble").all_text_contents()
    assert texts[-2:] == ["First, lost on the way", "Second, arrives"]
    # With the panel open, the widget tells the CSR what the customer has read.
    _wait_until(
        lambda: any(m["seq"] >= last_seen + 2 for m in proxy.of_type("read")), seconds=5, page=page
    )

    # Every frame twice: each message still shows once.
    proxy.duplicate_messages = True
    csr_says(interaction, csr, "Said once, delivered twice")
    expect(log(page).get_by_text("Said once, delivered twice")).to_have_count(1, timeout=TIMEOUT_MS)
    page.wait_for_timeout(500)
    expect(log(page).get_by_text("Said once, delivered twice")).to_have_count(1)
    proxy.duplicate_messages = False

    # The socket drops and the server stays down: retries after ~1 s, ~2 s, ~4 s (±25 %).
    proxy.refuse = True
    connections = len(proxy.urls)
    dropped_at = time.monotonic()
    proxy.routes[-1].close(code=1011, reason="test: server restart")
    expect(status).to_have_text(re.compile(r"^Reconnecting in \d+ s…$"), timeout=TIMEOUT_MS)
    shot(page, screenshot_dir, "widget-reconnecting.png")
    _wait_until(lambda: len(proxy.urls) >= connections + 3, seconds=15, page=page)
    times = [dropped_at, *proxy.attempts[connections : connections + 3]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert 0.6 <= gaps[0] <= 1.6, gaps
    assert 1.3 <= gaps[1] <= 2.9, gaps
    assert 2.7 <= gaps[2] <= 5.5, gaps

    # The server is back: the widget resumes after the last message it has.
    proxy.refuse = False
    last_seq = Interaction.objects.get().last_seq
    expect(status).to_have_text("You are chatting with Blake Chen", timeout=20_000)
    assert proxy.urls[-1].endswith(f"&last_seq={last_seq}")
    expect(log(page).get_by_text("Second, arrives")).to_have_count(1)

    # Gone for good: no more retries.
    connections = len(proxy.urls)
    proxy.routes[-1].close(code=4410, reason="test: chat gone")
    expect(status).to_have_text("This chat has ended", timeout=TIMEOUT_MS)
    page.wait_for_timeout(3000)
    assert len(proxy.urls) == connections


def _wait_until(condition, *, seconds: float, page: Page) -> None:
    """Let the browser run (and Playwright dispatch its events) until `condition`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {seconds} s")
        page.wait_for_timeout(100)
