"""Wrap-up in a real browser: a CSR at capacity 1 ends a chat, the tab keeps a wrap-up
form (code, summary, time left) and the next chat is offered only once it is finished;
a wrap-up whose time runs out is released and the tab says so."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from chat.models import Interaction, InteractionStatus, SatisfactionRating, SenderKind
from chat.services.interactions import interaction_end
from chat.signals import satisfaction_rated
from reports.services.rollup import facts_refresh
from routing.models import CSRProfile, Offer, OfferStatus, Queue, QueueMembership, Wrapup
from routing.services.presence import csr_status_set
from routing.services.wrapups import wrapup_expire
from tests.e2e.a11y import assert_accessible
from tests.e2e.pages import log_in, shot
from tests.e2e.test_assist import csr_takes, open_window
from tests.e2e.test_portal import TIMEOUT_MS, demo_user, escalate

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def billing_with_wrapup(*, seconds: int = 120, required: bool = True) -> Queue:
    """The demo's Billing queue with a wrap-up of `seconds` (its code required unless
    told otherwise)."""
    billing = Queue.objects.get(slug="billing")
    billing.wrapup_seconds = seconds
    billing.wrapup_required = required
    billing.save()
    return billing


def csr1_works_billing(page: Page, base: str, billing: Queue) -> None:
    """csr1 joins Billing, goes Available and opens My Work."""
    csr1 = demo_user("csr1")
    QueueMembership.objects.filter(user=csr1, queue=billing).update(joined=True)
    csr_status_set(user=csr1, status="available")
    log_in(page, base, "csr1", "csr1-demo")
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)


def chat_accepted(page: Page, demo, name: str) -> Interaction:
    """A chat escalated for `name`, accepted from My Work's pop-up: its panel is live."""
    chat = escalate(demo, name=name)
    popup = page.locator("#offer")
    expect(popup).to_contain_text(name, timeout=TIMEOUT_MS)
    popup.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("tabpanel").get_by_role("log")).to_contain_text(
        "joined", timeout=TIMEOUT_MS
    )
    return chat


def csr_replies(panel, text: str) -> None:
    """The CSR sends `text` and it is stored (its bubble has its seq, not only the
    pending copy shown at once): the panel is live before the customer leaves."""
    panel.get_by_role("textbox", name="Message").fill(text)
    panel.get_by_role("textbox", name="Message").press("Enter")
    expect(panel.locator(".msg--csr[data-seq]").filter(has_text=text)).to_have_count(
        1, timeout=TIMEOUT_MS
    )


def stored_wrapup(interaction) -> tuple[str | None, str, str]:
    """The chat's wrap-up as stored: its code, summary and outcome."""
    wrapup = Wrapup.objects.select_related("code").get(interaction=interaction)
    return (wrapup.code.code if wrapup.code else None, wrapup.summary, wrapup.outcome)


def test_the_next_chat_waits_for_the_wrap_up_and_a_timeout_releases_it(
    page: Page, portal_server, demo, dialogs, screenshot_dir
):
    billing = billing_with_wrapup()
    CSRProfile.objects.filter(user=demo_user("csr1")).update(capacity=1)
    csr1_works_billing(page, portal_server.url, billing)

    first = chat_accepted(page, demo, "First Customer")
    popup = page.locator("#offer")
    panel = page.get_by_role("tabpanel")
    second = escalate(demo, name="Second Customer")

    # The CSR ends the chat: its tab keeps the wrap-up form, still counted.
    panel.get_by_role("button", name="Actions").click()
    panel.get_by_role("menuitem", name="End chat").click()
    page.get_by_role("alertdialog", name="End chat?").get_by_role("button", name="End chat").click()
    form = panel.get_by_role("form", name="Wrap-up")
    expect(form).to_be_visible(timeout=TIMEOUT_MS)
    code = form.get_by_label("Disposition code")
    expect(code.locator("option")).to_have_text(
        ["Choose a code…", "Resolved", "Follow-up needed", "Complaint"]
    )
    expect(form.locator(".wrapup__time")).to_have_text(re.compile(r"^[12]:\d\d left$"))
    expect(page.locator("#capacity")).to_have_text("Chats: 1 of 1")
    page.wait_for_timeout(1500)  # a routing run would have offered the next chat by now
    expect(popup).to_be_hidden()
    assert Interaction.objects.get(pk=second.pk).status == InteractionStatus.QUEUED

    # The tab cannot be closed while its wrap-up is open.
    panel.get_by_role("button", name=re.compile("^Close tab")).click()
    expect(page.locator("#toast")).to_contain_text("Finish the wrap-up first")
    expect(page.get_by_role("tab", name=re.compile("First Customer"))).to_have_count(1)
    form.get_by_role("button", name="Finish wrap-up").click()
    expect(form.get_by_role("alert")).to_have_text("Pick a disposition code to finish the wrap-up.")
    code.select_option(label="Follow-up needed")
    form.get_by_label("Summary").fill("Refund promised by Friday.")
    shot(page, screenshot_dir, "wrapup-form.png")
    form.get_by_role("button", name="Finish wrap-up").click()
    expect(form.get_by_role("status")).to_have_text(
        "Wrap-up finished: Follow-up needed.", timeout=TIMEOUT_MS
    )
    # Released: the waiting chat is offered now.
    expect(popup).to_contain_text("Second Customer", timeout=TIMEOUT_MS)
    assert stored_wrapup(first) == ("follow-up", "Refund promised by Friday.", "completed")
    shot(page, screenshot_dir, "wrapup-finished-next-offer.png")

    # The customer ends the second chat; its wrap-up's time runs out.
    popup.get_by_role("button", name="Accept").click()
    second_tab = page.get_by_role("tab", name=re.compile("Second Customer"))
    expect(second_tab).to_have_attribute("aria-selected", "true", timeout=TIMEOUT_MS)
    assert Offer.objects.filter(interaction=second, status=OfferStatus.ACCEPTED).exists()
    second_panel = page.get_by_role("tabpanel")
    csr_replies(second_panel, "Hello, checking now")  # live before the customer leaves
    interaction_end(interaction_id=second.pk, by=SenderKind.CUSTOMER)
    second_form = second_panel.get_by_role("form", name="Wrap-up")
    expect(second_form).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator("#capacity")).to_have_text("Chats: 1 of 1")
    # A reload brings the open wrap-up's tab back with its form and the conversation.
    page.reload()
    second_form = page.get_by_role("tabpanel").get_by_role("form", name="Wrap-up")
    expect(second_form).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_role("tabpanel").get_by_role("log")).to_contain_text(
        "Hello, checking now", timeout=TIMEOUT_MS
    )
    expect(page.get_by_role("tab", name=re.compile("Second Customer"))).to_have_count(1)
    expect(page.locator("#capacity")).to_have_text("Chats: 1 of 1")
    timed = Wrapup.objects.get(interaction=second)
    Wrapup.objects.filter(pk=timed.pk).update(due_at=timezone.now() - timedelta(seconds=1))
    assert wrapup_expire(wrapup_id=timed.pk)
    expect(second_form.get_by_role("status")).to_have_text(
        "The wrap-up time ran out: the chat was released without a wrap-up.",
        timeout=TIMEOUT_MS,
    )
    expect(second_form.get_by_role("button", name="Finish wrap-up")).to_be_hidden()
    expect(page.locator("#capacity")).to_have_text("Chats: 0 of 1")
    shot(page, screenshot_dir, "wrapup-timed-out.png")

    # The interaction window shows the first chat's code and summary.
    page.goto(f"{portal_server.url}/interactions/{first.pk}/")
    summary = page.get_by_role("region", name="Wrap-up", exact=True)
    expect(summary).to_contain_text("Follow-up needed")
    expect(summary).to_contain_text("Refund promised by Friday.")
    assert dialogs == []


def test_the_interaction_window_keeps_the_wrap_up_of_a_chat_that_ends_there(
    page: Page, portal_server, demo, dialogs, screenshot_dir
):
    """A CSR working a chat in the interaction window, not My Work: when the customer
    leaves, the window shows the wrap-up form; after a reload it is still there, with the
    conversation; finishing it there releases the CSR's place."""
    billing_with_wrapup()
    interaction = escalate(demo, name="Window Customer")
    csr_takes(interaction)
    log_in(page, portal_server.url, "csr1", "csr1-demo")
    open_window(page, portal_server.url, interaction)
    panel = page.locator("[data-panel]")
    csr_replies(panel, "Let me look at that charge")
    # A draft typed in the window survives a reload there too.
    panel.get_by_role("textbox", name="Message").fill("One moment while I check")
    page.reload()
    expect(panel).to_have_attribute("data-connection", "open", timeout=TIMEOUT_MS)
    expect(panel.get_by_role("textbox", name="Message")).to_have_value("One moment while I check")

    interaction_end(interaction_id=interaction.pk, by=SenderKind.CUSTOMER)
    form = page.get_by_role("form", name="Wrap-up")
    expect(form).to_be_visible(timeout=TIMEOUT_MS)
    expect(form.locator(".wrapup__time")).to_have_text(re.compile(r"^[12]:\d\d left$"))

    page.reload()
    form = page.get_by_role("form", name="Wrap-up")
    expect(form).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator("[data-panel]").get_by_role("log")).to_contain_text(
        "Let me look at that charge"
    )
    # The form stands in for the summary card while the wrap-up is open.
    expect(page.get_by_role("region", name="Wrap-up", exact=True)).to_have_count(0)
    form.get_by_label("Disposition code").select_option(label="Resolved")
    form.get_by_label("Summary").fill("Duplicate charge reversed.")
    shot(page, screenshot_dir, "wrapup-interaction-window.png")
    form.get_by_role("button", name="Finish wrap-up").click()
    expect(form.get_by_role("status")).to_have_text(
        "Wrap-up finished: Resolved.", timeout=TIMEOUT_MS
    )
    assert stored_wrapup(interaction) == ("resolved", "Duplicate charge reversed.", "completed")
    # Finished: the window shows the summary card again.
    page.reload()
    summary = page.get_by_role("region", name="Wrap-up", exact=True)
    expect(summary).to_contain_text("Duplicate charge reversed.")
    expect(page.get_by_role("form", name="Wrap-up")).to_have_count(0)
    assert dialogs == []


@pytest.mark.browser_context_args(bypass_csp=True)
def test_the_wrap_up_form_and_the_report_figures_pass_axe(
    page: Page, portal_server, demo, dialogs, screenshot_dir
):
    """The wrap-up form (open, then finished) has no critical or serious axe violation;
    the code and the customer's rating reach a manager's Reports page."""
    csr1_works_billing(page, portal_server.url, billing_with_wrapup(seconds=300, required=False))
    chat = chat_accepted(page, demo, "Rated Customer")
    panel = page.get_by_role("tabpanel")
    csr_replies(panel, "Happy to help")
    interaction_end(interaction_id=chat.pk, by=SenderKind.CUSTOMER)
    form = panel.get_by_role("form", name="Wrap-up")
    expect(form).to_be_visible(timeout=TIMEOUT_MS)
    expect(form.get_by_label("Disposition code").locator("option").first).to_have_text("No code")
    assert_accessible(page, "wrap-up form", context=".wrapup")
    form.get_by_label("Disposition code").select_option(label="Resolved")
    form.get_by_role("button", name="Finish wrap-up").click()
    expect(form.get_by_role("status")).to_have_text(
        "Wrap-up finished: Resolved.", timeout=TIMEOUT_MS
    )
    assert_accessible(page, "wrap-up finished", context=".wrapup")

    # The survey was asked when the chat ended (on this channel); the customer answers.
    SatisfactionRating.objects.update_or_create(
        interaction=chat, defaults={"rating": 4, "answered_at": timezone.now()}
    )
    satisfaction_rated.send(sender=SatisfactionRating, interaction_id=chat.pk, rating=4, comment="")
    facts_refresh(interaction_ids=[chat.pk])
    page.get_by_role("button", name="Log out").click()
    log_in(page, portal_server.url, "manager", "manager-demo")
    page.goto(f"{portal_server.url}/reports/?range=today")
    csat = page.get_by_role("region", name="Customer satisfaction", exact=True)
    expect(csat).to_contain_text("4.0 / 5")
    codes = page.get_by_role("region", name="Wrap-up disposition codes", exact=True)
    expect(codes.get_by_role("table").first).to_contain_text("Resolved")
    expect(codes.locator("canvas[data-chart]")).to_have_attribute("data-drawn", "true")
    codes.scroll_into_view_if_needed()
    shot(page, screenshot_dir, "wrapup-reports.png")
    for title in ("csat-title", "dispositions-title"):
        assert_accessible(page, title, context=f'section[aria-labelledby="{title}"]')
    assert dialogs == []
