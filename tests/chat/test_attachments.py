"""Attachments over HTTP and the chat socket: uploads by each party, content sniffing
(a PNG named .pdf, an EXE named .png, a truncated JPEG, a decompression bomb), the
limits, idempotent uploads and sends, signed URLs and their expiry, every refused
party, the optional ClamAV hook (a fake clamd on a real socket) and the retention
command."""

import io
import socket
import struct
import threading
import time
import zlib
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from PIL import Image

from chat.models import (
    AppStudioSettings,
    Attachment,
    Interaction,
    InteractionStatus,
    Message,
    SenderKind,
)
from chat.selectors import attachments as attachment_selectors
from chat.selectors.settings import app_studio_cache_invalidate
from chat.services.attachments import sniff_type
from chat.services.messages import message_send
from config.users import Role
from tests.chat.conftest import CUSTOMER_HEADERS, chat_socket, make_live_chat
from tests.factories import user_factory
from tests.routing.conftest import login_headers

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FILE_UPLOAD_TEMP_DIR = None
    app_studio_cache_invalidate()
    yield
    app_studio_cache_invalidate()


def png_bytes(size=(64, 48), color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def jpeg_with_exif() -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (120, 80), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0131] = "GeoTagger 1.0"  # Software
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def bomb_png(width=100_000, height=100_000) -> bytes:
    """A PNG whose header claims width×height pixels (10 billion), with a tiny body."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack("!I", len(data))
            + kind
            + data
            + struct.pack("!I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack("!IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


def upload_url(interaction_id: int) -> str:
    return f"/attachments/chats/{interaction_id}/"


def customer_upload(chat, name: str, content: bytes, upload_key: str = "", token=None):
    client = Client()
    return client.post(
        upload_url(chat.id),
        {"file": _named(name, content), "upload_key": upload_key},
        headers={"authorization": f"Customer {token or chat.token}"},
    )


def csr_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/accounts/login/")  # the CSRF cookie
    return client


def csr_upload(client: Client, chat, name: str, content: bytes, upload_key: str = ""):
    token = client.cookies["csrftoken"].value
    return client.post(
        upload_url(chat.id),
        {"file": _named(name, content), "upload_key": upload_key},
        headers={"x-csrftoken": token},
    )


def _named(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


# --- Sniffing and checks ------------------------------------------------------------------


def test_sniffing_decides_from_the_content_not_the_name():
    assert sniff_type(png_bytes()) == "image/png"
    assert sniff_type(PDF) == "application/pdf"
    assert sniff_type(EXE) == "application/x-msdownload"
    assert sniff_type("Grüße, plain text\n".encode()) == "text/plain"
    assert sniff_type(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>") == "image/svg+xml"
    assert sniff_type(b"<!DOCTYPE html><script>alert(1)</script>") == "text/html"
    assert sniff_type(b"\x00\x01\x02binary") == "application/octet-stream"


def test_a_png_named_pdf_is_stored_as_a_png_with_a_thumbnail():
    chat = make_live_chat()
    response = customer_upload(chat, "invoice.pdf", png_bytes(), "k1")
    assert response.status_code == 201, response.content
    body = response.json()["attachment"]
    assert body["content_type"] == "image/png"
    assert body["name"] == "invoice.pdf"
    assert body["image"] is True and body["width"] == 64 and body["height"] == 48
    stored = Attachment.objects.get(pk=body["id"])
    assert stored.file.name.endswith(".png") and "invoice" not in stored.file.name
    with default_storage.open(stored.thumbnail.name) as thumb:
        assert Image.open(thumb).size == (64, 48)
    assert len(stored.sha256) == 64 and stored.size == default_storage.size(stored.file.name)


def test_an_exe_named_png_is_refused_with_its_name_and_nothing_is_stored(settings):
    chat = make_live_chat()
    response = customer_upload(chat, "report.exe.png", EXE)
    assert response.status_code == 415
    assert response.json()["message"] == "report.exe.png: this file type is not accepted."
    assert not Attachment.objects.exists()
    assert not (Path(settings.MEDIA_ROOT) / "attachments").exists() or not any(
        (Path(settings.MEDIA_ROOT) / "attachments").rglob("*.*")
    )


def test_a_truncated_jpeg_is_refused():
    chat = make_live_chat()
    broken = jpeg_with_exif()[:300]
    response = customer_upload(chat, "photo.jpg", broken)
    assert response.status_code == 400
    assert "photo.jpg: this image is damaged or incomplete" in response.json()["message"]
    assert not Attachment.objects.exists()


def test_a_decompression_bomb_is_refused_without_decoding_it():
    chat = make_live_chat()
    started = time.monotonic()
    response = customer_upload(chat, "bomb.png", bomb_png())
    assert time.monotonic() - started < 5
    assert response.status_code == 413
    assert response.json()["message"].startswith("bomb.png: this image is too large")
    assert not Attachment.objects.exists()


def test_images_are_re_encoded_without_their_metadata():
    chat = make_live_chat()
    original = jpeg_with_exif()
    assert b"SecretCam" in original
    response = customer_upload(chat, "cam.jpg", original)
    assert response.status_code == 201
    stored = Attachment.objects.get()
    with default_storage.open(stored.file.name) as handle:
        data = handle.read()
    assert b"SecretCam" not in data
    assert not Image.open(io.BytesIO(data)).getexif()


def test_an_over_size_file_is_refused_with_the_limit():
    AppStudioSettings.objects.update_or_create(pk=1, defaults={"max_attachment_bytes": 2048})
    app_studio_cache_invalidate()
    chat = make_live_chat()
    response = customer_upload(chat, "big.txt", b"a" * 5000)
    assert response.status_code == 413
    assert response.json()["message"] == "big.txt: this file is too large (at most 2.0 KB)."
    assert not Attachment.objects.exists()


def test_an_over_size_file_in_a_small_body_is_cut_off_by_the_handler():
    """A Content-Length under the limit's slack: the handler counts and skips it."""
    AppStudioSettings.objects.update_or_create(pk=1, defaults={"max_attachment_bytes": 1024})
    app_studio_cache_invalidate()
    chat = make_live_chat()
    response = customer_upload(chat, "notes.txt", b"b" * 3000)
    assert response.status_code == 413
    assert "notes.txt: this file is too large" in response.json()["message"]


def test_switched_off_in_app_studio_or_on_the_channel():
    chat = make_live_chat()
    AppStudioSettings.objects.update_or_create(pk=1, defaults={"attachments_enabled": False})
    app_studio_cache_invalidate()
    response = customer_upload(chat, "a.txt", b"hello")
    assert response.status_code == 403
    assert response.json()["message"] == "Files cannot be sent: attachments are switched off."
    AppStudioSettings.objects.filter(pk=1).update(attachments_enabled=True)
    app_studio_cache_invalidate()
    chat.interaction.channel.attachments_allowed = False
    chat.interaction.channel.save()
    response = customer_upload(chat, "a.txt", b"hello")
    assert response.status_code == 403
    assert response.json()["message"] == "Files cannot be sent on this channel."
    assert not Attachment.objects.exists()


def test_a_retried_upload_is_stored_once():
    chat = make_live_chat()
    first = customer_upload(chat, "a.txt", b"hello there", "same-key")
    again = customer_upload(chat, "a.txt", b"hello there", "same-key")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["duplicate"] is True
    assert first.json()["attachment"]["id"] == again.json()["attachment"]["id"]
    assert Attachment.objects.count() == 1


# --- Who may upload -------------------------------------------------------------------------


def test_upload_refusals():
    chat = make_live_chat()
    other = make_live_chat()
    # No credentials at all.
    assert Client().post(upload_url(chat.id), {"file": _named("a.txt", b"x")}).status_code == 401
    # Another chat's customer token.
    assert customer_upload(chat, "a.txt", b"x", token=other.token).status_code == 403
    # A CSR who does not handle the chat.
    stranger = csr_client(user_factory(role=Role.CSR))
    assert csr_upload(stranger, chat, "a.txt", b"x").status_code == 403
    # A CSR manager watches read-only.
    manager = csr_client(user_factory(role=Role.CSR_MANAGER))
    assert csr_upload(manager, chat, "a.txt", b"x").status_code == 403
    # The handling CSR without the CSRF token.
    handling = csr_client(chat.csr)
    no_csrf = handling.post(upload_url(chat.id), {"file": _named("a.txt", b"x")})
    assert no_csrf.status_code == 403
    # An ended chat.
    ended = make_live_chat(status=InteractionStatus.ENDED)
    assert customer_upload(ended, "a.txt", b"x").status_code == 409
    assert not Attachment.objects.exists()
    # The handling CSR may.
    assert csr_upload(handling, chat, "a.txt", b"x").status_code == 201


# --- Sending and fetching -------------------------------------------------------------------


def test_send_carries_files_once_and_only_the_senders_own():
    chat = make_live_chat()
    image = customer_upload(chat, "cat.png", png_bytes(), "u1").json()["attachment"]
    doc = customer_upload(chat, "terms.pdf", PDF, "u2").json()["attachment"]
    result = message_send(
        interaction_id=chat.id,
        sender_kind=SenderKind.CUSTOMER,
        text="",
        client_msg_id="m1",
        attachment_ids=[image["id"], doc["id"]],
    )
    assert result.created and result.message.text == ""
    names = [f["name"] for f in result.message.data["attachments"]]
    assert names == ["cat.png", "terms.pdf"]
    assert set(Attachment.objects.values_list("message_id", flat=True)) == {result.message.pk}
    # The same send again: the same message, nothing new.
    again = message_send(
        interaction_id=chat.id,
        sender_kind=SenderKind.CUSTOMER,
        text="",
        client_msg_id="m1",
        attachment_ids=[image["id"], doc["id"]],
    )
    assert not again.created and again.message.pk == result.message.pk
    assert Message.objects.filter(interaction=chat.interaction, client_msg_id="m1").count() == 1
    # A file already sent cannot be sent again; another party's file cannot be sent.
    from chat.errors import ChatError

    with pytest.raises(ChatError, match="upload it again"):
        message_send(
            interaction_id=chat.id,
            sender_kind=SenderKind.CUSTOMER,
            text="again",
            client_msg_id="m2",
            attachment_ids=[image["id"]],
        )
    with pytest.raises(ChatError, match="upload it again"):
        message_send(
            interaction_id=chat.id,
            sender_kind=SenderKind.CSR,
            user=chat.csr,
            text="stolen",
            client_msg_id="m3",
            attachment_ids=[doc["id"]],
        )


def test_per_message_limit():
    chat = make_live_chat()
    ids = [
        customer_upload(chat, f"{i}.txt", b"z" * 1500, f"k{i}").json()["attachment"]["id"]
        for i in range(2)
    ]
    AppStudioSettings.objects.filter(pk=1).update(max_message_attachment_bytes=2048)
    app_studio_cache_invalidate()
    from chat.errors import ChatError

    with pytest.raises(ChatError, match="too large together"):
        message_send(
            interaction_id=chat.id,
            sender_kind=SenderKind.CUSTOMER,
            text="two",
            client_msg_id="m1",
            attachment_ids=ids,
        )
    assert not Message.objects.filter(client_msg_id="m1").exists()


def _sent_file(chat, name="cat.png", content=None):
    body = customer_upload(chat, name, content or png_bytes(), name).json()["attachment"]
    message_send(
        interaction_id=chat.id,
        sender_kind=SenderKind.CUSTOMER,
        text="see",
        client_msg_id=f"m-{name}",
        attachment_ids=[body["id"]],
    )
    return Attachment.objects.get(pk=body["id"])


def test_signed_urls_serve_each_party_and_refuse_the_others():
    chat = make_live_chat()
    attachment = _sent_file(chat)
    summary = {"id": attachment.pk, "image": True, "content_type": "image/png"}
    customer = attachment_selectors.attachment_urls(summary, party="c")
    # The customer's URL works without any cookie; headers keep it safe.
    response = Client().get(customer["url"])
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"
    preview = Client().get(customer["preview_url"])
    assert preview.status_code == 200 and preview["Content-Disposition"].startswith("inline")
    assert preview["Content-Security-Policy"].startswith("sandbox")
    assert Client().get(customer["thumbnail_url"]).status_code == 200

    # The CSR's URL needs the CSR's own session.
    csr_urls = attachment_selectors.attachment_urls(
        summary, party=attachment_selectors.user_party(chat.csr)
    )
    assert Client().get(csr_urls["url"]).status_code == 403
    handling = Client()
    handling.force_login(chat.csr)
    assert handling.get(csr_urls["url"]).status_code == 200
    other_csr = Client()
    other_csr.force_login(user_factory(role=Role.CSR))
    assert other_csr.get(csr_urls["url"]).status_code == 403
    # A URL signed for that other CSR themselves: they do not handle the chat.
    own = attachment_selectors.attachment_urls(
        summary, party=attachment_selectors.user_party(_user(other_csr))
    )
    assert other_csr.get(own["url"]).status_code == 403
    # A CSR manager may.
    manager_user = user_factory(role=Role.CSR_MANAGER)
    manager = Client()
    manager.force_login(manager_user)
    manager_urls = attachment_selectors.attachment_urls(
        summary, party=attachment_selectors.user_party(manager_user)
    )
    assert manager.get(manager_urls["url"]).status_code == 200
    # A forged or tampered token.
    tampered = customer["url"].replace("/download/", "/download/").replace(":", ";", 1)
    assert Client().get(tampered).status_code == 403
    # Another chat's customer: a signature for this file is only minted on this chat's
    # socket; a made-up one fails.
    assert Client().get("/attachments/s/not-a-token/download/").status_code == 403
    # A bot client that did not escalate this chat.
    from tests.factories import bot_client_factory

    client, _ = bot_client_factory(channels=[chat.interaction.channel])
    bot_urls = attachment_selectors.attachment_urls(summary, party=f"b{client.pk}")
    assert Client().get(bot_urls["url"]).status_code == 403


def _user(client: Client):
    from django.contrib.auth.models import User

    return User.objects.get(pk=client.session["_auth_user_id"])


def test_signed_urls_expire(settings):
    chat = make_live_chat()
    attachment = _sent_file(chat)
    summary = {"id": attachment.pk, "image": True, "content_type": "image/png"}
    past = attachment_selectors.attachment_urls(summary, party="c", expires=int(time.time()) - 1)
    response = Client().get(past["url"])
    assert response.status_code == 410
    assert "expired" in response.json()["message"]


def test_the_customer_loses_access_after_the_grace_period(settings):
    settings.PORTAL = {**settings.PORTAL, "CUSTOMER_TOKEN_GRACE_SECONDS": 0}
    chat = make_live_chat()
    attachment = _sent_file(chat)
    urls = attachment_selectors.attachment_urls(
        {"id": attachment.pk, "image": True, "content_type": "image/png"}, party="c"
    )
    assert Client().get(urls["url"]).status_code == 200
    Interaction.objects.filter(pk=chat.id).update(
        status=InteractionStatus.ENDED, ended_at=timezone.now() - timezone.timedelta(seconds=5)
    )
    assert Client().get(urls["url"]).status_code == 403


def test_svg_is_never_inline_even_when_allowed():
    AppStudioSettings.objects.update_or_create(
        pk=1, defaults={"allowed_attachment_types": "image/svg+xml,text/plain"}
    )
    app_studio_cache_invalidate()
    chat = make_live_chat()
    svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"
    body = customer_upload(chat, "logo.svg", svg).json()["attachment"]
    assert body["content_type"] == "image/svg+xml" and body["preview_url"] is None
    message_send(
        interaction_id=chat.id,
        sender_kind=SenderKind.CUSTOMER,
        text="svg",
        client_msg_id="s",
        attachment_ids=[body["id"]],
    )
    download = Client().get(body["url"])
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Content-Security-Policy"].startswith("sandbox")
    preview = Client().get(body["url"].replace("/download/", "/preview/"))
    assert preview.status_code == 404


# --- The chat socket --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_socket_send_with_files_reaches_both_sides_with_their_own_urls():
    chat = await sync_to_async(make_live_chat)()
    headers = await sync_to_async(login_headers)(chat.csr)
    async with (
        chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer,
        chat_socket(chat.csr_path(), headers) as csr,
    ):
        assert customer.hello["attachments"]["enabled"] is True
        assert "application/pdf" in customer.hello["attachments"]["allowed_types"]
        uploaded = await sync_to_async(customer_upload)(chat, "cat.png", png_bytes(), "up-1")
        file_id = uploaded.json()["attachment"]["id"]
        await customer.send(type="send", client_msg_id="c-1", text="Here", attachment_ids=[file_id])
        ack = await customer.receive_type("ack")
        mine = await customer.receive_type("message")
        theirs = await csr.receive_type("message")
        assert ack["duplicate"] is False
        assert mine["attachments"][0]["name"] == "cat.png"
        assert theirs["attachments"][0]["id"] == file_id
        assert mine["attachments"][0]["url"] != theirs["attachments"][0]["url"]
        # The retry (a reload before the ack) stores nothing new.
        await customer.send(type="send", client_msg_id="c-1", text="Here", attachment_ids=[file_id])
        again = await customer.receive_type("ack")
        assert again["duplicate"] is True and again["seq"] == ack["seq"]
        # A bad list is refused with its client_msg_id.
        await customer.send(type="send", client_msg_id="c-2", text="x", attachment_ids="7")
        error = await customer.receive_type("error")
        assert error["code"] == "bad_attachment" and error["client_msg_id"] == "c-2"
    count = await sync_to_async(
        Message.objects.filter(interaction_id=chat.id, client_msg_id="c-1").count
    )()
    assert count == 1


# --- ClamAV hook ------------------------------------------------------------------------------


class FakeClamd:
    """A clamd speaking INSTREAM on a real unix socket: FOUND for the EICAR string."""

    def __init__(self, path: str):
        self.path = path
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(5)
        self.scanned: list[bytes] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                command = b""
                while not command.endswith(b"\0"):
                    command += conn.recv(1)
                assert command == b"zINSTREAM\0"
                data = b""
                while True:
                    size = struct.unpack("!L", _read(conn, 4))[0]
                    if size == 0:
                        break
                    data += _read(conn, size)
                self.scanned.append(data)
                if b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE" in data:
                    conn.sendall(b"stream: Eicar-Test-Signature FOUND\0")
                else:
                    conn.sendall(b"stream: OK\0")

    def close(self):
        self.server.shutdown(socket.SHUT_RDWR)  # wakes the accept()
        self.server.close()
        Path(self.path).unlink()


def _read(conn, size):
    data = b""
    while len(data) < size:
        more = conn.recv(size - len(data))
        if not more:
            raise OSError("short read")
        data += more
    return data


EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def test_clamd_marks_files_clean_or_blocked(settings, tmp_path):
    path = str(tmp_path / "clamd.sock")
    clamd = FakeClamd(path)
    settings.PORTAL = {**settings.PORTAL, "CLAMD_ADDRESS": f"unix://{path}"}
    try:
        chat = make_live_chat()
        clean = customer_upload(chat, "note.txt", b"just a note")
        assert clean.status_code == 201
        blocked = customer_upload(chat, "eicar.txt", EICAR)
        assert blocked.status_code == 422
        assert blocked.json()["message"] == "eicar.txt: the virus scanner blocked this file."
        assert clamd.scanned == [b"just a note", EICAR]
        assert Attachment.objects.count() == 1
    finally:
        clamd.close()
    # The scanner down: refused, never let through unscanned.
    down = customer_upload(make_live_chat(), "note.txt", b"again")
    assert down.status_code == 503
    assert "virus scanner is not answering" in down.json()["message"]


# --- Retention ----------------------------------------------------------------------------------


def test_purge_interactions_deletes_old_ended_chats_with_their_files():
    old = make_live_chat()
    attachment = _sent_file(old)
    names = [attachment.file.name, attachment.thumbnail.name]
    assert all(default_storage.exists(name) for name in names)
    Interaction.objects.filter(pk=old.id).update(
        status=InteractionStatus.ENDED, ended_at=timezone.now() - timezone.timedelta(days=40)
    )
    recent = make_live_chat(status=InteractionStatus.ENDED)
    open_chat = make_live_chat()
    _sent_file(open_chat, "keep.png")
    out = io.StringIO()
    call_command("purge_interactions", "--older-than", "30", stdout=out)
    assert "Deleted 1 interaction" in out.getvalue()
    assert not Interaction.objects.filter(pk=old.id).exists()
    assert not Attachment.objects.filter(pk=attachment.pk).exists()
    assert not any(default_storage.exists(name) for name in names)
    assert Interaction.objects.filter(pk__in=[recent.id, open_chat.id]).count() == 2
    assert Attachment.objects.filter(interaction_id=open_chat.id).count() == 1


def test_purge_a_customer_erases_their_ended_chats():
    chat = make_live_chat(status=InteractionStatus.ENDED)
    other = make_live_chat(status=InteractionStatus.ENDED)
    customer = chat.interaction.customer
    out = io.StringIO()
    call_command("purge_interactions", "--customer", str(customer.external_id), stdout=out)
    assert not Interaction.objects.filter(pk=chat.id).exists()
    assert Interaction.objects.filter(pk=other.id).exists()


def test_purge_deletes_uploads_never_sent_after_a_day():
    chat = make_live_chat()
    old = customer_upload(chat, "old.txt", b"old", "o").json()["attachment"]
    new = customer_upload(chat, "new.txt", b"new", "n").json()["attachment"]
    Attachment.objects.filter(pk=old["id"]).update(
        created_at=timezone.now() - timezone.timedelta(hours=25)
    )
    old_name = Attachment.objects.get(pk=old["id"]).file.name
    out = io.StringIO()
    call_command("purge_interactions", "--older-than", "30", stdout=out)
    assert "and 1 file(s) never sent" in out.getvalue()
    assert list(Attachment.objects.values_list("pk", flat=True)) == [new["id"]]
    assert not default_storage.exists(old_name)
    assert Interaction.objects.filter(pk=chat.id).exists()


def test_purge_needs_a_rule():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--older-than"):
        call_command("purge_interactions")


def test_cors_only_for_trusted_host_sites(settings):
    """A host site in CSRF_TRUSTED_ORIGINS may upload from its page (preflight and
    answer name it); any other origin gets no CORS header, so its page cannot read the
    answer."""
    settings.CSRF_TRUSTED_ORIGINS = ["https://www.bank.example", "https://*.shop.example"]
    chat = make_live_chat()
    for origin, allowed in (
        ("https://www.bank.example", True),
        ("https://help.shop.example", True),
        ("https://evil.example", False),
        ("http://www.bank.example", False),
    ):
        preflight = Client().options(
            upload_url(chat.id),
            headers={"origin": origin, "access-control-request-method": "POST"},
        )
        assert preflight.status_code == 204
        assert preflight.get("Access-Control-Allow-Origin") == (origin if allowed else None)
        answer = Client().post(
            upload_url(chat.id),
            {"file": _named("a.txt", b"hello"), "upload_key": origin},
            headers={"authorization": f"Customer {chat.token}", "origin": origin},
        )
        assert answer.status_code == 201
        assert answer.get("Access-Control-Allow-Origin") == (origin if allowed else None)
        assert "Access-Control-Allow-Credentials" not in answer
