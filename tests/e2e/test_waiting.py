"""A chat every CSR passes on, in a real browser: it is offered to them again after the
queue's cool-down, the customer keeps seeing their place in line, and past the queue's
maximum wait the customer leaves a message that a CSR manager then sees.

The e2e server runs Celery tasks eagerly (at once, countdowns ignored), so the test runs
each timer's task itself when it is due: routing.tasks.reoffer_due after the cool-down
and routing.tasks.long_waits_check past the maximum wait."""

import re
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from chat.demo_bot import GREETING, NOT_SURE
from chat.models import Interaction, InteractionStatus
from routing import tasks
from routing.models import LongWait, LongWaitChoice, Offer, OfferStatus, Queue, QueueMembership
from routing.services.answers import offer_decline
from routing.services.presence import csr_status_set
from tests.e2e.pages import log_in, say, shot, widget

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TIMEOUT_MS = 15_000
COOL_DOWN_SECONDS = 4
FOLLOW_UP = "Please call me back about the double charge <b>tomorrow</b>."


def _pending_offer(interaction: Interaction, page: Page) -> Offer:
    pending = Offer.objects.filter(interaction=interaction, status=OfferStatus.PENDING)
    for _ in range(100):
        offer = pending.select_related("csr").first()
        if offer is not None:
            return offer
        page.wait_for_timeout(100)
    raise AssertionError("the chat was not offered")


def _every_csr_passes(interaction: Interaction, csr_page: Page, csr1: User) -> None:
    """Each of the two CSRs is offered the chat once and declines it: csr1 in the browser,
    csr2 through the service."""
    for _ in range(2):
        offer = _pending_offer(interaction, csr_page)
        if offer.csr_id == csr1.pk:
            popup = csr_page.locator("#offer")
            expect(popup).to_contain_text("Sam Waits", timeout=TIMEOUT_MS)
            popup.get_by_role("button", name="Decline").click()
            expect(popup).to_be_hidden(timeout=TIMEOUT_MS)
        else:
            offer_decline(offer_id=offer.pk, user=offer.csr)
    csr_page.wait_for_timeout(300)
    assert not Offer.objects.filter(interaction=interaction, status=OfferStatus.PENDING).exists()


def test_a_chat_every_csr_passed_on_is_offered_again_then_the_customer_leaves_a_message(
    page: Page, browser, portal_server, demo, dialogs, screenshot_dir
):
    billing = Queue.objects.get(slug="billing")
    Queue.objects.filter(pk=billing.pk).update(
        reoffer_cooldown_seconds=COOL_DOWN_SECONDS, max_wait_seconds=600
    )
    csr1, csr2 = (User.objects.get(username=name) for name in ("csr1", "csr2"))
    for user in (csr1, csr2):  # csr1 first: longest idle, offered first in each round
        QueueMembership.objects.filter(user=user, queue=billing).update(joined=True)
        csr_status_set(user=user, status="available")

    contexts = [
        browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
        for _ in range(2)
    ]
    csr_page, manager_page = (context.new_page() for context in contexts)
    try:
        log_in(csr_page, portal_server.url, "csr1", "csr1-demo")
        expect(csr_page.locator("#status-dot")).to_have_attribute(
            "data-status", "available", timeout=TIMEOUT_MS
        )

        # The customer talks to the bot and asks for an agent.
        page.goto(f"{portal_server.url}/demo/")
        page.get_by_role("button", name="Chat with us").click()
        chat = widget(page)
        expect(chat.get_by_role("log", name="Conversation")).to_contain_text(
            GREETING, timeout=TIMEOUT_MS
        )
        say(page, "I'm Sam Waits")
        say(page, "I was charged twice for one order")
        expect(chat.get_by_role("log", name="Conversation")).to_contain_text(
            NOT_SURE, timeout=TIMEOUT_MS
        )
        chat.get_by_role("button", name="Talk to an agent").click()
        status = chat.get_by_role("status").first
        expect(status).to_have_text(
            re.compile(r"^You are number 1 in the queue"), timeout=TIMEOUT_MS
        )
        interaction = Interaction.objects.get(customer_name="Sam Waits")

        # Both CSRs pass: the chat waits out the cool-down, the customer still in line.
        _every_csr_passes(interaction, csr_page, csr1)
        expect(status).to_have_text(re.compile(r"^You are number 1 in the queue · "))
        shot(page, screenshot_dir, "waiting-every-csr-passed.png")
        first_pass = Offer.objects.filter(interaction=interaction).count()

        # The cool-down ends: its timer routes the queue, and csr1 is offered it again.
        time.sleep(COOL_DOWN_SECONDS)
        tasks.reoffer_due(billing.pk)
        popup = csr_page.locator("#offer")
        expect(popup).to_contain_text("Sam Waits", timeout=TIMEOUT_MS)
        shot(csr_page, screenshot_dir, "waiting-offered-again-after-cool-down.png")
        assert Offer.objects.filter(interaction=interaction).count() == first_pass + 1

        # They both pass again; the customer has now waited past the queue's maximum.
        popup.get_by_role("button", name="Decline").click()
        expect(popup).to_be_hidden(timeout=TIMEOUT_MS)
        offer_decline(offer_id=_pending_offer(interaction, csr_page).pk, user=csr2)
        Queue.objects.filter(pk=billing.pk).update(max_wait_seconds=60)
        Interaction.objects.filter(pk=interaction.pk).update(
            queued_at=timezone.now() - timedelta(seconds=61)
        )
        tasks.long_waits_check(billing.pk)

        choice = chat.get_by_role("group", name="You have waited a while")
        expect(choice).to_contain_text("You have waited 1 minute", timeout=TIMEOUT_MS)
        expect(choice.get_by_role("button")).to_have_text(
            ["Keep waiting", "Leave a message", "End chat"]
        )
        shot(page, screenshot_dir, "waiting-choice-after-the-maximum-wait.png")

        # A CSR manager sees the chat flagged.
        log_in(manager_page, portal_server.url, "manager", "manager-demo")
        row = manager_page.locator("tr", has_text="Sam Waits")
        expect(row).to_contain_text("Waited past max · Not answered", timeout=TIMEOUT_MS)
        shot(manager_page, screenshot_dir, "waiting-flagged-for-the-manager.png")

        # The customer leaves a message for follow-up; the chat ends with a thank-you.
        choice.get_by_role("button", name="Leave a message").click()
        choice.get_by_role("textbox", name="Your message for follow-up").fill(FOLLOW_UP)
        choice.get_by_role("button", name="Send message").click()
        expect(status).to_have_text(
            "Thank you: your message was left for follow-up. We'll get back to you.",
            timeout=TIMEOUT_MS,
        )
        expect(choice).to_be_hidden()
        shot(page, screenshot_dir, "waiting-message-left-for-follow-up.png")
        wait = LongWait.objects.get(interaction=interaction)
        assert (wait.choice, wait.follow_up_text) == (LongWaitChoice.LEAVE_MESSAGE, FOLLOW_UP)
        interaction.refresh_from_db()
        assert interaction.status == InteractionStatus.ABANDONED

        # The manager sees the message, as text.
        manager_page.reload()
        follow_ups = manager_page.get_by_role("region", name="Messages left for follow-up")
        expect(follow_ups.locator("tr", has_text="Sam Waits")).to_contain_text(FOLLOW_UP)
        assert follow_ups.locator("b").count() == 0
        follow_ups.scroll_into_view_if_needed()
        shot(manager_page, screenshot_dir, "waiting-follow-up-seen-by-the-manager.png")
    finally:
        for context in contexts:
            context.close()
    assert dialogs == []
