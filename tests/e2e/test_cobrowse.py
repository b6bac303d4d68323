"""Co-browse in two real browsers against a real ASGI server: the customer on the demo
site (/demo/ and /demo/cards/), the CSR in the portal. Start from Actions and from Add
task, Decline, Allow and the live view (typing, masking, blocking, the pointer, the
customer moving to another page), either side ending it, the chat's end ending it,
and the option disabled with its reason where the rules say so (and a forged start
refused). Every frame the server relayed to the CSR is checked for the masked secrets."""

import json
import re
import tempfile
import time
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from chat.models import AppStudioSettings, Interaction, Message, SystemEvent
from cobrowse.models import CobrowseSession, EndReason
from routing.models import Offer, OfferStatus, QueueMembership
from routing.services.answers import offer_accept
from routing.services.escalations import escalation_create
from routing.services.presence import csr_status_set
from tests.e2e.pages import log_in, shot

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TIMEOUT_MS = 15_000
WIDGET_KEY = "csr-portal-widget:v1"
SECRETS = {
    "card": "4111 1111 1111 1111",
    "cvv": "737",
    "password": "Sup3r-Secret-pw",
}
VISIBLE = "Dana Visible Reyes"
# Screenshots of both sides, to look at (not compared).
SHOTS = Path(tempfile.gettempdir()) / "cobrowse"
SHOTS.mkdir(parents=True, exist_ok=True)


def demo_user(username: str):
    from django.contrib.auth.models import User

    return User.objects.get(username=username)


def chat_for_csr1(demo, *, name: str = "Dana Reyes", channel: str = "web-messaging"):
    """An escalation accepted by csr1 (Alex Morgan); the customer's token."""
    csr1 = demo_user("csr1")
    QueueMembership.objects.filter(user=csr1, queue__slug="billing").update(joined=True)
    csr_status_set(user=csr1, status="available")
    result = escalation_create(
        client=demo.bot_client,
        channel_slug=channel,
        customer={"name": name, "email": "dana@example.com"},
        intent="billing",
        context={"card": "new debit card"},
        transcript=[{"sender": "customer", "text": "My new card will not activate"}],
    )
    offer = Offer.objects.get(interaction=result.interaction, status=OfferStatus.PENDING)
    offer_accept(offer_id=offer.pk, user=csr1)
    return result.interaction, result.customer_token


def customer_in_chat(
    context: BrowserContext, base: str, interaction: Interaction, token: str
) -> Page:
    """The customer's tab on /demo/ with the widget already in the live chat (as after
    the bot escalated: the widget keeps its chat in sessionStorage)."""
    state = {
        "customerId": "e2e-cobrowse-customer",
        "name": "Dana",
        "open": True,
        "mode": "live",
        "interactionId": interaction.pk,
        "token": token,
        "wsUrl": f"{base.replace('http', 'ws', 1)}/ws/customer/{interaction.pk}/?token={token}",
        "lastSeq": 0,
        "status": "active",
        "outbox": [],
    }
    context.add_init_script(
        f"if (!sessionStorage.getItem({json.dumps(WIDGET_KEY)})) "
        f"sessionStorage.setItem({json.dumps(WIDGET_KEY)}, {json.dumps(json.dumps(state))});"
    )
    page = context.new_page()
    page.goto(f"{base}/demo/")
    expect(page.get_by_role("dialog", name="Northwind Bank")).to_contain_text(
        "Alex Morgan", timeout=TIMEOUT_MS
    )
    return page


def csr_panel(page: Page, base: str, interaction: Interaction):
    log_in(page, base, "csr1", "csr1-demo")
    panel = page.locator(f"#panel-{interaction.pk}")
    expect(panel.get_by_role("log", name="Conversation")).to_contain_text(
        "card will not activate", timeout=TIMEOUT_MS
    )
    return panel


def start_from_add_task(panel) -> None:
    panel.get_by_role("button", name="Add task").click()
    menu = panel.get_by_role("group", name="Add task")
    general = menu.get_by_role("group", name="General")
    general.get_by_role("radio", name=re.compile("^Co-Browsing Session")).check()
    menu.get_by_role("button", name="Add task").click()


def start_from_actions(panel) -> None:
    panel.get_by_role("button", name="Actions").click()
    panel.get_by_role("menuitem", name=re.compile("^Start co-browse")).click()


def replay(page: Page):
    """The customer's page as the CSR's viewer rebuilds it."""
    return page.frame_locator('[data-field="cobrowse-frame"]').frame_locator(".cbv__screen iframe")


def viewer(page: Page):
    return page.frame_locator('[data-field="cobrowse-frame"]')


def cobrowse_frames(page: Page, direction: str) -> list[str]:
    """Every frame of this page's co-browse sockets in `direction`: "framereceived"
    (what the server relayed to it) or "framesent" (what it sent)."""
    frames: list[str] = []

    def watch(ws):
        if "/ws/cobrowse/" in ws.url:
            ws.on(direction, lambda payload: frames.append(str(payload)))

    page.on("websocket", watch)
    return frames


def test_decline_from_actions_tells_the_csr(page: Page, browser, portal_server, demo, dialogs):
    base = portal_server.url
    interaction, token = chat_for_csr1(demo)
    customer_context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    try:
        customer = customer_in_chat(customer_context, base, interaction, token)
        panel = csr_panel(page, base, interaction)
        start_from_actions(panel)
        expect(panel.get_by_role("status").filter(has_text="Asked Dana Reyes")).to_be_visible()
        prompt = customer.get_by_role(
            "alertdialog", name="Alex Morgan would like to see this page with you"
        )
        expect(prompt).to_be_visible(timeout=TIMEOUT_MS)
        shot(customer, SHOTS, "customer-consent-prompt.png")
        prompt.get_by_role("button", name="Decline").click()
        expect(panel.get_by_role("log", name="Conversation")).to_contain_text(
            "The customer declined co-browse", timeout=TIMEOUT_MS
        )
        expect(panel.locator('[data-field="cobrowse"]')).to_be_hidden()
        session = CobrowseSession.objects.get(interaction=interaction)
        assert (session.started_via, session.end_reason) == ("actions", EndReason.DECLINED)
        assert session.started_at is None
    finally:
        customer_context.close()
    assert dialogs == []


def test_allow_live_view_masking_pointer_navigation_and_the_customer_ends_it(
    page: Page, browser, portal_server, demo, dialogs
):
    base = portal_server.url
    interaction, token = chat_for_csr1(demo)
    customer_context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    relayed = cobrowse_frames(page, "framereceived")
    try:
        customer = customer_in_chat(customer_context, base, interaction, token)
        sent = cobrowse_frames(customer, "framesent")
        panel = csr_panel(page, base, interaction)
        start_from_add_task(panel)
        prompt = customer.get_by_role("alertdialog", name=re.compile("would like to see this page"))
        expect(prompt).to_be_visible(timeout=TIMEOUT_MS)
        # Nothing is recorded before Allow.
        assert customer.evaluate("typeof window.rrwebRecord") == "undefined"
        prompt.get_by_role("button", name="Allow").click()
        bar = customer.get_by_role("region", name="Co-browse")
        expect(bar).to_contain_text("Sharing this page with Alex Morgan", timeout=TIMEOUT_MS)
        expect(panel.get_by_role("log", name="Conversation")).to_contain_text(
            "Co-browse started", timeout=TIMEOUT_MS
        )

        # The CSR sees the page, and what the customer types into a plain field.
        expect(replay(page).get_by_role("heading", name="How can we help?")).to_be_visible(
            timeout=TIMEOUT_MS
        )
        # ...and the customer's open chat widget as they see it: its panel with the
        # conversation, not just the launcher (its opening animation runs in the replay
        # instead of staying paused at opacity 0).
        widget_panel = replay(page).locator("#cpw-panel")
        expect(widget_panel).to_be_visible(timeout=TIMEOUT_MS)
        expect(widget_panel).to_contain_text("Alex Morgan")
        expect(widget_panel).to_contain_text("card will not activate")
        expect(widget_panel).to_have_css("opacity", "1", timeout=TIMEOUT_MS)
        customer.get_by_label("Your name").fill(VISIBLE)
        expect(replay(page).locator("#contact-name")).to_have_value(VISIBLE, timeout=TIMEOUT_MS)
        shot(page, SHOTS, "csr-viewer-demo-page.png")
        # The conversation stays readable beside the page at 1280 × 800.
        log_box = page.locator('[data-panel] [data-field="log"]').bounding_box()
        assert log_box is not None and log_box["height"] >= 150, log_box

        # The CSR points; the customer sees the pointer, and a highlight on click.
        viewer(page).get_by_role("button", name="Point").click()
        glass = viewer(page).locator('[data-field="glass"]')
        box = glass.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + 200, box["y"] + 150)
        page.mouse.move(box["x"] + 220, box["y"] + 160)
        pointer = customer.locator(".cobrowse-pointer")
        expect(pointer).to_be_visible(timeout=TIMEOUT_MS)
        expect(pointer).to_contain_text("Alex Morgan")
        page.mouse.click(box["x"] + 220, box["y"] + 160)
        expect(customer.locator(".cobrowse-highlight")).to_have_count(1, timeout=TIMEOUT_MS)
        shot(customer, SHOTS, "customer-sees-pointer.png")

        # The customer moves to another page of the site: the chat and the sharing go on.
        customer.get_by_role("navigation", name="Main").get_by_role("link", name="Cards").click()
        expect(customer).to_have_url(re.compile("/demo/cards/$"))
        expect(customer.get_by_role("region", name="Co-browse")).to_be_visible(timeout=TIMEOUT_MS)
        expect(replay(page).get_by_role("heading", name="Your cards")).to_be_visible(
            timeout=TIMEOUT_MS
        )
        expect(viewer(page).locator('[data-field="page"]')).to_have_text("Page: /demo/cards/")
        customer.get_by_label("Name on the card").fill(VISIBLE)
        customer.get_by_label("Card number").fill(SECRETS["card"])
        customer.get_by_label("Security code (CVV)").fill(SECRETS["cvv"])
        customer.get_by_label("Online banking password").fill(SECRETS["password"])
        expect(replay(page).locator("#card-name")).to_have_value(VISIBLE, timeout=TIMEOUT_MS)
        expect(replay(page).locator("#card-password")).to_have_value(
            "*" * len(SECRETS["password"]), timeout=TIMEOUT_MS
        )
        expect(replay(page).locator("#card-number")).to_have_value("*" * len(SECRETS["card"]))
        expect(replay(page).locator("#card-cvv")).to_have_value("*" * len(SECRETS["cvv"]))
        # Marked by the host site: masked text, and a block never recorded.
        expect(replay(page).get_by_text("£2,431.07")).to_have_count(0)
        expect(replay(page).get_by_text("4821-7730")).to_have_count(0)
        shot(page, SHOTS, "csr-viewer-cards-masked.png")
        shot(customer, SHOTS, "customer-cards-page-sharing.png")

        # The customer ends it.
        customer.get_by_role("button", name="End co-browse").click()
        expect(panel.get_by_role("log", name="Conversation")).to_contain_text(
            "Co-browse ended by the customer", timeout=TIMEOUT_MS
        )
        expect(customer.get_by_role("region", name="Co-browse")).to_have_count(0)
        expect(panel.locator('[data-field="cobrowse"]')).to_be_hidden(timeout=TIMEOUT_MS)
        # The chat went on through the navigation.
        widget = customer.get_by_role("dialog", name="Northwind Bank")
        expect(widget).to_contain_text("Co-browse ended by the customer", timeout=TIMEOUT_MS)
    finally:
        customer_context.close()
    everything = "\n".join(relayed + sent)
    assert VISIBLE in everything  # the capture saw the typing...
    for secret in SECRETS.values():  # ...and never a secret
        assert secret not in everything
        assert secret.replace(" ", "") not in everything
    assert "4821-7730" not in everything and "2,431.07" not in everything
    session = CobrowseSession.objects.get(interaction=interaction)
    assert session.started_via == "add_task"
    assert session.duration_seconds is not None
    assert dialogs == []


def test_the_csr_ends_it_and_the_chat_ending_ends_it(
    page: Page, browser, portal_server, demo, dialogs
):
    base = portal_server.url
    interaction, token = chat_for_csr1(demo)
    customer_context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    try:
        customer = customer_in_chat(customer_context, base, interaction, token)
        panel = csr_panel(page, base, interaction)
        log = panel.get_by_role("log", name="Conversation")

        def allow() -> None:
            prompt = customer.get_by_role("alertdialog", name=re.compile("would like to see"))
            prompt.get_by_role("button", name="Allow").click()
            expect(replay(page).get_by_role("heading", name="How can we help?")).to_be_visible(
                timeout=TIMEOUT_MS
            )

        start_from_actions(panel)
        allow()
        viewer(page).get_by_role("button", name="End co-browse").click()
        expect(log).to_contain_text("Co-browse ended by Alex Morgan", timeout=TIMEOUT_MS)
        expect(customer.get_by_role("region", name="Co-browse")).to_have_count(
            0, timeout=TIMEOUT_MS
        )

        start_from_actions(panel)
        allow()
        panel.get_by_role("button", name="Actions").click()
        panel.get_by_role("menuitem", name="End chat").click()
        page.get_by_role("alertdialog", name="End chat?").get_by_role(
            "button", name="End chat"
        ).click()
        expect(log).to_contain_text("Co-browse ended: the chat ended", timeout=TIMEOUT_MS)
        expect(customer.get_by_role("region", name="Co-browse")).to_have_count(
            0, timeout=TIMEOUT_MS
        )
        assert list(
            CobrowseSession.objects.filter(interaction=interaction)
            .order_by("pk")
            .values_list("end_reason", flat=True)
        ) == [EndReason.CSR, EndReason.CHAT_CLOSED]
        assert (
            Message.objects.filter(
                interaction=interaction, event=SystemEvent.COBROWSE_STARTED
            ).count()
            == 2
        )
    finally:
        customer_context.close()
    assert dialogs == []


def test_disabled_with_its_reason_on_facebook_and_with_app_studio_off(
    page: Page, portal_server, demo, dialogs
):
    base = portal_server.url
    facebook, _ = chat_for_csr1(demo, name="Fay Book", channel="facebook")
    log_in(page, base, "csr1", "csr1-demo")
    page.goto(f"{base}/interactions/{facebook.pk}/")
    panel = page.locator(f"#panel-{facebook.pk}")
    panel.get_by_role("button", name="Actions").click()
    item = panel.get_by_role("menuitem", name=re.compile("^Start co-browse"))
    expect(item).to_have_attribute("aria-disabled", "true")
    expect(item).to_contain_text("Co-browse is not available on public channels")
    page.keyboard.press("Escape")
    panel.get_by_role("button", name="Add task").click()
    task = panel.get_by_role("radio", name=re.compile("^Co-Browsing Session"))
    expect(task).to_be_disabled()
    expect(panel.get_by_role("group", name="Add task")).to_contain_text(
        "Co-browse is not available on public channels"
    )
    # A forged start is refused by the server, with the same reason.
    token = page.evaluate("document.querySelector('meta[name=csrf-token]').content")
    reply = page.request.post(
        f"{base}/portal-api/interactions/{facebook.pk}/cobrowse/",
        data={"via": "actions"},
        headers={"X-CSRFToken": token, "Origin": base},
    )
    assert reply.status == 409
    assert reply.json()["message"] == "Co-browse is not available on public channels."

    AppStudioSettings.objects.update_or_create(
        pk=AppStudioSettings.SINGLETON_ID, defaults={"cobrowse_enabled": False}
    )
    from chat.selectors.settings import LOCAL_SECONDS, app_studio_cache_invalidate

    app_studio_cache_invalidate()
    # The server process keeps its own copy for up to LOCAL_SECONDS after the change.
    time.sleep(LOCAL_SECONDS + 0.5)
    web, _ = chat_for_csr1(demo, name="Web Customer")
    page.goto(f"{base}/interactions/{web.pk}/")
    panel = page.locator(f"#panel-{web.pk}")
    panel.get_by_role("button", name="Actions").click()
    item = panel.get_by_role("menuitem", name=re.compile("^Start co-browse"))
    expect(item).to_have_attribute("aria-disabled", "true")
    # The daphne process keeps App Studio settings cached for a while: either reason is
    # the server's, and a forged start must fail.
    reply = page.request.post(
        f"{base}/portal-api/interactions/{web.pk}/cobrowse/",
        data={"via": "add_task"},
        headers={"X-CSRFToken": token, "Origin": base},
    )
    assert reply.status == 409
    assert not CobrowseSession.objects.filter(interaction__in=[facebook, web]).exists()
    assert dialogs == []


def test_keyboard_only_add_task_allow_and_end(page: Page, browser, portal_server, demo, dialogs):
    """The CSR opens Add task, picks Co-Browsing Session and adds it with the keys alone
    (Escape closes the menu and gives focus back); the customer's prompt takes focus on
    Allow, and Enter allows; the CSR points and highlights with the keys; the customer's
    End co-browse works from the keyboard."""
    base = portal_server.url
    interaction, token = chat_for_csr1(demo)
    customer_context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    try:
        customer = customer_in_chat(customer_context, base, interaction, token)
        panel = csr_panel(page, base, interaction)
        add = panel.get_by_role("button", name="Add task")
        add.focus()
        page.keyboard.press("Enter")
        menu = panel.get_by_role("group", name="Add task")
        task = menu.get_by_role("radio", name=re.compile("^Co-Browsing Session"))
        expect(task).to_be_focused()
        page.keyboard.press("Escape")
        expect(menu).to_be_hidden()
        expect(add).to_be_focused()
        page.keyboard.press("Enter")
        expect(task).to_be_focused()
        page.keyboard.press("Space")
        expect(task).to_be_checked()
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        expect(menu.get_by_role("button", name="Add task")).to_be_focused()
        page.keyboard.press("Enter")

        allow = customer.get_by_role(
            "alertdialog", name=re.compile("would like to see")
        ).get_by_role("button", name="Allow")
        expect(allow).to_be_focused(timeout=TIMEOUT_MS)
        customer.keyboard.press("Enter")

        # The CSR points with the keys: Point (Enter) puts focus on the page, the arrow
        # keys move the pointer the customer sees, Enter highlights, Escape stops.
        expect(replay(page).get_by_role("heading", name="How can we help?")).to_be_visible(
            timeout=TIMEOUT_MS
        )
        point = viewer(page).get_by_role("button", name="Point")
        point.focus()
        page.keyboard.press("Enter")
        expect(point).to_have_attribute("aria-pressed", "true")
        area = viewer(page).get_by_role("application", name=re.compile("^Point at"))
        expect(area).to_be_focused()
        page.keyboard.press("ArrowRight")
        pointer = customer.locator(".cobrowse-pointer")
        expect(pointer).to_be_visible(timeout=TIMEOUT_MS)
        expect(pointer).to_contain_text("Alex Morgan")
        first = pointer.bounding_box()
        page.keyboard.press("Shift+ArrowDown")
        page.keyboard.press("Shift+ArrowDown")
        customer.wait_for_function(
            "y => document.querySelector('.cobrowse-pointer').getBoundingClientRect().y > y + 20",
            arg=first["y"] if first else 0,
            timeout=TIMEOUT_MS,
        )
        page.keyboard.press("Enter")
        expect(customer.locator(".cobrowse-highlight")).to_have_count(1, timeout=TIMEOUT_MS)
        shot(page, SHOTS, "csr-viewer-keyboard-pointer.png")
        shot(customer, SHOTS, "customer-sees-keyboard-pointer.png")
        page.keyboard.press("Escape")
        expect(point).to_have_attribute("aria-pressed", "false")
        expect(point).to_be_focused()
        expect(pointer).to_be_hidden(timeout=TIMEOUT_MS)
        end = customer.get_by_role("region", name="Co-browse").get_by_role(
            "button", name="End co-browse"
        )
        expect(end).to_be_visible(timeout=TIMEOUT_MS)
        end.focus()
        customer.keyboard.press("Enter")
        expect(panel.get_by_role("log", name="Conversation")).to_contain_text(
            "Co-browse ended by the customer", timeout=TIMEOUT_MS
        )
    finally:
        customer_context.close()
    assert dialogs == []
