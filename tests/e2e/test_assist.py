"""The CSR's helpers in a real browser against a real ASGI server: `/` completion and
personal phrases; a suggestion after the customer writes about a lost card, shared as a
card the widget shows; a Knowledge search and Share; a page push refused outside the
allow-list, then opened on the customer's side where the chat carries on."""

import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from assist.models import Phrase, PhraseUse
from chat.models import Interaction, Message, SenderKind, SystemEvent
from routing.models import Offer, OfferStatus, QueueMembership
from routing.services.answers import offer_accept
from routing.services.presence import csr_status_set
from tests.e2e.pages import customer_escalates, log_in, say, shot, widget
from tests.e2e.test_portal import TIMEOUT_MS, demo_user, escalate

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Screenshots of the assist features, looked at by whoever changes them.
SHOTS = Path(tempfile.gettempdir()) / "assist" / "shots"


def csr_takes(interaction: Interaction) -> None:
    """csr1 (Alex Morgan) goes Available in the chat's queue and accepts it."""
    csr1 = demo_user("csr1")
    QueueMembership.objects.filter(user=csr1).update(joined=True)
    csr_status_set(user=csr1, status="available")
    offer = Offer.objects.get(interaction=interaction, status=OfferStatus.PENDING)
    offer_accept(offer_id=offer.pk, user=csr1)


def customer_reaches_a_csr(page: Page, base: str, name: str = "Dana") -> Interaction:
    """The customer talks to the demo bot, asks for an agent, and csr1 takes the chat."""
    customer_escalates(page, base, name, says="I need help with my card")
    interaction = Interaction.objects.get(customer__name=name)
    csr_takes(interaction)
    expect(widget(page).get_by_role("log", name="Conversation")).to_contain_text(
        "Alex Morgan joined the chat", timeout=TIMEOUT_MS
    )
    return interaction


def open_window(page: Page, base: str, interaction: Interaction) -> None:
    page.goto(f"{base}/interactions/{interaction.pk}/")
    expect(page.locator("[data-panel]")).to_have_attribute(
        "data-connection", "open", timeout=TIMEOUT_MS
    )


def test_slash_completion_fills_a_phrase_and_a_personal_phrase_is_created_and_used(
    page: Page, portal_server, demo, dialogs
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = portal_server.url
    interaction = escalate(demo, name="Dana Reyes")
    csr_takes(interaction)
    log_in(page, base, "csr1", "csr1-demo")
    open_window(page, base, interaction)
    box = page.get_by_role("textbox", name="Message")

    box.press_sequentially("/gre")
    options = page.get_by_role("listbox", name="Phrases")
    expect(options).to_be_visible()
    expect(options.get_by_role("option").first).to_contain_text("/greet")
    expect(options.get_by_role("option").first).to_have_attribute("aria-selected", "true")
    shot(page, SHOTS, "assist-slash-completion.png")
    box.press("Enter")
    expect(options).to_be_hidden()
    expect(box).to_have_value(
        "Hi Dana, I'm Alex Morgan from Northwind Bank. How can I help you today?"
    )
    # Inserting never sends: the CSR edits, then sends.
    assert not Message.objects.filter(interaction=interaction, sender_kind=SenderKind.CSR).exists()
    box.fill("")

    # A personal phrase, made on My phrases, is offered in the chat with its placeholder filled.
    page.goto(f"{base}/assist/phrases/")
    page.get_by_label("Title").fill("Branch visit")
    page.get_by_label("Shortcut").fill("branch")
    page.get_by_label("Text").fill(
        "{customer_first_name}, you can also visit any branch with photo ID."
    )
    page.get_by_role("button", name="Add phrase").click()
    expect(page.get_by_role("status")).to_have_text("Phrase saved.")
    expect(page.get_by_role("table")).to_contain_text("/branch")
    shot(page, SHOTS, "assist-my-phrases.png")

    open_window(page, base, interaction)
    box = page.get_by_role("textbox", name="Message")
    box.press_sequentially("Also: /bra")
    expect(page.get_by_role("listbox", name="Phrases").get_by_role("option").first).to_contain_text(
        "/branch"
    )
    box.press("Enter")
    expect(box).to_have_value("Also: Dana, you can also visit any branch with photo ID.")
    box.press("Enter")
    log = page.get_by_role("log", name="Conversation")
    expect(log.locator(".msg--csr").last).to_contain_text("visit any branch", timeout=TIMEOUT_MS)
    phrase = Phrase.objects.get(shortcut="branch", owner__username="csr1")
    # The count is posted as the phrase is inserted, without holding the CSR up.
    uses = PhraseUse.objects.filter(phrase=phrase, count=1)
    for _ in range(50):
        if uses.exists():
            break
        page.wait_for_timeout(100)
    assert uses.exists()

    # The Assist tab's picker: search as you type, Insert fills the box.
    page.get_by_role("tab", name="Assist").click()
    page.get_by_role("searchbox", name="Search phrases").fill("goodbye")
    page.get_by_role("button", name="Insert Goodbye").click()
    expect(box).to_have_value("Thank you for chatting with Northwind Bank, Dana. Have a great day!")
    assert dialogs == []


def test_suggestion_knowledge_share_and_page_push_reach_the_customer(
    page: Page, csr_page: Page, portal_server, demo, dialogs
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = portal_server.url
    # The customer talks to the bot on the demo site and asks for an agent.
    interaction = customer_reaches_a_csr(page, base)
    chat_log = widget(page).get_by_role("log", name="Conversation")

    log_in(csr_page, base, "csr1", "csr1-demo")
    open_window(csr_page, base, interaction)
    panel = csr_page.locator("[data-panel]")
    panel.get_by_role("tab", name="Assist").click()

    # A suggestion follows the customer's message, pushed over the CSR's socket.
    say(page, "Someone stole my card at the station")
    suggestions = panel.locator('[data-field="suggestions"]')
    first = suggestions.locator("li").first
    expect(first).to_contain_text("Report a lost or stolen card", timeout=TIMEOUT_MS)
    expect(first).to_contain_text(re.compile(r"Matched: .*card"))
    shot(csr_page, SHOTS, "assist-suggestions.png")
    first.get_by_role("button", name="Share Report a lost or stolen card").click()
    card = widget(page).locator('[data-card="article"]').last
    expect(card).to_contain_text("Report a lost or stolen card", timeout=TIMEOUT_MS)
    expect(card.get_by_role("link", name="Read the article")).to_have_attribute(
        "href", f"{base}/help/articles/lost-or-stolen-card/"
    )
    shot(page, SHOTS, "assist-widget-article-card.png")

    # Knowledge: search, read in place, Share.
    panel.get_by_role("tab", name="Knowledge").click()
    panel.get_by_role("searchbox", name="Search articles").fill("abroad travel")
    results = panel.locator('[data-field="kb-results"] li')
    expect(results.first).to_contain_text("Using your card abroad", timeout=TIMEOUT_MS)
    panel.get_by_role("button", name="Using your card abroad").click()
    article = panel.locator('[data-field="kb-article"]')
    expect(article).to_contain_text("2.75% foreign transaction fee")
    shot(csr_page, SHOTS, "assist-knowledge-article.png")
    article.get_by_role("button", name="Share").click()
    expect(widget(page).locator('[data-card="article"]').last).to_contain_text(
        "Using your card abroad", timeout=TIMEOUT_MS
    )
    stored = Message.objects.filter(interaction=interaction, event=SystemEvent.ARTICLE_SHARED)
    assert [m.data["title"] for m in stored.order_by("seq")] == [
        "Report a lost or stolen card",
        "Using your card abroad",
    ]

    # Page push: refused outside the allow-list, with the reason.
    panel.get_by_label("Web page address").fill("https://evil.example/login")
    panel.get_by_role("button", name="Push page", exact=True).last.click()
    error = panel.locator('[data-field="push-error"]')
    expect(error).to_contain_text("Pages can only be pushed from this channel's allowed domains")
    shot(csr_page, SHOTS, "assist-push-refused.png")
    assert not Message.objects.filter(
        interaction=interaction, event=SystemEvent.PAGE_PUSHED
    ).exists()

    panel.get_by_label("Web page address").fill(f"{base}/demo/?from=push#cards")
    panel.get_by_label("Note for the customer").fill("Here is how to block your card")
    panel.get_by_role("button", name="Push page", exact=True).last.click()
    expect(error).to_be_hidden()
    pushed = widget(page).locator('[data-card="page"]').last
    expect(pushed).to_contain_text("Alex Morgan sent you a page", timeout=TIMEOUT_MS)
    expect(pushed).to_contain_text("Here is how to block your card")
    shot(page, SHOTS, "assist-widget-page-push.png")
    pushed.get_by_role("button", name="Open").click()
    expect(page).to_have_url(re.compile(r"/demo/\?from=push#cards$"), timeout=TIMEOUT_MS)

    # The chat survives the navigation: it carries on both ways.
    launcher = page.get_by_role("button", name="Chat with us")
    expect(launcher).to_be_visible(timeout=TIMEOUT_MS)
    shot(page, SHOTS, "assist-after-navigation.png")
    if launcher.get_attribute("aria-expanded") != "true":
        launcher.click()
    chat_log = widget(page).get_by_role("log", name="Conversation")
    expect(chat_log).to_contain_text("Alex Morgan sent you a page", timeout=TIMEOUT_MS)
    box = csr_page.get_by_role("textbox", name="Message")
    box.fill("Did that page help?")
    box.press("Enter")
    expect(chat_log).to_contain_text("Did that page help?", timeout=TIMEOUT_MS)
    say(page, "Yes, card blocked, thanks")
    expect(csr_page.get_by_role("log", name="Conversation")).to_contain_text(
        "Yes, card blocked", timeout=TIMEOUT_MS
    )
    shot(page, SHOTS, "assist-widget-after-push.png")
    assert dialogs == []


def test_the_side_tabs_and_the_helpers_work_from_the_keyboard(
    page: Page, portal_server, demo, dialogs
):
    """Arrow keys, Home and End move between the side tabs (selection follows focus, one
    tab in the Tab order); the phrase list is reached and used with the keyboard; Escape
    closes the /shortcut list without inserting anything."""
    base = portal_server.url
    interaction = escalate(demo, name="Dana Reyes")
    csr_takes(interaction)
    log_in(page, base, "csr1", "csr1-demo")
    open_window(page, base, interaction)
    panel = page.locator("[data-panel]")
    context = panel.get_by_role("tab", name="Context")
    context.focus()
    expect(context).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowRight")
    assist = panel.get_by_role("tab", name="Assist")
    expect(assist).to_be_focused()
    expect(assist).to_have_attribute("aria-selected", "true")
    expect(assist).to_have_attribute("tabindex", "0")
    expect(context).to_have_attribute("tabindex", "-1")
    expect(panel.get_by_role("tabpanel", name="Assist")).to_be_visible()
    page.keyboard.press("End")
    expect(panel.get_by_role("tab").last).to_be_focused()
    page.keyboard.press("Home")
    expect(context).to_be_focused()
    expect(panel.get_by_role("tabpanel", name="Context")).to_be_visible()
    page.keyboard.press("ArrowRight")

    # Tab into the Assist panel, search a phrase, insert it with Enter on its button.
    search = panel.get_by_role("searchbox", name="Search phrases")
    search.focus()
    page.keyboard.type("anything else")
    page.keyboard.press("Tab")
    expect(panel.get_by_role("button", name="Insert Anything else?")).to_be_focused()
    page.keyboard.press("Enter")
    box = panel.get_by_role("textbox", name="Message")
    expect(box).to_be_focused()
    expect(box).to_have_value("Is there anything else I can help you with today, Dana?")

    box.fill("")
    box.press_sequentially("/good")
    listbox = page.get_by_role("listbox", name="Phrases")
    expect(listbox).to_be_visible()
    box.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_value("/good")
    box.press_sequentially("b")
    box.press("ArrowDown")
    box.press("Tab")
    expect(box).to_have_value("Thank you for chatting with Northwind Bank, Dana. Have a great day!")
    assert dialogs == []
