"""The manager tools in a real browser against daphne, with a manager and two CSRs: the
Queues page follows an escalation, an acceptance and the end live, and its longest wait
turns red past the service level; removing a CSR from a queue reaches their My Work; a
whisper shows in the CSR's panel (marked) and never on the customer's side; barging in
and taking over move the chat; a CSR gets 403 on every manager page and socket."""

import pytest
from playwright.sync_api import Browser, Page, expect

from chat.models import Interaction, Message, SenderKind
from chat.services.interactions import interaction_end
from routing.models import CSRProfile, CSRStatus, Offer, OfferStatus, Queue, QueueMembership
from routing.services.answers import offer_accept
from tests.e2e.pages import log_in, shot
from tests.e2e.test_portal import customer_says, demo_user, escalate
from tests.factories import route_chat
from transcripts.formats import render_text
from transcripts.selectors import Audience, transcript_build

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TIMEOUT_MS = 15_000


def _available(username: str, *, queues: tuple[str, ...] = ("billing",)) -> None:
    user = demo_user(username)
    CSRProfile.objects.filter(user=user).update(status=CSRStatus.AVAILABLE)
    QueueMembership.objects.filter(user=user, queue__slug__in=queues).update(joined=True)


def _accept(interaction: Interaction, username: str) -> None:
    route_chat(interaction_id=interaction.pk)
    offer = Offer.objects.get(interaction=interaction, status=OfferStatus.PENDING)
    assert offer.csr.username == username
    offer_accept(offer_id=offer.pk, user=offer.csr)


def _queue_row(page: Page, name: str):
    return page.locator("#sv-queues tbody tr").filter(has=page.get_by_role("rowheader", name=name))


def test_the_queues_page_follows_a_chat_live_and_the_wait_turns_red(
    page: Page, portal_server, demo, dialogs, screenshot_dir
):
    Queue.objects.filter(slug="billing").update(service_level_seconds=3)
    log_in(page, portal_server.url, "manager", "manager-demo")
    page.goto(f"{portal_server.url}/supervision/")
    expect(page.get_by_role("heading", name="Queues")).to_be_visible()
    expect(page.locator("#sv-live")).to_have_text("Live", timeout=TIMEOUT_MS)
    billing = _queue_row(page, "Billing")
    expect(billing.locator("td").nth(0)).to_have_text("0")
    interaction = escalate(demo, name="Queued Customer")
    expect(billing.locator("td").nth(0)).to_have_text("1", timeout=TIMEOUT_MS)
    expect(billing.locator("td").nth(1)).to_contain_text("within service level")
    # Past the 3 s service level: red, with an icon and words, and an alert.
    expect(billing.locator("td").nth(1)).to_contain_text("past service level", timeout=TIMEOUT_MS)
    expect(billing.locator("td.sv-wait--over")).to_have_count(1)
    expect(page.locator("#sv-alerts")).to_contain_text(
        "Queued Customer has waited past the Billing service level", timeout=TIMEOUT_MS
    )
    shot(page, screenshot_dir, "supervision-queues-past-service-level.png")
    _available("csr1")
    _accept(interaction, "csr1")
    expect(billing.locator("td").nth(0)).to_have_text("0", timeout=TIMEOUT_MS)
    expect(billing.locator("td").nth(2)).to_have_text("1", timeout=TIMEOUT_MS)
    expect(billing.locator("td").nth(4)).to_have_text("1")  # csr1 Available
    # Accepted: the service-level alert ends by itself.
    expect(page.locator("#sv-alerts")).not_to_contain_text(
        "waited past the Billing service level", timeout=TIMEOUT_MS
    )
    interaction_end(interaction_id=interaction.pk, by=SenderKind.CSR, user=demo_user("csr1"))
    expect(billing.locator("td").nth(2)).to_have_text("0", timeout=TIMEOUT_MS)
    shot(page, screenshot_dir, "supervision-queues.png")
    for path, heading, name in (
        ("/supervision/csrs/", "CSRs", "supervision-csrs.png"),
        ("/supervision/chats/", "Chat activity", "supervision-chats.png"),
        ("/supervision/health/", "System health", "supervision-health.png"),
    ):
        page.goto(f"{portal_server.url}{path}")
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        expect(page.locator("#sv-live")).to_have_text("Live", timeout=TIMEOUT_MS)
        shot(page, screenshot_dir, name)
    assert dialogs == []


def test_removing_a_csr_from_a_queue_reaches_their_my_work(
    browser: Browser, page: Page, portal_server, demo, screenshot_dir
):
    _available("csr2", queues=("billing", "general"))
    csr_context = browser.new_context(viewport={"width": 1280, "height": 800})
    csr_page = csr_context.new_page()
    try:
        log_in(csr_page, portal_server.url, "csr2", "csr2-demo")
        queues = csr_page.locator("#queues")
        expect(queues).to_contain_text("Billing", timeout=TIMEOUT_MS)
        log_in(page, portal_server.url, "manager", "manager-demo")
        billing = Queue.objects.get(slug="billing")
        page.goto(f"{portal_server.url}/supervision/queues/{billing.pk}/members/")
        row = page.locator("tbody tr").filter(has=page.get_by_role("rowheader", name="Blake Chen"))
        row.get_by_label("Reason").fill("Moving to General today")
        row.get_by_role("button", name="Remove Blake").click()
        expect(page.locator("tbody")).not_to_contain_text("Blake Chen")
        assert not QueueMembership.objects.filter(user__username="csr2", queue=billing).exists()
        expect(queues).not_to_contain_text("Billing", timeout=TIMEOUT_MS)
        expect(queues).to_contain_text("General")
        shot(csr_page, screenshot_dir, "supervision-removed-from-queue-my-work.png")
    finally:
        csr_context.close()


def test_whisper_barge_in_and_take_over_from_the_chat_window(
    browser: Browser, page: Page, portal_server, demo, dialogs, screenshot_dir
):
    _available("csr1")
    interaction = escalate(demo, name="Dana Whitfield")
    _accept(interaction, "csr1")
    csr_context = browser.new_context(viewport={"width": 1280, "height": 800})
    csr_page = csr_context.new_page()
    try:
        log_in(csr_page, portal_server.url, "csr1", "csr1-demo")
        csr_log = csr_page.get_by_role("log", name="Conversation")
        expect(csr_log).to_contain_text("I was charged twice", timeout=TIMEOUT_MS)
        log_in(page, portal_server.url, "manager", "manager-demo")
        page.goto(f"{portal_server.url}/interactions/{interaction.pk}/")
        expect(page.locator("#sv-join-state")).to_contain_text("monitoring", timeout=TIMEOUT_MS)
        page.get_by_label("Whisper to the CSR").fill("Offer the goodwill refund")
        page.get_by_role("button", name="Whisper").click()
        whisper = csr_log.locator(".msg--internal").filter(has_text="Offer the goodwill refund")
        expect(whisper).to_be_visible(timeout=TIMEOUT_MS)
        expect(whisper).to_contain_text("not shown to the customer")
        shot(csr_page, screenshot_dir, "supervision-whisper-csr-panel.png")
        customer = "".join(
            render_text(transcript_build(interaction=interaction, audience=Audience.BOT_CLIENT))
        )
        assert "goodwill refund" not in customer and "monitoring" not in customer
        page.get_by_role("button", name="Barge in").click()
        expect(csr_log).to_contain_text(
            "Jordan Rivera (supervisor) joined the chat", timeout=TIMEOUT_MS
        )
        page.get_by_label("Message to the customer").fill("Hello Dana, I am the team lead.")
        page.get_by_role("button", name="Send", exact=True).click()
        expect(csr_log).to_contain_text("Hello Dana, I am the team lead.", timeout=TIMEOUT_MS)
        customer_says(interaction, "Thanks for stepping in")
        page.get_by_role("button", name="Take over").click()
        revoked = csr_page.get_by_text(
            "This chat was taken over by Jordan Rivera (supervisor).", exact=True
        )
        expect(revoked).to_be_visible(timeout=TIMEOUT_MS)
        # The chat is the manager's now: the window becomes their live panel (it reloads),
        # with the composer and no join bar or read-only note.
        composer = page.get_by_role("textbox", name="Message", exact=True)
        expect(composer).to_be_visible(timeout=TIMEOUT_MS)
        expect(page.locator("#sv-join")).to_have_count(0)
        expect(page.get_by_text("Watching read-only")).to_have_count(0)
        expect(page.get_by_text("You are watching this chat read-only.")).to_be_hidden()
        manager_log = page.get_by_role("log", name="Conversation")
        expect(manager_log).to_contain_text("took over the chat", timeout=TIMEOUT_MS)
        composer.fill("I will sort the refund out myself.")
        composer.press("Enter")
        expect(manager_log).to_contain_text(
            "I will sort the refund out myself.", timeout=TIMEOUT_MS
        )
        shot(page, screenshot_dir, "supervision-take-over-manager.png")
        shot(csr_page, screenshot_dir, "supervision-take-over-csr.png")
        assert Interaction.objects.get(pk=interaction.pk).assigned_csr == demo_user("manager")
        sent = Message.objects.get(
            interaction=interaction, text="I will sort the refund out myself."
        )
        assert sent.sender_kind == SenderKind.CSR and sent.author == demo_user("manager")
        assert not sent.internal
        assert dialogs == []
    finally:
        csr_context.close()


def test_a_csr_gets_403_on_every_manager_page_and_socket(page: Page, portal_server, demo):
    log_in(page, portal_server.url, "csr1", "csr1-demo")
    for path in (
        "/supervision/",
        "/supervision/csrs/",
        "/supervision/chats/",
        "/supervision/health/",
    ):
        response = page.goto(f"{portal_server.url}{path}")
        assert response is not None and response.status == 403, path
    code = page.evaluate(
        """() => new Promise((resolve) => {
            const ws = new WebSocket(`ws://${location.host}/ws/supervision/`);
            ws.onclose = (event) => resolve(event.code);
        })"""
    )
    assert code == 4403


def test_the_join_bar_and_the_queue_sort_work_from_the_keyboard(
    page: Page, portal_server, demo, dialogs
):
    _available("csr1")
    interaction = escalate(demo, name="Keyboard Customer")
    _accept(interaction, "csr1")
    log_in(page, portal_server.url, "manager", "manager-demo")
    page.goto(f"{portal_server.url}/interactions/{interaction.pk}/")
    expect(page.locator("#sv-join-state")).to_contain_text("monitoring", timeout=TIMEOUT_MS)
    page.get_by_label("Whisper to the CSR").focus()
    page.keyboard.type("Typed without a mouse")
    page.keyboard.press("Enter")
    log = page.get_by_role("log", name="Conversation")
    expect(log).to_contain_text("Typed without a mouse", timeout=TIMEOUT_MS)
    page.keyboard.press("Shift+Tab")  # back from the whisper box: the bar's last button
    page.get_by_role("button", name="Barge in").focus()
    page.keyboard.press("Enter")
    expect(log).to_contain_text("joined the chat", timeout=TIMEOUT_MS)
    page.goto(f"{portal_server.url}/supervision/")
    sort = page.get_by_label("Sort by")
    sort.focus()
    page.keyboard.press("ArrowDown")
    expect(sort).to_have_value("wait")
    assert dialogs == []
