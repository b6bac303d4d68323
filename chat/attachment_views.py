"""Attachment uploads and downloads over HTTP (docs/attachments.md).

- POST /attachments/chats/<interaction id>/ — one file (multipart, field `file`, and
  `upload_key`, the uploader's id for it). The customer's widget authenticates with its
  customer token (`Authorization: Customer <token>`), the CSR's panel with the session
  (and the CSRF header). The body is streamed to a temporary file by
  chat.services.attachments.AttachmentUploadHandler; the answer names the stored file.
- GET /attachments/s/<signed token>/<download|preview|thumbnail>/ — a signed URL
  (chat.selectors.attachments): the file as an attachment, an image or PDF in a
  sandboxed inline preview, or an image's thumbnail.
- GET /attachments/<id>/ — a stable link (in JSON transcripts) for a logged-in portal
  user or a bot client's token: redirects to a fresh signed download URL.
"""

import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.uploadhandler import StopUpload
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.http.response import HttpResponseBase
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.http import content_disposition_header, is_same_domain
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from chat.api.authentication import BotTokenAuthentication
from chat.errors import ChatError
from chat.models import SenderKind
from chat.selectors import attachments as selectors
from chat.selectors.interactions import chat_interaction_get, customer_token_valid
from chat.services import attachments as services
from config.ratelimit import SharedLimit
from config.sockets import db_id_valid

logger = logging.getLogger(__name__)

CUSTOMER_AUTH_KEYWORD = "customer"
# Room for the multipart framing and the other fields around the file.
MULTIPART_SLACK_BYTES = 64 * 1024
# Uploads per chat party, across processes (each one is checked, re-encoded, scanned).
UPLOAD_BURST = 30
UPLOAD_WINDOW_SECONDS = 60
# A preview is a document of its own: no script, no plugin, nothing but itself.
PREVIEW_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
# Error code → HTTP status (others: 400).
STATUS = {
    "not_party": 403,
    "not_found": 404,
    "chat_ended": 409,
    "attachments_off": 403,
    "too_large": 413,
    "image_too_large": 413,
    "type_not_allowed": 415,
    "scanner_unavailable": 503,
    "blocked": 422,
    "rate_limited": 429,
}


def _error(code: str, message: str, status: int | None = None, **extra: Any) -> JsonResponse:
    response = JsonResponse(
        {"code": code, "message": message, "errors": [], **extra},
        status=status or STATUS.get(code, 400),
    )
    response["Cache-Control"] = "no-store"
    return response


def _customer_token(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    keyword, _, token = header.partition(" ")
    if keyword.lower() == CUSTOMER_AUTH_KEYWORD and token.strip():
        return token.strip()
    return None


def cors_origin(request: HttpRequest) -> str | None:
    """The request's Origin when it is one of CSRF_TRUSTED_ORIGINS (`https://*.example.com`
    admits the subdomains, as for CSRF): a host site whose widget may upload from the
    browser (docs/attachments.md#for-host-site-owners). None otherwise."""
    origin = request.META.get("HTTP_ORIGIN", "")
    if not origin:
        return None
    parts = urlsplit(origin)
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        if "*" not in trusted:
            if origin == trusted:
                return origin
            continue
        pattern = urlsplit(trusted)
        if parts.scheme == pattern.scheme and is_same_domain(
            parts.netloc, pattern.netloc.removeprefix("*")
        ):
            return origin
    return None


def _with_cors(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Customer uploads from a trusted host site's page: the browser may read the answer.
    Never with credentials: the customer token is the credential."""
    origin = cors_origin(request)
    if origin is not None:
        response["Access-Control-Allow-Origin"] = origin
        response["Vary"] = "Origin"
    return response


@csrf_exempt  # checked below for session uploads, once the upload handler is in place
@never_cache
@require_http_methods(["POST", "OPTIONS"])
def attachment_upload(request: HttpRequest, interaction_id: int) -> HttpResponse:
    """Store one file for a chat; see the module docstring. OPTIONS: the CORS preflight
    of a customer's upload from a trusted host site."""
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        if cors_origin(request) is not None:
            response["Access-Control-Allow-Methods"] = "POST"
            response["Access-Control-Allow-Headers"] = "Authorization, X-File-Name"
            response["Access-Control-Max-Age"] = "600"
        return _with_cors(request, response)
    return _with_cors(request, _upload(request, interaction_id))


def _upload(request: HttpRequest, interaction_id: int) -> HttpResponse:
    token = _customer_token(request)
    user = getattr(request, "user", None)
    if token is None and (user is None or not user.is_authenticated):
        return _error(
            "not_authenticated",
            "Log in, or send the chat's customer token (Authorization: Customer <token>).",
            401,
        )
    interaction = (
        chat_interaction_get(interaction_id=interaction_id) if db_id_valid(interaction_id) else None
    )
    if token is not None:
        if interaction is None or not customer_token_valid(
            interaction_id=interaction_id, token=token
        ):
            return _error("not_party", "This chat link is not valid.", 403)
        sender_kind, uploader, party = SenderKind.CUSTOMER, None, "customer"
    else:
        if interaction is None:
            return _error("not_found", "This chat does not exist.")
        sender_kind, uploader, party = SenderKind.CSR, user, f"user{user.pk}"  # type: ignore[union-attr]
    try:
        services.uploader_check(interaction=interaction, sender_kind=sender_kind, user=uploader)
        policy = services.attachment_policy(interaction=interaction)
        if not policy.enabled:
            raise ChatError("attachments_off", policy.reason)
    except ChatError as error:
        return _error(error.code, error.message)
    declared = request.META.get("CONTENT_LENGTH") or ""
    if not declared.isdigit():
        return _error("length_required", "Send the file with a Content-Length.", 411)
    if int(declared) > policy.max_file_bytes + MULTIPART_SLACK_BYTES:
        return _file_too_large(request.META.get("HTTP_X_FILE_NAME", ""), policy.max_file_bytes)
    limit = SharedLimit(
        f"upload:{interaction.pk}:{party}",
        events=UPLOAD_BURST,
        window_seconds=UPLOAD_WINDOW_SECONDS,
        what="uploads",
    )
    if wait := limit.take():
        response = _error(
            "rate_limited",
            f"Too many files at once: wait {wait} seconds and try again.",
            retry_after=wait,
        )
        response["Retry-After"] = str(wait)
        return response
    handler = services.AttachmentUploadHandler(request, max_bytes=policy.max_file_bytes)
    request.upload_handlers = [handler]
    try:
        if token is None:
            refused = CsrfViewMiddleware(lambda r: HttpResponse()).process_view(
                request, _csrf_checked_view, (), {}
            )
            if refused is not None:
                return refused
        upload = request.FILES.get("file")
        upload_key = request.POST.get("upload_key", "")
    except StopUpload:
        return _error("bad_upload", "The upload was cut short: try again.")
    if handler.too_large:
        return _file_too_large(handler.too_large[0], policy.max_file_bytes)
    if upload is None:
        return _error("no_file", "Send the file as multipart/form-data in the field `file`.")
    try:
        result = services.attachment_upload(
            interaction=interaction,
            sender_kind=sender_kind,
            upload=upload,
            upload_key=upload_key,
            user=uploader,
        )
    except ChatError as error:
        return _error(error.code, error.message)
    finally:
        upload.close()
    summary = services.attachment_summary(result.attachment)
    signed_for = (
        selectors.CUSTOMER_PARTY if token is not None else selectors.user_party(user)  # type: ignore[arg-type]
    )
    body = {
        "attachment": selectors.attachment_urls(summary, party=signed_for),
        "duplicate": not result.created,
    }
    response = JsonResponse(body, status=201 if result.created else 200)
    response["Cache-Control"] = "no-store"
    return response


def _csrf_checked_view(request: HttpRequest) -> HttpResponse:
    """Stands for the upload view in the CSRF check (which skips a csrf_exempt view)."""
    raise NotImplementedError


def _file_too_large(name: str, limit: int) -> JsonResponse:
    name = services.clean_name(name) if name else "This file"
    return _error(
        "too_large",
        f"{name}: this file is too large (at most {services.size_label(limit)}).",
    )


@require_GET
def attachment_signed(request: HttpRequest, token: str, variant: str) -> HttpResponseBase:
    """A file through its signed URL (module docstring)."""
    if variant not in selectors.VARIANTS:
        return _error("not_found", "There is no such file view.", 404)
    try:
        access = selectors.signed_token_open(token)
    except selectors.BadLink as problem:
        return _error(problem.code, problem.message, 410 if problem.code == "expired" else 403)
    attachment = selectors.attachment_get(access.attachment_id)
    if attachment is None:
        return _error("not_found", "This file no longer exists.", 404)
    if not selectors.party_may_read(
        attachment=attachment, party=access.party, user=getattr(request, "user", None)
    ):
        return _error("forbidden", "You may not open this file.", 403)
    inline = variant != "download"
    if variant == "thumbnail":
        if not attachment.thumbnail:
            return _error("not_found", "This file has no thumbnail.", 404)
        field, content_type = attachment.thumbnail, _thumbnail_type(attachment.thumbnail.name or "")
    else:
        if variant == "preview" and attachment.content_type not in services.INLINE_TYPES:
            return _error("not_found", "This file has no preview: download it.", 404)
        field, content_type = attachment.file, attachment.content_type
    try:
        stream = field.open("rb")
    except OSError:
        logger.exception("Stored file of attachment %s is missing", attachment.pk)
        return _error("not_found", "This file is missing from storage.", 404)
    response = FileResponse(stream, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=not inline, filename=attachment.name
    ) or ("inline" if inline else "attachment")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=300"
    if inline:
        response["Content-Security-Policy"] = PREVIEW_CSP
        response["Cross-Origin-Resource-Policy"] = "same-origin"
    else:
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


def _thumbnail_type(name: str) -> str:
    return "image/png" if name.endswith(".png") else "image/jpeg"


@never_cache
@require_GET
def attachment_link(request: HttpRequest, pk: int) -> HttpResponse:
    """The stable link: a portal user's session or a bot's token → a fresh signed URL."""
    attachment = selectors.attachment_get(pk) if db_id_valid(pk) else None
    user = getattr(request, "user", None)
    party = None
    if request.META.get("HTTP_AUTHORIZATION", "").lower().startswith("bearer "):
        try:
            authenticated = BotTokenAuthentication().authenticate(request)  # type: ignore[arg-type]
        except Exception:
            authenticated = None
        if authenticated is None or not authenticated[0].active:
            return _error("not_authenticated", "Invalid bot token.", 401)
        party = selectors.bot_party(authenticated[0])
    elif user is not None and user.is_authenticated:
        party = selectors.user_party(user)
    if party is None:
        return _error("not_authenticated", "Log in to open this file.", 401)
    if (
        attachment is None
        or attachment.message is None
        or not selectors.party_may_read(attachment=attachment, party=party, user=user)
    ):
        return _error("not_found", "There is no such file, or you may not open it.", 404)
    urls = selectors.attachment_urls(services.attachment_summary(attachment), party=party)
    # ?view=preview|thumbnail: that view, when the file has it (server-rendered pages).
    view = {"preview": "preview_url", "thumbnail": "thumbnail_url"}.get(request.GET.get("view", ""))
    return HttpResponseRedirect((view and urls.get(view)) or urls["url"])
