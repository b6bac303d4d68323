"""Reads of attachments: who may fetch a file, and the short-lived signed URLs that
fetch it (docs/attachments.md, "Access").

A signed URL names one file, one party and an expiry time, signed with SECRET_KEY
(django.core.signing). The download view checks the signature and the expiry, then
that the party may still read the chat, as the chat sockets do:

- `c`: the chat's customer (the URL was handed over on their token's socket), until
  their token stops opening the chat (PORTAL["CUSTOMER_TOKEN_GRACE_SECONDS"]);
- `u<id>`: that portal user, logged in (the session is checked too), while they are the
  chat's assigned CSR or a CSR manager;
- `b<id>`: that bot client, active, for a chat it escalated (webhook URLs and the
  connector API).
"""

import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core import signing
from django.urls import reverse

from chat.models import Attachment, BotClient, Interaction
from chat.schemas import ChatRole
from chat.selectors.interactions import chat_role_for_user, customer_grace_over

SIGNING_SALT = "chat.attachments.url"
CUSTOMER_PARTY = "c"
# Expiry times are rounded up to this many seconds, so that the URLs of one file for one
# party are the same for a while (replays, browser caches).
EXPIRY_STEP_SECONDS = 300
VARIANTS = ("download", "preview", "thumbnail")


def user_party(user: AbstractBaseUser) -> str:
    return f"u{user.pk}"


def bot_party(client: BotClient) -> str:
    return f"b{client.pk}"


def party_for_role(role: ChatRole | None, user: AbstractBaseUser | None) -> str | None:
    """The party of a chat socket: its customer, or its portal user."""
    if role == ChatRole.CUSTOMER:
        return CUSTOMER_PARTY
    if role in (ChatRole.CSR, ChatRole.OBSERVER) and user is not None:
        return user_party(user)
    return None


def expiry_at(*, seconds: int, now: float | None = None) -> int:
    now = time.time() if now is None else now
    return math.ceil((now + seconds) / EXPIRY_STEP_SECONDS) * EXPIRY_STEP_SECONDS


def signed_token(*, attachment_id: int, party: str, expires: int) -> str:
    return signing.dumps({"a": attachment_id, "p": party, "e": expires}, salt=SIGNING_SALT)


@dataclass(frozen=True)
class SignedAccess:
    attachment_id: int
    party: str
    expires: int


class BadLink(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def signed_token_open(token: str, *, now: float | None = None) -> SignedAccess:
    """The access a token grants, or BadLink (forged: `invalid`; too old: `expired`)."""
    try:
        value = signing.loads(token, salt=SIGNING_SALT)
    except signing.BadSignature:
        raise BadLink("invalid", "This file link is not valid.") from None
    if not isinstance(value, dict):
        raise BadLink("invalid", "This file link is not valid.")
    attachment_id, party, expires = value.get("a"), value.get("p"), value.get("e")
    if not isinstance(attachment_id, int) or not isinstance(party, str):
        raise BadLink("invalid", "This file link is not valid.")
    if not isinstance(expires, int) or expires < (time.time() if now is None else now):
        raise BadLink("expired", "This file link has expired: open the chat again for a fresh one.")
    return SignedAccess(attachment_id=attachment_id, party=party, expires=expires)


def attachment_urls(
    summary: dict[str, Any], *, party: str, seconds: int | None = None, expires: int | None = None
) -> dict[str, Any]:
    """A message's file (its stored summary) with the signed URLs for `party`: `url`
    downloads it, `preview_url` (images and PDF) shows it in a sandboxed page,
    `thumbnail_url` (images) its thumbnail. Relative to the portal."""
    if expires is None:
        expires = expiry_at(seconds=seconds or settings.PORTAL["ATTACHMENT_URL_SECONDS"])
    token = signed_token(attachment_id=summary["id"], party=party, expires=expires)
    out = dict(summary)
    out["url"] = reverse("attachments:signed", args=[token, "download"])
    inline = summary.get("image") or summary.get("content_type") == "application/pdf"
    out["preview_url"] = reverse("attachments:signed", args=[token, "preview"]) if inline else None
    out["thumbnail_url"] = (
        reverse("attachments:signed", args=[token, "thumbnail"]) if summary.get("image") else None
    )
    out["expires_at"] = expires
    return out


def absolute(urls: dict[str, Any], *, base: str) -> dict[str, Any]:
    """The same file with its URLs made absolute under `base` (scheme and host)."""
    base = base.rstrip("/")
    for key in ("url", "preview_url", "thumbnail_url"):
        if urls.get(key):
            urls[key] = base + urls[key]
    return urls


def public_base_url() -> str:
    """PORTAL["PUBLIC_BASE_URL"] as an http(s) origin and path ("" when unset)."""
    base = settings.PORTAL["PUBLIC_BASE_URL"].rstrip("/")
    for socket_scheme, web_scheme in (("wss://", "https://"), ("ws://", "http://")):
        if base.startswith(socket_scheme):
            return web_scheme + base.removeprefix(socket_scheme)
    return base


def message_attachments(data: Any) -> list[dict[str, Any]]:
    """The file summaries a message's data carries (chat.services.attachments)."""
    if not isinstance(data, dict):
        return []
    entries = data.get("attachments")
    if not isinstance(entries, list):
        return []
    return [
        entry for entry in entries if isinstance(entry, dict) and isinstance(entry.get("id"), int)
    ]


def attachment_get(attachment_id: int) -> Attachment | None:
    return (
        Attachment.objects.select_related("interaction", "message").filter(pk=attachment_id).first()
    )


def party_may_read(
    *,
    attachment: Attachment,
    party: str,
    user: AbstractBaseUser | AnonymousUser | None = None,
) -> bool:
    """Whether `party` may fetch this file now (see the module docstring). A file not
    yet sent in a message is its uploader's only."""
    interaction: Interaction = attachment.interaction
    message = attachment.message
    if message is not None and message.internal and party == CUSTOMER_PARTY:
        return False
    if party == CUSTOMER_PARTY:
        if message is None and attachment.sender_kind != "customer":
            return False
        return not customer_grace_over(interaction=interaction)
    if party.startswith("u") and party[1:].isdigit():
        if user is None or not user.is_authenticated or str(user.pk) != party[1:]:
            return False
        if message is None:
            return attachment.uploaded_by_id == user.pk
        return chat_role_for_user(interaction=interaction, user=user) is not None
    if party.startswith("b") and party[1:].isdigit():
        if message is None:
            return False
        return (
            interaction.bot_client_id == int(party[1:])
            and BotClient.objects.filter(pk=interaction.bot_client_id, active=True).exists()
        )
    return False
