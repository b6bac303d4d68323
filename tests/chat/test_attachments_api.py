"""Attachments on public channels: the connector uploads a customer's file and relays
the message with it, reads it back with URLs signed for itself, and gets a CSR's file in
a real webhook delivery as a signed download URL; transcripts name and link the files."""

import io
import json
from urllib.parse import urlsplit

import pytest
from django.test import Client
from PIL import Image
from rest_framework.test import APIClient

from chat.models import Attachment, Message, SenderKind, WebhookDelivery
from chat.selectors.settings import app_studio_cache_invalidate
from chat.services.messages import message_send
from config.users import Role
from tests.chat.conftest import customer_token_add, make_bot
from tests.chat.test_attachments import EXE, PDF, csr_client, csr_upload, png_bytes
from tests.chat.test_webhooks import endpoint  # noqa: F401 -- the fixture
from tests.factories import channel_factory, interaction_factory, user_factory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_eager")]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    app_studio_cache_invalidate()


def _upload(api: APIClient, interaction_id: int, name: str, content: bytes, key: str = ""):
    file = io.BytesIO(content)
    file.name = name
    return api.post(
        f"/api/v1/escalations/{interaction_id}/attachments/",
        {"file": file, "upload_key": key},
        format="multipart",
    )


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _chat(bot, **overrides):
    csr = user_factory(role=Role.CSR)
    interaction = interaction_factory(
        channel=bot.channel, bot_client=bot.client, status="active", assigned_csr=csr, **overrides
    )
    customer_token_add(interaction)
    return interaction, csr


def test_connector_uploads_a_file_and_relays_the_message_with_it():
    bot = make_bot(channel=channel_factory(kind="whatsapp"))
    interaction, _ = _chat(bot)
    uploaded = _upload(bot.api, interaction.pk, "receipt.pdf", PDF, "wamid.media-1")
    assert uploaded.status_code == 201, uploaded.content
    attachment = uploaded.json()["attachment"]
    assert attachment["content_type"] == "application/pdf"
    assert attachment["url"].startswith("http://testserver/attachments/s/")
    again = _upload(bot.api, interaction.pk, "receipt.pdf", PDF, "wamid.media-1")
    assert again.status_code == 200 and again.json()["duplicate"] is True

    sent = bot.api.post(
        f"/api/v1/escalations/{interaction.pk}/messages/",
        {"client_msg_id": "wamid.1", "text": "", "attachment_ids": [attachment["id"]]},
        format="json",
    )
    assert sent.status_code == 201, sent.content
    assert sent.json()["text"] == ""
    assert sent.json()["attachments"][0]["name"] == "receipt.pdf"
    page = bot.api.get(f"/api/v1/escalations/{interaction.pk}/messages/").json()
    files = [f for m in page["messages"] for f in m["attachments"]]
    assert [f["name"] for f in files] == ["receipt.pdf"]
    download = Client().get(_path(files[0]["url"]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert Message.objects.get(client_msg_id="wamid.1").sender_kind == SenderKind.CUSTOMER


def test_connector_refusals():
    bot = make_bot(channel=channel_factory(kind="sms"))
    interaction, _ = _chat(bot)
    other_bot = make_bot(channel=bot.channel)
    # Another bot client's chat: 404, as for every connector call.
    assert _upload(other_bot.api, interaction.pk, "a.txt", b"hi").status_code == 404
    # No token.
    assert _upload(APIClient(), interaction.pk, "a.txt", b"hi").status_code == 401
    # A refused type names the file.
    refused = _upload(bot.api, interaction.pk, "report.exe", EXE)
    assert refused.status_code == 415
    assert refused.json()["message"] == "report.exe: this file type is not accepted."
    # No file.
    assert (
        bot.api.post(
            f"/api/v1/escalations/{interaction.pk}/attachments/", {}, format="multipart"
        ).status_code
        == 400
    )
    # A file id of another chat.
    other_chat, _ = _chat(bot)
    theirs = _upload(bot.api, other_chat.pk, "a.txt", b"hello").json()["attachment"]["id"]
    wrong = bot.api.post(
        f"/api/v1/escalations/{interaction.pk}/messages/",
        {"client_msg_id": "x", "text": "", "attachment_ids": [theirs]},
        format="json",
    )
    assert wrong.status_code == 400
    assert wrong.json()["errors"][0]["field"] == "attachment_ids"
    assert not Message.objects.filter(client_msg_id="x").exists()
    assert Attachment.objects.count() == 1


def test_webhook_delivers_a_csr_file_as_a_signed_download_url(endpoint, settings):  # noqa: F811
    settings.PORTAL = {**settings.PORTAL, "PUBLIC_BASE_URL": "https://portal.example.com"}
    channel = channel_factory(kind="facebook", webhook_url=endpoint.url, webhook_secret="s3")
    bot = make_bot(channel=channel)
    interaction, csr = _chat(bot)
    client = csr_client(csr)
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (0, 200, 0)).save(out, format="PNG")
    uploaded = csr_upload(
        client, type("C", (), {"id": interaction.pk})(), "map.png", out.getvalue()
    )
    assert uploaded.status_code == 201, uploaded.content
    file_id = uploaded.json()["attachment"]["id"]
    message_send(
        interaction_id=interaction.pk,
        sender_kind=SenderKind.CSR,
        user=csr,
        text="Here is the map",
        client_msg_id="csr-1",
        attachment_ids=[file_id],
    )
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.DELIVERED
    body = json.loads(endpoint.received[-1].body)
    files = body["message"]["attachments"]
    assert [f["name"] for f in files] == ["map.png"]
    url = files[0]["url"]
    assert url.startswith("https://portal.example.com/attachments/s/")
    # The URL alone opens the file (no token needed), for this bot's chat.
    download = Client().get(_path(url))
    assert download.status_code == 200
    assert b"".join(download.streaming_content)[:4] == b"\x89PNG"
    # Deactivated client: refused.
    bot.client.active = False
    bot.client.save()
    assert Client().get(_path(url)).status_code == 403


def test_transcripts_name_and_link_files():
    bot = make_bot(channel=channel_factory(kind="web_messaging"))
    interaction, csr = _chat(bot)
    client = csr_client(csr)
    chat = type("C", (), {"id": interaction.pk})()
    uploaded = csr_upload(client, chat, "terms.pdf", PDF).json()["attachment"]
    message_send(
        interaction_id=interaction.pk,
        sender_kind=SenderKind.CSR,
        user=csr,
        text="The terms",
        client_msg_id="t-1",
        attachment_ids=[uploaded["id"]],
    )
    text = client.get(f"/interactions/{interaction.pk}/ChatTranscript.txt")
    assert text.status_code == 200
    content = b"".join(text.streaming_content).decode()
    assert "  + Attachment: terms.pdf" in content
    doc = bot.api.get(f"/api/v1/escalations/{interaction.pk}/transcript/")
    assert doc.status_code == 200
    raw = doc.content if not doc.streaming else b"".join(doc.streaming_content)
    entry = next(m for m in json.loads(raw)["messages"] if m.get("files"))
    assert entry["attachments"] == ["terms.pdf"]
    link = entry["files"][0]["url"]
    assert link == f"/attachments/{uploaded['id']}/"
    # The link: a bot token or a portal login redirects to a signed URL; nobody else.
    assert Client().get(link).status_code == 401
    redirected = bot.api.get(link)
    assert redirected.status_code == 302
    assert Client().get(redirected["Location"]).status_code == 200
    by_csr = client.get(link)
    assert by_csr.status_code == 302 and client.get(by_csr["Location"]).status_code == 200
    stranger = Client()
    stranger.force_login(user_factory(role=Role.CSR))
    assert stranger.get(link).status_code == 404
    _ = png_bytes


def test_the_read_only_window_links_the_files_through_the_stable_link():
    """An ended chat, opened read-only by its CSR: its files are shown server-side with
    their stable links, which redirect the CSR to signed URLs."""
    from chat.services.interactions import interaction_end

    bot = make_bot(channel=channel_factory(kind="web_messaging"))
    interaction, csr = _chat(bot)
    client = csr_client(csr)
    chat = type("C", (), {"id": interaction.pk})()
    image = csr_upload(client, chat, "map.png", png_bytes()).json()["attachment"]
    doc = csr_upload(client, chat, "terms.pdf", PDF).json()["attachment"]
    message_send(
        interaction_id=interaction.pk,
        sender_kind=SenderKind.CSR,
        user=csr,
        text="Both",
        client_msg_id="ro-1",
        attachment_ids=[image["id"], doc["id"]],
    )
    interaction_end(interaction_id=interaction.pk, by=SenderKind.CSR, user=csr)
    page = client.get(f"/interactions/{interaction.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'src="/attachments/{image["id"]}/?view=thumbnail" alt="map.png"' in html
    assert f'href="/attachments/{doc["id"]}/" download="terms.pdf"' in html
    thumb = client.get(f"/attachments/{image['id']}/?view=thumbnail")
    assert thumb.status_code == 302 and "/thumbnail/" in thumb["Location"]
    assert client.get(thumb["Location"]).status_code == 200
