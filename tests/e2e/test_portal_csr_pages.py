"""The CSR's pages in a real browser: a chat given back to a CSR who had it before
works again in its tab; presence holds on every portal page and says why the portal
changed it; chat headers follow transfers live; Recent work lists every chat the CSR
took part in, with search and filters; error pages and the favicon in the portal's look."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from chat.models import Interaction, SenderKind
from routing.models import CSRProfile, CSRStatus, Offer, OfferStatus, Queue, QueueMembership
from routing.selectors.csrs import OPEN_PAGE_SECONDS, csr_open_page_counts
from routing.services.answers import offer_accept
from routing.services.presence import csr_status_set, presence_sweep
from routing.services.transfers import interaction_transfer_to_queue
from tests.e2e.pages import log_in, shot
from tests.e2e.test_portal import TIMEOUT_MS, customer_says, demo_user, escalate

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GRACE = settings.PORTAL["PRESENCE_GRACE_SECONDS"]


def new_page(browser) -> tuple:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    return context, context.new_page()


def accept_pending(interaction: Interaction, csr) -> None:
    offer = Offer.objects.get(interaction=interaction, status=OfferStatus.PENDING)
    assert offer.csr_id == csr.pk
    offer_accept(offer_id=offer.pk, user=csr)


def test_a_chat_transferred_back_to_its_first_csr_works_again_in_its_tab(
    page: Page, portal_server, demo, dialogs, screenshot_dir
):
    """csr1 transfers a chat away (its tab goes dead), csr2 sends it back: csr1's
    pop-up, then the same tab is live again — counted, with the composer and the
    customer's new messages, no reload."""
    csr1, csr2 = demo_user("csr1"), demo_user("csr2")
    QueueMembership.objects.filter(user=csr1, queue__slug="billing").update(joined=True)
    QueueMembership.objects.filter(user=csr2, queue__slug="general").update(joined=True)
    csr_status_set(user=csr1, status="available")
    log_in(page, portal_server.url, "csr1", "csr1-demo")
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)

    interaction = escalate(demo, name="Boomerang Customer")
    popup = page.locator("#offer")
    expect(popup).to_contain_text("Boomerang Customer", timeout=TIMEOUT_MS)
    popup.get_by_role("button", name="Accept").click()
    tab = page.get_by_role("tab", name=re.compile("Boomerang Customer"))
    panel = page.get_by_role("tabpanel")
    expect(panel.get_by_role("log")).to_contain_text("Alex Morgan joined", timeout=TIMEOUT_MS)
    expect(page.locator("#capacity")).to_have_text("Chats: 1 of 3")

    general = Queue.objects.get(slug="general")
    interaction_transfer_to_queue(interaction_id=interaction.pk, user=csr1, queue=general)
    csr_status_set(user=csr2, status="available")
    accept_pending(interaction, csr2)
    expect(tab).to_have_attribute("data-ended", "", timeout=TIMEOUT_MS)
    expect(panel.get_by_role("textbox", name="Message")).to_be_hidden()
    expect(page.locator("#capacity")).to_have_text("Chats: 0 of 3", timeout=TIMEOUT_MS)

    billing = Queue.objects.get(slug="billing")
    interaction_transfer_to_queue(interaction_id=interaction.pk, user=csr2, queue=billing)
    expect(popup).to_contain_text("Incoming transfer", timeout=TIMEOUT_MS)
    popup.get_by_role("button", name="Accept").click()

    expect(page.get_by_role("tab", name=re.compile("Boomerang Customer"))).to_have_count(1)
    expect(tab).not_to_have_attribute("data-ended", "", timeout=TIMEOUT_MS)
    expect(tab).to_have_attribute("aria-selected", "true")
    expect(page.locator("#capacity")).to_have_text("Chats: 1 of 3", timeout=TIMEOUT_MS)
    box = panel.get_by_role("textbox", name="Message")
    expect(box).to_be_visible()
    expect(panel.locator('[data-field="queue"]')).to_have_text("Billing")
    expect(panel.locator('[data-field="status"]')).to_have_text("Active")
    customer_says(interaction, "Are you back, Alex?")
    log = panel.get_by_role("log")
    expect(log).to_contain_text("Are you back, Alex?", timeout=TIMEOUT_MS)
    box.fill("Yes, I have your chat again.")
    box.press("Enter")
    expect(log.locator(".msg--csr").last).to_have_attribute(
        "data-delivery", re.compile("sent|read"), timeout=TIMEOUT_MS
    )
    interaction.refresh_from_db()
    assert interaction.assigned_csr == csr1
    shot(page, screenshot_dir, "portal-chat-given-back.png")
    assert dialogs == []


def test_presence_holds_on_every_portal_page_and_says_why_the_portal_changed_it(
    page: Page, portal_server, demo, screenshot_dir
):
    """A CSR with two chats who moves to Recent work (then an interaction window) stays
    Available past the grace period; the app bar shows their status on those pages.
    Once the portal sets them Offline (no sign of life for long), the page says why."""
    csr1 = demo_user("csr1")
    QueueMembership.objects.filter(user=csr1, queue__slug="billing").update(joined=True)
    csr_status_set(user=csr1, status="available")
    chats = []
    for name in ("First Holder", "Second Holder"):
        chats.append(escalate(demo, name=name))
        accept_pending(chats[-1], csr1)
    log_in(page, portal_server.url, "csr1", "csr1-demo")
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)

    page.get_by_role("link", name="Recent work").click()
    presence = page.locator("#presence")
    expect(presence).to_have_text("Available", timeout=TIMEOUT_MS)
    expect(presence).to_have_attribute("data-status", "available")
    assert csr_open_page_counts(user_ids=[csr1.pk], now=timezone.now()) == {csr1.pk: 1}
    presence_sweep(now=timezone.now() + timedelta(seconds=GRACE + 40))
    assert CSRProfile.objects.get(user=csr1).status == CSRStatus.AVAILABLE
    shot(page, screenshot_dir, "portal-recent-work-presence.png")

    page.goto(f"{portal_server.url}/interactions/{chats[0].pk}/")
    expect(page.locator("#presence")).to_have_text("Available", timeout=TIMEOUT_MS)
    expect(page.get_by_role("log")).to_contain_text("joined the chat", timeout=TIMEOUT_MS)
    presence_sweep(now=timezone.now() + timedelta(seconds=GRACE + 40))
    assert CSRProfile.objects.get(user=csr1).status == CSRStatus.AVAILABLE

    # The page falls silent for longer than an open page counts: the portal sets the
    # CSR Offline, and the page says so and why.
    presence_sweep(now=timezone.now() + timedelta(seconds=OPEN_PAGE_SECONDS + GRACE + 1))
    assert CSRProfile.objects.get(user=csr1).status == CSRStatus.OFFLINE
    expect(page.locator("#presence")).to_have_text("Offline — Disconnected", timeout=TIMEOUT_MS)
    note = page.locator("#presence-note")
    expect(note).to_have_text(
        "You were set Offline because your connection was lost. Open My Work to choose your status."
    )
    shot(page, screenshot_dir, "portal-interaction-window-set-offline.png")
    page.reload()
    expect(page.locator("#presence-note")).to_have_text(
        "The portal set you Offline — Disconnected. Open My Work to choose your status.",
        timeout=TIMEOUT_MS,
    )
    page.locator("#presence-note").get_by_role("link", name="Open My Work").click()
    expect(page.locator("#status-select option:checked")).to_have_text(
        "Offline — Disconnected", timeout=TIMEOUT_MS
    )


def test_headers_follow_the_chat_through_a_transfer_on_both_sides(
    page: Page, browser, portal_server, demo, dialogs, screenshot_dir
):
    """csr1 transfers a Billing chat to the General queue: csr1's header says General ·
    Queued (or Offered), then, once csr2 accepts, General · Active with csr2 named; csr2's header
    says General · Active."""
    csr1, csr2 = demo_user("csr1"), demo_user("csr2")
    QueueMembership.objects.filter(user=csr1, queue__slug="billing").update(joined=True)
    QueueMembership.objects.filter(user=csr2, queue__slug="general").update(joined=True)
    csr_status_set(user=csr1, status="available")
    csr_status_set(user=csr2, status="available")
    context2, page2 = new_page(browser)
    try:
        log_in(page, portal_server.url, "csr1", "csr1-demo")
        log_in(page2, portal_server.url, "csr2", "csr2-demo")
        for p in (page, page2):
            expect(p.locator("#connection")).to_have_attribute(
                "data-state", "open", timeout=TIMEOUT_MS
            )
        escalate(demo, name="Moving Customer")
        popup = page.locator("#offer")
        expect(popup).to_contain_text("Moving Customer", timeout=TIMEOUT_MS)
        popup.get_by_role("button", name="Accept").click()
        panel = page.get_by_role("tabpanel")
        header = panel.locator(".panel__sub")
        expect(panel.get_by_role("log")).to_contain_text("joined the chat", timeout=TIMEOUT_MS)
        expect(header).to_contain_text("Billing")
        expect(panel.locator('[data-field="status"]')).to_have_text("Active")

        panel.get_by_role("button", name="Actions").click()
        panel.get_by_role("menuitem", name="Transfer interaction").click()
        transfer = page.get_by_role("dialog", name="Transfer interaction")
        transfer.get_by_text("To a queue").click()
        transfer.get_by_label("Queue", exact=True).select_option("general")
        transfer.get_by_role("button", name="Transfer", exact=True).click()
        expect(panel.locator('[data-field="queue"]')).to_have_text("General", timeout=TIMEOUT_MS)
        # Waiting in General, or already offered to csr2 by the time the header is read.
        expect(panel.locator('[data-field="status"]')).to_have_text(re.compile("Queued|Offered"))

        popup2 = page2.locator("#offer")
        expect(popup2).to_contain_text("Moving Customer", timeout=TIMEOUT_MS)
        popup2.get_by_role("button", name="Accept").click()
        panel2 = page2.get_by_role("tabpanel")
        expect(panel2.get_by_role("log")).to_contain_text("Blake Chen joined", timeout=TIMEOUT_MS)
        expect(panel2.locator('[data-field="queue"]')).to_have_text("General")
        expect(panel2.locator('[data-field="status"]')).to_have_text("Active")

        expect(panel.get_by_role("textbox", name="Message")).to_be_hidden(timeout=TIMEOUT_MS)
        expect(panel.locator('[data-field="status"]')).to_have_text("Active", timeout=TIMEOUT_MS)
        expect(panel.locator('[data-field="mode-note"]')).to_have_text(
            "Read-only · Blake Chen has it now"
        )
        expect(panel.locator('[data-field="queue"]')).to_have_text("General")
        shot(page, screenshot_dir, "portal-header-after-transfer-sender.png")
        shot(page2, screenshot_dir, "portal-header-after-transfer-receiver.png")
    finally:
        context2.close()
    assert dialogs == []


def test_recent_work_lists_a_transferred_chat_for_both_csrs_with_search_and_filters(
    page: Page, portal_server, demo, screenshot_dir
):
    """csr1 handled the first part of a chat csr2 finished: both find it in Recent work
    with its real start, their own part and the whole duration; search and filters
    narrow the list; a bad date is explained, not a server error."""
    from chat.services.interactions import interaction_end

    csr1, csr2 = demo_user("csr1"), demo_user("csr2")
    QueueMembership.objects.filter(user=csr1, queue__slug="billing").update(joined=True)
    QueueMembership.objects.filter(user=csr2, queue__slug="general").update(joined=True)
    csr_status_set(user=csr1, status="available")
    handed = escalate(demo, name="Handed Over")
    accept_pending(handed, csr1)
    customer_says(handed, "My refund for order 1017 never came")
    interaction_transfer_to_queue(
        interaction_id=handed.pk, user=csr1, queue=Queue.objects.get(slug="general")
    )
    csr_status_set(user=csr2, status="available")
    accept_pending(handed, csr2)
    interaction_end(interaction_id=handed.pk, by=SenderKind.CSR, user=csr2)
    QueueMembership.objects.filter(user=csr1, queue__slug="technical-support").update(joined=True)
    other = escalate(demo, name="Other Customer", intent="technical")
    Interaction.objects.filter(pk=other.pk).update(created_at=timezone.now() - timedelta(days=3))
    accept_pending(other, csr1)
    interaction_end(interaction_id=other.pk, by=SenderKind.CSR, user=csr1)

    log_in(page, portal_server.url, "csr1", "csr1-demo")
    page.get_by_role("link", name="Recent work").click()
    table = page.locator("#recent-work")
    row = table.locator(f'tr[data-interaction="{handed.pk}"]')
    expect(row).to_contain_text("Handed Over", timeout=TIMEOUT_MS)
    expect(table.locator(f'tr[data-interaction="{other.pk}"]')).to_be_visible()
    handed.refresh_from_db()
    started = timezone.localtime(handed.created_at)
    expect(row.locator('[data-field="started"]')).to_have_text(f"{started:%d %b %Y, %H:%M}")
    expect(row.locator('[data-field="part"]')).to_contain_text(re.compile(r"\d\d:\d\d–\d\d:\d\d"))
    expect(row.locator('[data-field="duration"]')).to_have_text(re.compile(r"^\d+ s$|min"))
    shot(page, screenshot_dir, "portal-recent-work-all-parts.png")

    page.get_by_role("searchbox", name="Search").fill("order 1017")
    page.get_by_role("button", name="Search").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(row).to_be_visible()
    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Queue").select_option(label="Technical support")
    page.get_by_role("button", name="Search").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator(f'tr[data-interaction="{other.pk}"]')).to_be_visible()

    today = timezone.localdate()
    page.goto(f"{portal_server.url}/recent/?start={today}&end={today - timedelta(days=1)}")
    expect(page.get_by_role("alert")).to_contain_text("The end date is before the start date.")
    expect(table).to_contain_text("Fix the search and filters above")
    shot(page, screenshot_dir, "portal-recent-work-bad-filter.png")

    # csr2 finished it, and finds it too, with their own part.
    page.get_by_role("button", name="Log out").click()
    log_in(page, portal_server.url, "csr2", "csr2-demo")
    page.get_by_role("link", name="Recent work").click()
    expect(table.locator(f'tr[data-interaction="{handed.pk}"]')).to_contain_text(
        "Handed Over", timeout=TIMEOUT_MS
    )
    expect(table.locator(f'tr[data-interaction="{other.pk}"]')).to_have_count(0)


def test_error_pages_and_favicon_look_like_the_portal(
    page: Page, portal_server, demo, screenshot_dir
):
    """Another CSR's chat is a 403 page in the portal's look with the reason; a form sent
    without its CSRF cookie gets a page that says what to do; the favicon is linked,
    served at /favicon.ico, and no page load asks for anything that is not there."""
    csr1 = demo_user("csr1")
    QueueMembership.objects.filter(user=csr1, queue__slug="billing").update(joined=True)
    csr_status_set(user=csr1, status="available")
    theirs = escalate(demo, name="Not Yours")
    accept_pending(theirs, csr1)
    failed: list[str] = []
    page.on(
        "response",
        lambda response: (
            failed.append(f"{response.status} {response.url}")
            if response.status >= 400 and "/interactions/" not in response.url
            else None
        ),
    )
    log_in(page, portal_server.url, "csr2", "csr2-demo")
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
    page.get_by_role("link", name="Recent work").click()
    expect(page.locator("#presence")).to_have_text(re.compile("Offline|Available|Away"))

    reply = page.goto(f"{portal_server.url}/interactions/{theirs.pk}/")
    assert reply is not None and reply.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You may not open this page")
    expect(page.locator("main")).to_contain_text("You may not open this interaction.")
    expect(page.locator(".appbar")).to_contain_text("Interaction Portal")
    shot(page, screenshot_dir, "portal-403.png")

    icons = page.locator('link[rel="icon"]')
    expect(icons).to_have_count(2)
    for href in icons.evaluate_all("links => links.map((link) => link.href)"):
        assert page.request.get(href).status == 200
    favicon = page.request.get(f"{portal_server.url}/favicon.ico")
    assert favicon.status == 200
    assert favicon.headers["content-type"] == "image/x-icon"

    page.get_by_role("button", name="Log out").click()
    page.goto(f"{portal_server.url}/accounts/login/")
    page.context.clear_cookies()
    page.get_by_label("Username").fill("csr1")
    page.get_by_label("Password").fill("csr1-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("This form could not be sent")
    expect(page.locator("main")).to_contain_text("allow cookies for this site")
    shot(page, screenshot_dir, "portal-csrf-failure.png")
    assert failed == ["403 " + f"{portal_server.url}/accounts/login/"]
