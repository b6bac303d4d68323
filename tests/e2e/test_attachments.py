"""Attachments in a real browser against a real ASGI server, both sides at once: the
customer's widget on the demo site and the CSR's chat panel. The customer sends an image
and a PDF; the CSR sees the thumbnail and the card and opens both; the CSR sends a file
back; a refused type and an over-size file each show their message on the sender's side
and store nothing; a reload mid-upload stores the message once or not at all."""

import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from chat.models import AppStudioSettings, Attachment, Message, SenderKind
from chat.selectors.settings import app_studio_cache_invalidate
from config.users import Role
from tests.chat.conftest import make_live_chat
from tests.e2e.pages import widget
from tests.factories import user_factory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TIMEOUT_MS = 15_000
PASSWORD = "attach-pass-123"
SHOTS = Path("/tmp/attachments")  # noqa: S108 -- screenshots for the report


def _pdf() -> bytes:
    """A real one-page PDF (Pillow writes it), so the browser's viewer shows it."""
    out = io.BytesIO()
    Image.new("RGB", (300, 150), (30, 90, 200)).save(out, format="PDF")
    return out.getvalue()


PDF = _pdf()
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


def png(color=(220, 60, 40), size=(240, 160)) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, color)
    for x in range(0, size[0], 20):
        for y in range(size[1]):
            image.putpixel((x, y), (255, 255, 255))
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def chat(transactional_db, portal_server):
    app_studio_cache_invalidate()
    csr = user_factory(role=Role.CSR, password=PASSWORD, first_name="Sam", last_name="Lee")
    return make_live_chat(csr=csr, context={"order": "A-1009"})


def customer_page(browser: Browser, base: str, chat, **context_args) -> Page:
    """The demo site with the widget already in the live chat (its session as the
    escalation leaves it)."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="en-GB", **context_args
    )
    page = context.new_page()
    host = base.split("://", 1)[1]
    session = {
        "customerId": "e2e-customer-0001",
        "mode": "live",
        "open": True,
        "outbox": [],
        "interactionId": chat.id,
        "token": chat.token,
        "wsUrl": f"ws://{host}/ws/customer/{chat.id}/?token={chat.token}",
        "status": "active",
        "lastSeq": 0,
    }
    page.add_init_script(
        "if (!sessionStorage.getItem('csr-portal-widget:v1')) "
        f"sessionStorage.setItem('csr-portal-widget:v1', {json.dumps(json.dumps(session))});"
    )
    page.goto(f"{base}/demo/")
    expect(widget(page)).to_be_visible(timeout=TIMEOUT_MS)
    expect(widget(page).get_by_role("button", name="Attach files")).to_have_attribute(
        "aria-disabled", "false", timeout=TIMEOUT_MS
    )
    return page


def csr_page(page: Page, base: str, chat) -> Page:
    page.goto(f"{base}/accounts/login/?next=/interactions/{chat.id}/")
    page.get_by_label("Username").fill(chat.csr.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}/interactions/{chat.id}/")
    expect(page.locator("[data-panel]")).to_have_attribute(
        "data-connection", "open", timeout=TIMEOUT_MS
    )
    return page


def attach(scope, files: list[dict]) -> None:
    scope.locator('input[type="file"]').set_input_files(files)


def test_files_both_ways_with_thumbnails_cards_and_the_lightbox(
    page: Page, browser: Browser, portal_server, chat
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = portal_server.url
    csr = csr_page(page, base, chat)
    customer = customer_page(browser, base, chat)
    w = widget(customer)

    # The customer attaches an image and a PDF: the tray previews them, then sends.
    attach(
        w,
        [
            {"name": "broken-card.png", "mimeType": "image/png", "buffer": png()},
            {"name": "statement.pdf", "mimeType": "application/pdf", "buffer": PDF},
        ],
    )
    tray = w.get_by_role("list", name="Files to send")
    expect(tray.get_by_text("Ready to send")).to_have_count(2, timeout=TIMEOUT_MS)
    expect(tray.locator("img")).to_have_count(1)  # the image's preview
    customer.screenshot(path=str(SHOTS / "widget-tray.png"))
    box = w.get_by_role("textbox", name="Message")
    box.fill("Here is the card and my statement")
    box.press("Enter")
    customer_log = w.get_by_role("log", name="Conversation")
    expect(
        customer_log.get_by_role("button", name=re.compile(r"Open image broken-card\.png"))
    ).to_be_visible(timeout=TIMEOUT_MS)
    expect(customer_log.get_by_text(re.compile(r"^(Sent|Read)$"))).to_be_visible(timeout=TIMEOUT_MS)
    expect(tray).to_be_hidden()

    # The CSR sees the thumbnail and the card, and opens both.
    log = csr.get_by_role("log", name="Conversation")
    thumb = log.get_by_role("button", name=re.compile(r"Open image broken-card\.png"))
    expect(thumb).to_be_visible(timeout=TIMEOUT_MS)
    expect(thumb.locator("img")).to_have_js_property("complete", True)
    assert thumb.locator("img").evaluate("img => img.naturalWidth") == 240
    card = log.get_by_role("link", name=re.compile(r"^Download statement\.pdf PDF document"))
    expect(card).to_contain_text("PDF document ·")
    csr.screenshot(path=str(SHOTS / "panel-files.png"))
    thumb.click()
    lightbox = csr.get_by_role("dialog", name="broken-card.png")
    expect(lightbox).to_be_visible()
    big = lightbox.get_by_role("img", name="broken-card.png")
    expect(big).to_have_js_property("complete", True)
    assert big.evaluate("img => img.naturalWidth") == 240
    csr.screenshot(path=str(SHOTS / "panel-lightbox.png"))
    csr.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()
    expect(thumb).to_be_focused()
    with csr.expect_download() as download:
        card.click()
    assert Path(download.value.path()).read_bytes() == PDF
    assert download.value.suggested_filename == "statement.pdf"
    # The PDF's preview: a tab of its own, sandboxed.
    opener = log.get_by_role("link", name="Open statement.pdf in a new tab")
    preview = csr.request.get(f"{base}{opener.get_attribute('href')}")
    assert preview.headers["content-type"] == "application/pdf"
    assert preview.headers["content-security-policy"].startswith("sandbox")
    assert preview.headers["content-disposition"].startswith("inline")
    with csr.expect_popup() as popup:
        opener.click()
    popup.value.wait_for_timeout(1500)
    popup.value.screenshot(path=str(SHOTS / "panel-pdf-preview.png"))
    popup.value.close()

    # The CSR sends a file back; the customer sees its card and downloads it.
    panel = csr.locator("[data-panel]")
    attach(panel, [{"name": "refund-form.txt", "mimeType": "text/plain", "buffer": b"Fill me in"}])
    expect(panel.get_by_text("Ready to send", exact=True)).to_be_visible(timeout=TIMEOUT_MS)
    panel.get_by_role("textbox", name="Message").press("Enter")
    back = customer_log.get_by_role("link", name=re.compile(r"^Download refund-form\.txt"))
    expect(back).to_be_visible(timeout=TIMEOUT_MS)
    customer.screenshot(path=str(SHOTS / "widget-files.png"))
    with customer.expect_download() as download:
        back.click()
    assert Path(download.value.path()).read_bytes() == b"Fill me in"
    stored = Message.objects.filter(interaction_id=chat.id, sender_kind=SenderKind.CSR).get()
    assert [f["name"] for f in stored.data["attachments"]] == ["refund-form.txt"]
    customer.context.close()


def test_refused_type_and_over_size_show_their_message_and_store_nothing(
    page: Page, browser: Browser, portal_server, chat
):
    AppStudioSettings.objects.update_or_create(pk=1, defaults={"max_attachment_bytes": 4096})
    app_studio_cache_invalidate()
    base = portal_server.url
    customer = customer_page(browser, base, chat)
    w = widget(customer)
    attach(w, [{"name": "report.exe", "mimeType": "image/png", "buffer": EXE}])
    expect(
        w.get_by_role("alert").filter(has_text="report.exe: this file type is not accepted.")
    ).to_be_visible(timeout=TIMEOUT_MS)
    attach(w, [{"name": "big.txt", "mimeType": "text/plain", "buffer": b"x" * 9000}])
    expect(
        w.get_by_role("alert").filter(
            has_text=re.compile(r"big\.txt: this file is too large .*at most 4\.0 KB")
        )
    ).to_be_visible()
    customer.screenshot(path=str(SHOTS / "widget-refusals.png"))
    # Nothing to send: Enter with an empty box sends nothing.
    w.get_by_role("textbox", name="Message").press("Enter")
    # The CSR's panel refuses the same way.
    csr = csr_page(page, base, chat)
    panel = csr.locator("[data-panel]")
    attach(panel, [{"name": "tool.exe", "mimeType": "application/octet-stream", "buffer": EXE}])
    expect(
        panel.get_by_role("alert").filter(has_text="tool.exe: this file type is not accepted.")
    ).to_be_visible(timeout=TIMEOUT_MS)
    csr.screenshot(path=str(SHOTS / "panel-refusal.png"))
    assert not Attachment.objects.exists()
    assert not Message.objects.filter(interaction_id=chat.id).exclude(sender_kind="system").exists()
    customer.context.close()


def test_reload_mid_upload_stores_the_message_once_or_not_at_all(
    page: Page, browser: Browser, portal_server, chat
):
    base = portal_server.url
    customer = customer_page(browser, base, chat)
    w = widget(customer)
    # An upload that never finishes: the reload cuts it off; nothing is stored.
    customer.route("**/attachments/chats/**", lambda route: None)
    attach(w, [{"name": "slow.png", "mimeType": "image/png", "buffer": png()}])
    expect(w.get_by_text("Uploading…", exact=True)).to_be_visible()
    w.get_by_role("textbox", name="Message").fill("with a file")
    w.get_by_role("textbox", name="Message").press("Enter")  # refused while uploading
    # Said in the composer's live region (aria-live; the widget's one status is its line).
    expect(w.locator(".att-said")).to_have_text(
        "Wait until the files have uploaded, or cancel them."
    )
    customer.reload()
    customer.unroute("**/attachments/chats/**")
    expect(widget(customer).get_by_role("button", name="Attach files")).to_have_attribute(
        "aria-disabled", "false", timeout=TIMEOUT_MS
    )
    assert not Attachment.objects.exists()
    assert not Message.objects.filter(interaction_id=chat.id, sender_kind="customer").exists()

    # An upload done and the message sent, then a reload before anything else: stored once.
    w = widget(customer)
    attach(w, [{"name": "once.png", "mimeType": "image/png", "buffer": png((10, 90, 200))}])
    expect(w.get_by_text("Ready to send", exact=True)).to_be_visible(timeout=TIMEOUT_MS)
    w.get_by_role("textbox", name="Message").fill("just once")
    w.get_by_role("textbox", name="Message").press("Enter")
    customer.reload()
    log = widget(customer).get_by_role("log", name="Conversation")
    expect(log.get_by_role("button", name=re.compile(r"Open image once\.png"))).to_have_count(
        1, timeout=TIMEOUT_MS
    )
    customer.wait_for_timeout(1000)  # any resend after the reload has arrived by now
    sent = Message.objects.filter(interaction_id=chat.id, sender_kind="customer")
    assert sent.count() == 1
    assert [f["name"] for f in sent.get().data["attachments"]] == ["once.png"]
    assert Attachment.objects.count() == 1
    customer.context.close()


def test_attach_and_cancel_by_keyboard_and_the_switch_off_reason(
    page: Page, browser: Browser, portal_server, chat
):
    """The keyboard alone: the attach button opens the file chooser, the tray shows the
    upload's progress, its Cancel button stops it (said to screen readers) and nothing
    is stored. With attachments off on the channel, the button says why."""
    base = portal_server.url
    customer = customer_page(browser, base, chat)
    w = widget(customer)
    customer.route("**/attachments/chats/**", lambda route: None)  # an upload that hangs
    attach_button = w.get_by_role("button", name="Attach files")
    customer.bring_to_front()
    attach_button.focus()
    expect(attach_button).to_be_focused()
    with customer.expect_file_chooser() as chooser:
        attach_button.press("Enter")
    chooser.value.set_files(
        [{"name": "big-scan.png", "mimeType": "image/png", "buffer": png(size=(400, 300))}]
    )
    tray = w.get_by_role("list", name="Files to send")
    expect(tray.get_by_role("progressbar", name="Uploading big-scan.png")).to_be_visible()
    cancel = tray.get_by_role("button", name="Cancel upload of big-scan.png")
    cancel.focus()
    customer.keyboard.press("Enter")
    expect(tray).to_be_hidden()
    expect(w.locator(".att-said")).to_have_text("Upload of big-scan.png cancelled.")
    expect(w.get_by_role("textbox", name="Message")).to_be_focused()
    customer.unroute("**/attachments/chats/**")
    assert not Attachment.objects.exists()

    chat.interaction.channel.attachments_allowed = False
    chat.interaction.channel.save()
    customer.reload()
    attach_button = widget(customer).get_by_role("button", name="Attach files")
    expect(attach_button).to_have_attribute("aria-disabled", "true", timeout=TIMEOUT_MS)
    expect(attach_button).to_have_attribute("title", "Files cannot be sent on this channel.")
    attach_button.focus()
    customer.keyboard.press("Enter")
    expect(widget(customer).locator(".att-said")).to_have_text(
        "Files cannot be sent on this channel."
    )
    customer.context.close()
