"""The CSR assistant for a service case, in real browsers: a customer writes "someone
took £250 from my card on Monday"; the assistant proposes Dispute a card payment with the
amount and the date pre-filled and sourced; it asks for authentication first; the CSR
confirms; the customer sees the reference; the case shows in Recent work, the Cases page
and the transcript."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from cases.models import Case, CaseStatus
from chat.models import Interaction, SystemEvent
from chat.selectors.settings import app_studio_settings_get
from tests.e2e.pages import say, shot, widget

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TIMEOUT_MS = 15_000
SENTENCE = "someone took £250 from my card on Monday"


def csr_logs_in_and_is_available(page: Page, base: str) -> None:
    page.goto(f"{base}/")
    page.get_by_label("Username").fill("csr1")
    page.get_by_label("Password").fill("csr1-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
    for queue in page.locator("#queues .queue").all():
        switch = queue.get_by_role("switch")
        if switch.get_attribute("aria-checked") != "true":
            switch.click()
            expect(switch).to_have_attribute("aria-checked", "true")
    page.get_by_label("Your status").select_option("available")


def customer_reaches_a_csr(page: Page, base: str, csr: Page) -> Interaction:
    page.goto(f"{base}/demo/")
    page.get_by_role("button", name="Chat with us").click()
    log = widget(page).get_by_role("log", name="Conversation")
    say(page, "I'm Dana")
    expect(log).to_contain_text("Nice to meet you, Dana.", timeout=TIMEOUT_MS)
    say(page, "I need help with a payment")
    widget(page).get_by_role("button", name="Talk to an agent").click()
    popup = csr.get_by_role("dialog", name=re.compile("Dana"))
    expect(popup).to_be_visible(timeout=TIMEOUT_MS)
    popup.get_by_role("button", name="Accept").click()
    interaction = Interaction.objects.get(customer_name="Dana")
    expect(
        csr.locator(f"#panel-{interaction.pk}").get_by_role("log", name="Conversation")
    ).to_contain_text("joined the chat", timeout=TIMEOUT_MS)
    return interaction


def last_monday() -> str:
    """'Monday' as the assistant reads it: the latest Monday not after today, in App
    Studio's time zone."""
    today = timezone.now().astimezone(ZoneInfo(app_studio_settings_get().time_zone)).date()
    return (today - timedelta(days=today.weekday())).isoformat()


def test_the_assistant_proposes_prefills_asks_for_authentication_and_saves_the_case(
    page: Page,
    csr_page: Page,
    portal_server,
    demo,
    screenshot_dir,
):
    base = portal_server.url
    dialogs: list[str] = []
    for p in (page, csr_page):
        p.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    csr_logs_in_and_is_available(csr_page, base)
    interaction = customer_reaches_a_csr(page, base, csr_page)
    panel = csr_page.locator(f"#panel-{interaction.pk}")

    # The customer writes; the assistant proposes the dispute, with why.
    say(page, SENTENCE)
    panel.get_by_role("tab", name="Case").click()
    suggestion = panel.locator(".case-suggestion").first
    expect(suggestion).to_contain_text("Dispute a card payment", timeout=TIMEOUT_MS)
    expect(suggestion).to_contain_text("'took'")
    expect(suggestion).to_contain_text("needs an authenticated customer")
    shot(csr_page, screenshot_dir, "cases-suggestion.png")

    # The form: amount and date pre-filled from the message, each with its source.
    suggestion.get_by_role("button", name="Open form: Dispute a card payment").click()
    form = panel.locator('[data-field="case-form"]')
    expect(form).to_be_visible()
    amount = form.get_by_role("textbox", name="Amount (required)")
    expect(amount).to_have_value("250.00")
    expect(form.get_by_label("Amount: currency")).to_have_value("GBP")
    expect(amount).to_have_accessible_description(re.compile("“£250”"))
    date = form.get_by_label("Payment date")
    expect(date).to_have_value(last_monday())
    expect(date).to_have_accessible_description(re.compile("“on Monday”"))
    reminder = form.get_by_role("alert").filter(has_text="authenticated customer")
    expect(reminder).to_contain_text("request authentication first")
    shot(csr_page, screenshot_dir, "cases-form-prefilled-needs-auth.png")

    # Saving now is refused (nothing saved): the customer must authenticate first.
    form.get_by_label("Reason").select_option("Not recognised")
    form.get_by_role("button", name="Save case").click()
    expect(form.locator('[data-field="case-form-error"]')).to_contain_text(
        "needs an authenticated customer", timeout=TIMEOUT_MS
    )
    assert not Case.objects.exists()

    # The CSR requests authentication from the form; the customer signs in on the bank site.
    form.get_by_role("button", name="Request authentication").click()
    prompt = widget(page).get_by_role("group", name="Sign-in request")
    expect(prompt).to_contain_text("Please sign in", timeout=TIMEOUT_MS)
    with page.expect_popup() as opened:
        prompt.get_by_role("button", name="Sign in").click()
    login = opened.value
    login.wait_for_load_state()
    login.get_by_label("User name").fill("dana")
    login.get_by_label("Password").fill("dana-demo")
    login.get_by_role("button", name="Sign in").click()
    login.wait_for_event("close", timeout=TIMEOUT_MS)
    expect(panel.locator('[data-field="auth"]')).to_be_visible(timeout=TIMEOUT_MS)
    expect(form.locator('[data-field="case-reminder-box"]')).to_be_hidden(timeout=TIMEOUT_MS)

    # The CSR confirms: the case is saved and both sides see the reference.
    form.get_by_role("button", name="Save case").click()
    saved = panel.locator('[data-field="case-saved"]')
    expect(saved).to_contain_text("Service case DSP-00001 created", timeout=TIMEOUT_MS)
    case = Case.objects.get(reference="DSP-00001")
    assert case.values["amount"] == {"amount": "250.00", "currency": "GBP"}
    assert case.values["payment_date"] == last_monday()
    assert case.values["reason"] == "Not recognised"
    assert case.created_by.username == "csr1"
    expect(widget(page).get_by_role("log", name="Conversation")).to_contain_text(
        "Service case DSP-00001 created: Dispute a card payment", timeout=TIMEOUT_MS
    )
    expect(panel.get_by_role("log", name="Conversation")).to_contain_text(
        "Service case DSP-00001 created: Dispute a card payment"
    )
    expect(panel.locator('[data-field="case-open"]')).to_contain_text(
        "DSP-00001", timeout=TIMEOUT_MS
    )
    shot(csr_page, screenshot_dir, "cases-saved.png")
    shot(page, screenshot_dir, "cases-widget-reference.png")

    # Add task → Payments → Dispute a card payment opens the same form.
    panel.get_by_role("button", name="Add task").click()
    panel.get_by_role("radio", name="Dispute a card payment").check()
    shot(csr_page, screenshot_dir, "cases-add-task-menu.png")
    panel.locator('[data-field="add-task-submit"]').click()
    expect(form).to_be_visible(timeout=TIMEOUT_MS)
    expect(form.get_by_role("textbox", name="Amount (required)")).to_have_value("250.00")
    form.get_by_role("button", name="Cancel").click()
    expect(form).to_be_hidden()

    # The chat ends; the case is in Recent work, on the Cases page and in the transcript.
    panel.get_by_role("button", name="Actions").click()
    panel.get_by_role("menuitem", name="End chat").click()
    csr_page.locator('[data-field="end-confirm"]').first.click()
    expect(panel.locator('[data-field="status"]')).to_contain_text("Ended", timeout=TIMEOUT_MS)
    csr_page.goto(f"{base}/recent/")
    row = csr_page.locator(f'tr[data-interaction="{interaction.pk}"]')
    expect(row.locator('[data-field="cases"]')).to_contain_text("DSP-00001")
    shot(csr_page, screenshot_dir, "cases-recent-work.png")
    row.get_by_role("link", name="DSP-00001").click()
    expect(csr_page.get_by_role("heading", level=1)).to_have_text(
        "DSP-00001: Dispute a card payment"
    )
    csr_page.get_by_label("Status").select_option("resolved")
    csr_page.get_by_label("Note").fill("Refund approved")
    csr_page.get_by_role("button", name="Save").click()
    expect(csr_page.locator('[data-field="case-status"]')).to_have_text("Resolved")
    expect(csr_page.get_by_role("region", name="History")).to_contain_text("Refund approved")
    shot(csr_page, screenshot_dir, "cases-case-page.png")
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED
    transcript = csr_page.request.get(f"{base}/interactions/{interaction.pk}/ChatTranscript.txt")
    assert "Service case DSP-00001 created: Dispute a card payment" in transcript.text()
    assert interaction.messages.filter(event=SystemEvent.CASE_CREATED).count() == 1
    assert dialogs == []


def test_a_csr_opens_and_saves_a_case_with_the_keyboard_only(
    page: Page, portal_server, demo, screenshot_dir
):
    """Side tabs by arrow keys, Open form by Enter (focus goes to the first field), a
    field error read out and fixed, Save by Enter: no mouse."""
    from routing.models import QueueMembership
    from routing.services.presence import csr_status_set
    from tests.e2e.test_portal import customer_says, demo_user, escalate
    from tests.e2e.test_portal_csr_pages import accept_pending

    csr1 = demo_user("csr1")
    QueueMembership.objects.filter(user=csr1).update(joined=True)
    csr_status_set(user=csr1, status="available")
    interaction = escalate(demo, name="Kim Keys", intent="card_dispute")
    Interaction.objects.filter(pk=interaction.pk).update(authenticated=True)
    accept_pending(interaction, csr1)
    customer_says(interaction, "a payment of £40 on my card ending 4921 yesterday is not mine")
    page.goto(f"{portal_server.url}/")
    page.get_by_label("Username").fill("csr1")
    page.get_by_label("Password").fill("csr1-demo")
    page.get_by_label("Password").press("Enter")
    panel = page.locator(f"#panel-{interaction.pk}")
    context_tab = panel.get_by_role("tab", name="Context")
    expect(context_tab).to_be_visible(timeout=TIMEOUT_MS)
    context_tab.focus()
    case_tab = panel.get_by_role("tab", name="Case")
    for _ in range(8):
        if case_tab.evaluate("node => node === document.activeElement"):
            break
        page.keyboard.press("ArrowRight")
    expect(case_tab).to_be_focused()
    expect(case_tab).to_have_attribute("aria-selected", "true")
    open_form = panel.get_by_role("button", name="Open form: Dispute a card payment")
    expect(open_form).to_be_visible(timeout=TIMEOUT_MS)
    for _ in range(12):
        page.keyboard.press("Tab")
        if open_form.evaluate("node => node === document.activeElement"):
            break
    expect(open_form).to_be_focused()
    page.keyboard.press("Enter")
    amount = panel.get_by_role("textbox", name="Amount (required)")
    expect(amount).to_be_focused(timeout=TIMEOUT_MS)
    expect(amount).to_have_value("40.00")
    expect(panel.get_by_label("Card ending")).to_have_value("4921")
    # Save without a reason: the error is on the field, which takes focus.
    save = panel.get_by_role("button", name="Save case")
    save.focus()
    page.keyboard.press("Enter")
    reason = panel.get_by_label("Reason")
    expect(reason).to_be_focused(timeout=TIMEOUT_MS)
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_accessible_description("Reason is required.")
    shot(page, screenshot_dir, "cases-keyboard-field-error.png")
    page.keyboard.press("ArrowDown")  # Not recognised
    expect(reason).to_have_value("Not recognised")
    save.focus()
    page.keyboard.press("Enter")
    expect(panel.locator('[data-field="case-saved"]')).to_contain_text(
        "created: Dispute a card payment", timeout=TIMEOUT_MS
    )
    case = Case.objects.get(interaction=interaction)
    assert case.values["card_ending"] == "4921"
    assert case.values["amount"] == {"amount": "40.00", "currency": "GBP"}
