"""Attachments: a file is uploaded first (streamed to a temporary file, never held in
memory), checked, and stored through Django's storage API; a message then carries it by
id (chat.services.messages.message_send). docs/attachments.md is the contract.

The checks, in order: the chat may take files (App Studio and the channel both allow
them), the size (per file, and per message when sent), the type decided from the
content (`filetype`, then a plain-text test; never the name or the browser's claim)
against the allowed types, images decoded and re-encoded with Pillow (metadata dropped,
malformed files and decompression bombs refused, a thumbnail made), and the optional
ClamAV scan (PORTAL["CLAMD_ADDRESS"]). A refusal says which file and why; nothing is
stored then.
"""

import hashlib
import io
import logging
import os
import socket
import struct
import tempfile
import unicodedata
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlsplit

import filetype
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import SkipFile, TemporaryFileUploadHandler
from django.db import IntegrityError, transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from chat.errors import ChatError
from chat.models import Attachment, Interaction, SenderKind
from chat.selectors.settings import app_studio_settings_get
from config.oncommit import on_commit_robust

logger = logging.getLogger(__name__)

# Types Pillow decodes, re-encodes and shows inline (as a thumbnail, in the lightbox).
IMAGE_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}
# Shown in a sandboxed preview besides images; everything else is only downloaded.
INLINE_TYPES = frozenset({*IMAGE_FORMATS, "application/pdf"})
THUMBNAIL_SIZE = (320, 320)
MAX_FILES_PER_MESSAGE = 10
MAX_NAME_CHARS = 200
MAX_UPLOAD_KEY_CHARS = 64
SNIFF_BYTES = 8192
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class AttachmentPolicy:
    """What the chat accepts now."""

    enabled: bool
    reason: str  # why not, when not enabled
    max_file_bytes: int
    max_message_bytes: int
    allowed_types: tuple[str, ...]


def attachment_policy(*, interaction: Interaction) -> AttachmentPolicy:
    """The App Studio limits and switches, with the interaction's channel's."""
    studio = app_studio_settings_get()
    reason = ""
    if not studio.attachments_enabled:
        reason = "Files cannot be sent: attachments are switched off."
    elif not interaction.channel.attachments_allowed:
        reason = "Files cannot be sent on this channel."
    return AttachmentPolicy(
        enabled=not reason,
        reason=reason,
        max_file_bytes=studio.max_attachment_bytes,
        max_message_bytes=studio.max_message_attachment_bytes,
        allowed_types=tuple(studio.allowed_attachment_type_list),
    )


def attachments_policy_payload(interaction: Interaction) -> dict[str, Any]:
    """`hello.attachments` of a chat socket: whether the attach button works, and the
    limits it checks before uploading."""
    policy = attachment_policy(interaction=interaction)
    return {
        "enabled": policy.enabled,
        "reason": policy.reason,
        "max_file_bytes": policy.max_file_bytes,
        "max_message_bytes": policy.max_message_bytes,
        "max_files": MAX_FILES_PER_MESSAGE,
        "allowed_types": list(policy.allowed_types),
    }


def size_label(size: int) -> str:
    """10485760 → "10 MB" (binary units, as the admin's limits are set)."""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return (
                f"{value:.0f} {unit}" if unit == "bytes" or value >= 10 else f"{value:.1f} {unit}"
            )
        value /= 1024
    return f"{size} bytes"  # pragma: no cover


def clean_name(name: Any) -> str:
    """The file's name as shown: its last path part, no control characters, at most
    MAX_NAME_CHARS; "file" when nothing is left."""
    text = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip()
    if len(text) > MAX_NAME_CHARS:
        stem, dot, ext = text.rpartition(".")
        text = (
            (stem[: MAX_NAME_CHARS - len(ext) - 1] + dot + ext) if dot and len(ext) < 10 else text
        )
        text = text[:MAX_NAME_CHARS]
    return text or "file"


# --- Upload handler: streamed to a temporary file, hashed and counted on the way -------


class AttachmentUploadHandler(TemporaryFileUploadHandler):
    """Writes each uploaded file to a temporary file (Django's TemporaryUploadedFile, so
    that storing it can be a move) in chunks, hashing and counting as it goes; a file
    over `max_bytes` is skipped at once (the rest of its part is read and dropped) and
    named in `too_large`. Nothing is ever held whole in memory."""

    chunk_size = CHUNK_BYTES

    def __init__(self, request=None, *, max_bytes: int):
        super().__init__(request)
        self.max_bytes = max_bytes
        self.too_large: list[str] = []

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.digest = hashlib.sha256()
        self.size = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.size += len(raw_data)
        if self.size > self.max_bytes:
            self.file.close()
            self.too_large.append(clean_name(self.file_name))
            raise SkipFile()
        self.digest.update(raw_data)
        self.file.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> UploadedFile:
        uploaded = super().file_complete(file_size)
        assert uploaded is not None  # Django's temporary handler always returns the file
        uploaded.sha256 = self.digest.hexdigest()  # type: ignore[attr-defined]
        return uploaded


# --- Content sniffing ---------------------------------------------------------------------

_MARKUP_MARKERS = (b"<svg", b"<!doctype html", b"<html", b"<script", b"<body", b"<iframe")


def sniff_type(head: bytes) -> str:
    """The MIME type of a file from its first bytes: `filetype`'s magic numbers, else
    text (UTF-8 without NUL bytes: text/plain; HTML or SVG markup: text/html or
    image/svg+xml, which are never shown inline), else application/octet-stream."""
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    if not head or b"\x00" in head:
        return "application/octet-stream"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sample is still text.
        if error.start < len(head) - 3:
            return "application/octet-stream"
    lowered = head.lower()
    if b"<svg" in lowered:
        return "image/svg+xml"
    if any(marker in lowered for marker in _MARKUP_MARKERS):
        return "text/html"
    return "text/plain"


# --- Images -------------------------------------------------------------------------------


@dataclass
class ReEncoded:
    image: IO[bytes]
    thumbnail: IO[bytes]
    thumbnail_ext: str
    width: int
    height: int


def image_reencode(source: IO[bytes], *, content_type: str, name: str) -> ReEncoded:
    """Decode the whole image with Pillow and encode it again in its own format: what
    is stored is pixels Pillow wrote (no metadata, no trailing data), and a malformed,
    truncated or oversized (decompression bomb) image is refused."""
    max_pixels = settings.PORTAL["ATTACHMENT_MAX_IMAGE_PIXELS"]
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with Image.open(source) as opened:
            if opened.width * opened.height > max_pixels:
                raise ChatError(
                    "image_too_large",
                    f"{name}: this image is too large ({opened.width}×{opened.height} pixels; "
                    f"at most {max_pixels:,}).",
                )
            opened.load()
            image = ImageOps.exif_transpose(opened) or opened
            fmt = IMAGE_FORMATS[content_type]
            if fmt == "JPEG" and image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            out = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115
            save_args: dict[str, Any] = {"quality": 90} if fmt in ("JPEG", "WEBP") else {}
            image.save(out, format=fmt, **save_args)
            thumb = image.copy()
            thumb.thumbnail(THUMBNAIL_SIZE)
            alpha = thumb.mode in ("RGBA", "LA", "P", "PA")
            thumb_fmt, thumb_ext = ("PNG", "png") if alpha else ("JPEG", "jpg")
            if thumb_fmt == "JPEG" and thumb.mode != "RGB":
                thumb = thumb.convert("RGB")
            thumb_out = io.BytesIO()
            thumb.save(thumb_out, format=thumb_fmt)
            width, height = image.width, image.height
    except Image.DecompressionBombError:
        raise ChatError(
            "image_too_large", f"{name}: this image is too large to open safely."
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise ChatError(
            "bad_image", f"{name}: this image is damaged or incomplete and cannot be shown."
        ) from None
    out.seek(0)
    thumb_out.seek(0)
    return ReEncoded(
        image=out, thumbnail=thumb_out, thumbnail_ext=thumb_ext, width=width, height=height
    )


# --- ClamAV (optional) --------------------------------------------------------------------


class ScannerUnavailable(Exception):
    pass


def clamd_scan(source: IO[bytes], *, address: str, timeout: float) -> str | None:
    """Send the file to clamd (INSTREAM): None when clean, else the signature found.
    `address`: unix:///path/to/clamd.ctl or tcp://host:port."""
    parts = urlsplit(address)
    try:
        if parts.scheme == "unix":
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.settimeout(timeout)
            conn.connect(parts.path)
        elif parts.scheme == "tcp" and parts.hostname and parts.port:
            conn = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        else:
            raise ScannerUnavailable(f"CLAMD_ADDRESS {address!r} is not unix:// or tcp://")
        with conn:
            conn.sendall(b"zINSTREAM\0")
            source.seek(0)
            while chunk := source.read(CHUNK_BYTES):
                conn.sendall(struct.pack("!L", len(chunk)) + chunk)
            conn.sendall(struct.pack("!L", 0))
            reply = b""
            while not reply.endswith(b"\0"):
                data = conn.recv(4096)
                if not data:
                    break
                reply += data
    except OSError as error:
        raise ScannerUnavailable(str(error)) from error
    text = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
    source.seek(0)
    if text.endswith("OK"):
        return None
    if text.endswith("FOUND"):
        return text.removeprefix("stream:").removesuffix("FOUND").strip() or "malware"
    raise ScannerUnavailable(f"clamd answered {text!r}")


def virus_check(source: IO[bytes], *, name: str) -> None:
    address = settings.PORTAL["CLAMD_ADDRESS"]
    if not address:
        return
    try:
        found = clamd_scan(
            source, address=address, timeout=settings.PORTAL["CLAMD_TIMEOUT_SECONDS"]
        )
    except ScannerUnavailable as error:
        logger.error("Virus scanner unavailable, %s refused: %s", name, error)
        raise ChatError(
            "scanner_unavailable",
            f"{name}: the virus scanner is not answering, so the file was not accepted. "
            "Try again in a moment.",
        ) from None
    if found is not None:
        logger.warning("Virus scanner blocked %s: %s", name, found)
        raise ChatError("blocked", f"{name}: the virus scanner blocked this file.")


# --- Upload -------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadResult:
    attachment: Attachment
    created: bool  # False: this upload_key was stored before (a retried upload)


def check_upload_key(upload_key: Any) -> str:
    if upload_key in (None, ""):
        return ""
    if not isinstance(upload_key, str) or len(upload_key) > MAX_UPLOAD_KEY_CHARS:
        raise ChatError(
            "bad_upload_key",
            f"upload_key must be text of at most {MAX_UPLOAD_KEY_CHARS} characters.",
        )
    if not upload_key.isascii() or not upload_key.isprintable():
        raise ChatError("bad_upload_key", "upload_key must be printable ASCII.")
    return upload_key


def uploader_check(
    *, interaction: Interaction, sender_kind: str, user: AbstractBaseUser | None
) -> None:
    """Who may upload: the customer while the chat is open, the handling CSR."""
    from chat.services.messages import csr_may_write  # the send rules, in one place

    if not interaction.is_open:
        raise ChatError("chat_ended", "This chat has ended; files can no longer be sent.")
    if sender_kind == SenderKind.CSR:
        if user is None or not csr_may_write(interaction, user):
            raise ChatError("not_party", "You are not handling this chat.")
    elif sender_kind != SenderKind.CUSTOMER:
        raise ChatError("not_party", "Only the customer or the handling CSR may send files.")


def attachment_upload(
    *,
    interaction: Interaction,
    sender_kind: str,
    upload: UploadedFile,
    upload_key: Any = "",
    user: AbstractBaseUser | None = None,
) -> UploadResult:
    """Check one uploaded file and store it (see the module docstring). Returns the
    stored attachment; a retry with the same upload_key returns the first one."""
    upload_key = check_upload_key(upload_key)
    uploader_check(interaction=interaction, sender_kind=sender_kind, user=user)
    if upload_key:
        existing = Attachment.objects.filter(
            interaction=interaction, sender_kind=sender_kind, upload_key=upload_key
        ).first()
        if existing is not None:
            return UploadResult(attachment=existing, created=False)
    policy = attachment_policy(interaction=interaction)
    if not policy.enabled:
        raise ChatError("attachments_off", policy.reason)
    name = clean_name(upload.name)
    size = upload.size or 0
    if size > policy.max_file_bytes:
        raise ChatError(
            "too_large",
            f"{name}: this file is too large ({size_label(size)}; at most "
            f"{size_label(policy.max_file_bytes)}).",
        )
    if size == 0:
        raise ChatError("empty_file", f"{name}: this file is empty.")
    source: IO[bytes] | None = upload.file
    if source is None:
        raise ChatError("no_file", f"{name}: the file did not arrive; send it again.")
    source.seek(0)
    content_type = sniff_type(source.read(SNIFF_BYTES))
    source.seek(0)
    if content_type not in policy.allowed_types:
        raise ChatError("type_not_allowed", f"{name}: this file type is not accepted.")
    virus_check(source, name=name)
    sha256 = getattr(upload, "sha256", None) or _sha256(source)
    attachment = Attachment(
        interaction=interaction,
        sender_kind=sender_kind,
        uploaded_by=user if sender_kind == SenderKind.CSR else None,  # type: ignore[misc]
        upload_key=upload_key,
        name=name,
        content_type=content_type,
        size=size,
        sha256=sha256,
    )
    ext = _extension(content_type, name)
    if content_type in IMAGE_FORMATS:
        encoded = image_reencode(source, content_type=content_type, name=name)
        attachment.width, attachment.height = encoded.width, encoded.height
        attachment.size = _length(encoded.image)
        attachment.sha256 = _sha256(encoded.image)
        attachment.file.save(f"file.{ext}", File(encoded.image), save=False)
        attachment.thumbnail.save(
            f"thumb.{encoded.thumbnail_ext}", File(encoded.thumbnail), save=False
        )
    else:
        # A temporary upload is moved into place when the storage can (no copy).
        content = upload if hasattr(upload, "temporary_file_path") else File(source)
        attachment.file.save(f"file.{ext}", content, save=False)
    stored = [name for name in (attachment.file.name, attachment.thumbnail.name) if name]
    try:
        with transaction.atomic():
            attachment.save()
    except IntegrityError:
        files_delete(stored)
        existing = Attachment.objects.filter(
            interaction=interaction, sender_kind=sender_kind, upload_key=upload_key
        ).first()
        if existing is None:
            raise
        return UploadResult(attachment=existing, created=False)
    except BaseException:
        files_delete(stored)
        raise
    logger.info(
        "Attachment %s stored for interaction %s (%s, %s bytes)",
        attachment.pk,
        interaction.pk,
        content_type,
        attachment.size,
    )
    return UploadResult(attachment=attachment, created=True)


_EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "text/plain": "txt",
}


def _extension(content_type: str, name: str) -> str:
    """The stored file's extension: from the sniffed type, else a short alphanumeric one
    of the name, else "bin"."""
    if content_type in _EXTENSIONS:
        return _EXTENSIONS[content_type]
    kind = filetype.get_type(mime=content_type)
    if kind is not None:
        return kind.extension
    ext = name.rpartition(".")[2].lower()
    return ext if name.count(".") and ext.isalnum() and len(ext) <= 8 else "bin"


def _sha256(source: IO[bytes]) -> str:
    source.seek(0)
    digest = hashlib.sha256()
    while chunk := source.read(CHUNK_BYTES):
        digest.update(chunk)
    source.seek(0)
    return digest.hexdigest()


def _length(source: IO[bytes]) -> int:
    source.seek(0, os.SEEK_END)
    size = source.tell()
    source.seek(0)
    return size


# --- Sending: the message's part -------------------------------------------------------


def attachment_summary(attachment: Attachment) -> dict[str, Any]:
    """What a message stores of each of its files (Message.data["attachments"]): what
    the chat shows, the webhook sends and the transcript names."""
    return {
        "id": attachment.pk,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "image": bool(attachment.thumbnail),
        "width": attachment.width,
        "height": attachment.height,
    }


def attachment_ids_check(attachment_ids: Any) -> list[int]:
    """The ids a `send` names: a list of at most MAX_FILES_PER_MESSAGE distinct ids."""
    if attachment_ids in (None, []):
        return []
    if not isinstance(attachment_ids, list) or not all(
        isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63
        for value in attachment_ids
    ):
        raise ChatError("bad_attachment", "attachment_ids must be a list of attachment ids.")
    if len(attachment_ids) > MAX_FILES_PER_MESSAGE:
        raise ChatError(
            "bad_attachment", f"A message can carry at most {MAX_FILES_PER_MESSAGE} files."
        )
    return list(dict.fromkeys(attachment_ids))


ATTACHMENT_TAKEN_MESSAGE = (
    "A file of this message is not one you uploaded to this chat, or was sent already: "
    "upload it again."
)


def attachments_for_send(
    *,
    interaction: Interaction,
    attachment_ids: list[int],
    sender_kind: str,
    user: AbstractBaseUser | None,
) -> list[Attachment]:
    """The uploaded, not yet sent files a message may carry (called under the
    interaction's row lock, in the send's transaction): the sender's own, within the
    message limit, while the chat takes files. Locked until the send commits."""
    if not attachment_ids:
        return []
    policy = attachment_policy(interaction=interaction)
    if not policy.enabled:
        raise ChatError("attachments_off", policy.reason)
    found = Attachment.objects.select_for_update().filter(
        pk__in=attachment_ids,
        interaction_id=interaction.pk,
        sender_kind=sender_kind,
        message__isnull=True,
    )
    if sender_kind == SenderKind.CSR:
        found = found.filter(uploaded_by_id=getattr(user, "pk", None))
    by_id = {attachment.pk: attachment for attachment in found}
    if len(by_id) != len(attachment_ids):
        raise ChatError("bad_attachment", ATTACHMENT_TAKEN_MESSAGE)
    attachments = [by_id[pk] for pk in attachment_ids]
    total = sum(attachment.size for attachment in attachments)
    if total > policy.max_message_bytes:
        raise ChatError(
            "too_large",
            f"These files are too large together ({size_label(total)}; at most "
            f"{size_label(policy.max_message_bytes)} per message).",
        )
    return attachments


# --- Removal ------------------------------------------------------------------------------


def files_delete(names: list[str]) -> None:
    """Delete stored files by name (missing ones are fine); errors are logged."""
    from django.core.files.storage import default_storage

    for name in names:
        if not name:
            continue
        try:
            default_storage.delete(name)
        except OSError:
            logger.exception("Could not delete the stored file %s", name)


def attachment_files_delete_on_commit(names: list[str]) -> None:
    """Delete the files once the rows that named them are gone for good."""
    if names:
        on_commit_robust(files_delete, names)
