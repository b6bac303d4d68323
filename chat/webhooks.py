"""Signed outbound webhooks: CSR and system messages POSTed to the channel's connector.

The contract is docs/webhooks.md. One WebhookDelivery row per message, written in the
message's own transaction; a Celery task (chat.tasks.webhook_deliver) makes one attempt
at a time and these services decide everything else:

- Idempotent: only a pending delivery is attempted, and an attempt first takes a lease
  (`next_attempt_at` moves past the attempt's longest possible duration), so duplicated
  or concurrent tasks never POST a delivery twice at once, and never again once it is
  delivered.
- Retries: a failed attempt (connection error, timeout, non-2xx, redirect) is retried
  after 2, 4, 8 … seconds (capped at BACKOFF_CAP_SECONDS, with ±20 % jitter), up to
  MAX_ATTEMPTS attempts; then the delivery is failed.
- Ordering: a delivery waits while an earlier delivery of the same interaction is
  pending; finishing one (delivered or failed) queues the next.
- Safety net: deliveries_requeue_overdue(), run by beat, re-queues pending deliveries
  whose task was lost (broker hiccup, killed worker).
"""

import hashlib
import hmac
import http.client
import json
import logging
import random
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal, NotRequired, TypedDict
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from chat.events import csat_request_payload
from chat.locks import webhook_deliveries_for_update
from chat.models import Channel, Interaction, Message, SenderKind, SystemEvent, WebhookDelivery
from chat.selectors.attachments import (
    absolute,
    attachment_urls,
    message_attachments,
    public_base_url,
)
from config.memo import memo_for
from config.oncommit import on_commit_robust
from config.tasks import task_enqueue

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status

EVENT_MESSAGE_CREATED: Final = "message.created"
# The `csat_requested` system message: ask the customer to rate the chat.
EVENT_SATISFACTION_REQUESTED: Final = "satisfaction.requested"
SIGNATURE_HEADER = "X-Portal-Signature"
TIMESTAMP_HEADER = "X-Portal-Timestamp"
DELIVERY_HEADER = "X-Portal-Delivery"
USER_AGENT = "CSR-Interaction-Portal-Webhooks/1"

# Who is told: the connector sent the customer's messages and the bot transcript itself.
SENT_SENDER_KINDS = frozenset({SenderKind.CSR, SenderKind.SYSTEM})

# Operators set these through the environment (PORTAL["WEBHOOK_*"], read once at start).
TIMEOUT_SECONDS = float(settings.PORTAL["WEBHOOK_TIMEOUT_SECONDS"])
MAX_ATTEMPTS = settings.PORTAL["WEBHOOK_MAX_ATTEMPTS"]
BACKOFF_BASE_SECONDS = float(settings.PORTAL["WEBHOOK_BACKOFF_BASE_SECONDS"])
BACKOFF_CAP_SECONDS = float(settings.PORTAL["WEBHOOK_BACKOFF_CAP_SECONDS"])
BACKOFF_JITTER = 0.2
# An attempt's lease outlasts the longest attempt (connect and read timeouts) by this much.
LEASE_MARGIN_SECONDS = 25.0
# A task may run a little before the moment it was queued for (clocks of two hosts).
CLOCK_TOLERANCE = timedelta(seconds=1)
# A pending delivery still not attempted this long after it was due lost its task.
OVERDUE_GRACE = timedelta(seconds=60)
REQUEUE_BATCH = 500
# How much of a refusing endpoint's answer is kept in last_error.
ERROR_BODY_CHARS = 200


class WebhookCustomer(TypedDict):
    external_id: str


class WebhookMessage(TypedDict):
    seq: int
    sender_kind: str
    author_name: str
    text: str
    event: str
    # The CSR's files, with download URLs signed for the channel's bot client, valid
    # PORTAL["ATTACHMENT_WEBHOOK_URL_SECONDS"] after the message (docs/attachments.md).
    attachments: list[dict[str, Any]]
    created_at: str
    # A shared article or a pushed page (events article_shared, page_pushed): its title
    # and address, for connectors that show links (docs/webhooks.md).
    link: NotRequired[dict[str, str]]


class WebhookSatisfaction(TypedDict):
    question: str
    choices: list[dict[str, Any]]
    comment_max_chars: int
    closes_at: str
    answer_url: str


class WebhookPayload(TypedDict):
    event: Literal["message.created", "satisfaction.requested"]
    interaction_id: int
    channel: str
    customer: WebhookCustomer
    message: WebhookMessage
    delivery_id: str
    # satisfaction.requested only: what to ask, and where to POST the answer.
    satisfaction: NotRequired[WebhookSatisfaction]


# --- Payload and signature ----------------------------------------------------------------


def delivery_payload(*, delivery: WebhookDelivery) -> WebhookPayload:
    """The JSON body of a delivery: the same on every attempt."""
    interaction = delivery.interaction
    message = delivery.message
    payload: WebhookPayload = {
        "event": EVENT_MESSAGE_CREATED,
        "interaction_id": interaction.pk,
        "channel": interaction.channel.slug,
        "customer": {"external_id": interaction.customer.external_id},
        "message": {
            "seq": message.seq,
            "sender_kind": message.sender_kind,
            "author_name": message.author_name,
            "text": message.text,
            "event": message.event,
            "attachments": webhook_attachments(message),
            "created_at": message.created_at.isoformat(),
        },
        "delivery_id": str(delivery.delivery_id),
    }
    link = webhook_link(message)
    if link is not None:
        payload["message"]["link"] = link
    if message.event == SystemEvent.CSAT_REQUESTED:
        payload["event"] = EVENT_SATISFACTION_REQUESTED
        payload["satisfaction"] = webhook_satisfaction(interaction)
    return payload


def webhook_satisfaction(interaction: Interaction) -> WebhookSatisfaction:
    """The survey as a connector asks it: the question, the choices and the answer's URL."""
    request = csat_request_payload(rating=interaction.satisfaction)
    path = reverse("api:escalation-satisfaction", args=[interaction.pk])
    return {
        "question": request["question"],
        "choices": [dict(choice) for choice in request["choices"]],
        "comment_max_chars": request["comment_max_chars"],
        "closes_at": request["closes_at"],
        "answer_url": public_base_url() + path,
    }


def webhook_link(message: Message) -> dict[str, str] | None:
    """The title and address of a shared article or a pushed page, else None."""
    if message.event not in (SystemEvent.ARTICLE_SHARED, SystemEvent.PAGE_PUSHED):
        return None
    data = message.data or {}
    url = str(data.get("url", ""))
    title = str(data.get("title") or data.get("note") or url)
    return {"title": title, "url": url}


def webhook_attachments(message: Message) -> list[dict[str, Any]]:
    """The message's files with URLs signed for the bot client that escalated the chat.
    The expiry counts from the message, so every attempt sends the same body."""
    files = message_attachments(message.data)
    client_id = message.interaction.bot_client_id
    if not files or client_id is None:
        return []
    expires = int(message.created_at.timestamp()) + int(
        settings.PORTAL["ATTACHMENT_WEBHOOK_URL_SECONDS"]
    )
    base = public_base_url()
    return [
        absolute(attachment_urls(f, party=f"b{client_id}", expires=expires), base=base)
        for f in files
    ]


def payload_body(payload: WebhookPayload) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 with the channel's secret over `<timestamp>.<body>`."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signed_headers(*, secret: str, body: bytes, delivery_id: str, now: float) -> dict[str, str]:
    timestamp = str(int(now))
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature(secret=secret, timestamp=timestamp, body=body),
        TIMESTAMP_HEADER: timestamp,
        DELIVERY_HEADER: delivery_id,
    }


def backoff_seconds(*, attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): 2, 4, 8 … capped
    at BACKOFF_CAP_SECONDS, each moved by up to ±BACKOFF_JITTER so that deliveries that
    failed together do not all come back at the same second."""
    base = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    jitter = (rng or random).uniform(-BACKOFF_JITTER, BACKOFF_JITTER)
    return max(0.0, min(BACKOFF_CAP_SECONDS, base * (1 + jitter)))


def _refusal(channel: Channel) -> str:
    """Why a delivery to this channel must not be attempted; empty when it may."""
    if not channel.webhook_url:
        return f"Channel '{channel.slug}' no longer has a webhook URL; the message was not sent."
    if urlsplit(channel.webhook_url).scheme not in ("http", "https"):
        return (
            f"The webhook URL of channel '{channel.slug}' must start with https:// or "
            "http://; it was not called."
        )
    if not channel.webhook_secret:
        return (
            f"Channel '{channel.slug}' has no webhook secret, so the connector could not "
            "verify the message: it was not sent. Set the channel's webhook secret in the "
            "admin, then use “Retry now”."
        )
    return ""


# --- Scheduling ---------------------------------------------------------------------------

# How long each process keeps a channel's webhook settings (config/memo.py).
CHANNEL_SETTINGS_SECONDS = 1.0


@memo_for(CHANNEL_SETTINGS_SECONDS)
def channel_webhook_settings(channel_id: int) -> Channel:
    """The channel's webhook settings (slug, URL, secret), read for every CSR and system
    message: a change reaches every process within CHANNEL_SETTINGS_SECONDS."""
    return Channel.objects.only("slug", "webhook_url", "webhook_secret").get(pk=channel_id)


def delivery_schedule(*, message: Message) -> WebhookDelivery | None:
    """Record the webhook a new message is due, in the message's transaction, and queue
    its first attempt after commit. Only CSR and system messages after the escalation,
    on a channel with a webhook URL, are due; on a channel without a secret the delivery
    is recorded as failed at once, with the reason, and nothing is sent. None when no
    webhook is due (no query at all for customer and bot messages)."""
    if message.sender_kind not in SENT_SENDER_KINDS or message.pre_escalation:
        return None
    if message.internal:
        return None  # for the contact center only: never leaves it
    channel = channel_webhook_settings(message.interaction.channel_id)
    if not channel.webhook_url:
        return None
    reason = _refusal(channel)
    delivery = WebhookDelivery.objects.create(
        interaction_id=message.interaction_id,
        message=message,
        seq=message.seq,
        status=Status.FAILED if reason else Status.PENDING,
        last_error=reason,
        next_attempt_at=None if reason else timezone.now(),
    )
    if reason:
        logger.warning("Webhook for message %s not sent: %s", message.pk, reason)
    else:
        _queue_on_commit(delivery.pk)
    return delivery


def _queue(delivery_id: int, *, at: datetime | None = None) -> None:
    countdown = max(0.0, (at - timezone.now()).total_seconds()) if at is not None else 0.0
    task_enqueue("chat.tasks.webhook_deliver", delivery_id, countdown=countdown)


def _queue_on_commit(delivery_id: int, *, at: datetime | None = None) -> None:
    # robust: the delivery row is committed whatever the broker does; a lost task is
    # picked up again by deliveries_requeue_overdue().
    on_commit_robust(_queue, delivery_id, at=at)


# --- Attempts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claim:
    url: str
    headers: dict[str, str]
    body: bytes
    attempt: int


@dataclass(frozen=True)
class PostOutcome:
    ok: bool
    status_code: int | None
    error: str


def delivery_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """One attempt at a delivery, if it is pending, due and first in line.

    Returns the delivery after a POST, None when nothing was sent (unknown, already
    delivered or failed, not due, an attempt in progress, waiting for an earlier
    delivery, or refused)."""
    claim = _delivery_claim(delivery_id=delivery_id)
    if claim is None:
        return None
    outcome = post(url=claim.url, headers=claim.headers, body=claim.body)
    return _delivery_record(delivery_id=delivery_id, attempt=claim.attempt, outcome=outcome)


def _delivery_claim(*, delivery_id: int) -> _Claim | None:
    """In a short transaction: check the delivery may be attempted now, count the attempt
    and take the lease. The POST happens after the commit, outside any transaction."""
    with transaction.atomic():
        delivery = (
            webhook_deliveries_for_update()
            .select_related("interaction__channel", "interaction__customer", "message")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != Status.PENDING:
            return None
        now = timezone.now()
        if (
            delivery.next_attempt_at is not None
            and delivery.next_attempt_at > now + CLOCK_TOLERANCE
        ):
            return None  # another attempt holds the lease, or a retry is queued for later
        if _earlier_pending(delivery).exists():
            return None  # queued again when the earlier one is delivered or failed
        channel = delivery.interaction.channel
        reason = _refusal(channel)
        if reason:
            _finish(delivery, status=Status.FAILED, status_code=None, error=reason, now=now)
            logger.warning("Webhook delivery %s not sent: %s", delivery.pk, reason)
            return None
        delivery.attempts += 1
        delivery.next_attempt_at = now + timedelta(seconds=TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS)
        delivery.save(update_fields=["attempts", "next_attempt_at", "updated_at"])
        body = payload_body(delivery_payload(delivery=delivery))
        headers = signed_headers(
            secret=channel.webhook_secret,
            body=body,
            delivery_id=str(delivery.delivery_id),
            now=time.time(),
        )
        return _Claim(
            url=channel.webhook_url, headers=headers, body=body, attempt=delivery.attempts
        )


def _delivery_record(*, delivery_id: int, attempt: int, outcome: PostOutcome) -> WebhookDelivery:
    """Write an attempt's outcome: delivered; or failed after the last attempt; or a
    retry after the backoff."""
    with transaction.atomic():
        delivery = webhook_deliveries_for_update().get(pk=delivery_id)
        if delivery.status != Status.PENDING or delivery.attempts != attempt:
            # The lease ran out and another attempt took over: that one records.
            logger.warning(
                "Webhook delivery %s: attempt %s outlived its lease", delivery_id, attempt
            )
            return delivery
        now = timezone.now()
        if outcome.ok:
            _finish(delivery, status=Status.DELIVERED, status_code=outcome.status_code, now=now)
            logger.info("Webhook delivery %s delivered (attempt %s)", delivery_id, attempt)
        elif attempt >= MAX_ATTEMPTS:
            _finish(
                delivery,
                status=Status.FAILED,
                status_code=outcome.status_code,
                error=f"Gave up after {attempt} attempts. Last: {outcome.error}",
                now=now,
            )
            logger.warning("Webhook delivery %s failed: %s", delivery_id, outcome.error)
        else:
            delivery.last_status_code = outcome.status_code
            delivery.last_error = outcome.error
            delivery.next_attempt_at = now + timedelta(seconds=backoff_seconds(attempt=attempt))
            delivery.save(
                update_fields=["last_status_code", "last_error", "next_attempt_at", "updated_at"]
            )
            _queue_on_commit(delivery.pk, at=delivery.next_attempt_at)
            logger.info(
                "Webhook delivery %s attempt %s failed (%s); next at %s",
                delivery_id,
                attempt,
                outcome.error,
                delivery.next_attempt_at.isoformat(),
            )
    return delivery


def _finish(
    delivery: WebhookDelivery,
    *,
    status: str,
    status_code: int | None,
    now: datetime,
    error: str = "",
) -> None:
    """Close a delivery (delivered or failed) and queue the next one of its interaction."""
    delivery.status = status
    delivery.last_status_code = status_code
    delivery.last_error = error
    delivery.next_attempt_at = None
    delivery.delivered_at = now if status == Status.DELIVERED else None
    delivery.save(
        update_fields=[
            "status",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "delivered_at",
            "updated_at",
        ]
    )
    successor = (
        WebhookDelivery.objects.filter(
            interaction_id=delivery.interaction_id, status=Status.PENDING, seq__gt=delivery.seq
        )
        .order_by("seq")
        .values_list("pk", "next_attempt_at")
        .first()
    )
    # One that is not due yet has its own task queued for later.
    if successor is not None and (successor[1] is None or successor[1] <= now + CLOCK_TOLERANCE):
        _queue_on_commit(successor[0])


def _earlier_pending(delivery: WebhookDelivery):
    return WebhookDelivery.objects.filter(
        interaction_id=delivery.interaction_id, status=Status.PENDING, seq__lt=delivery.seq
    )


# --- HTTP ---------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as the 3xx it is: the connector's URL must be the final one."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def post(*, url: str, headers: dict[str, str], body: bytes) -> PostOutcome:
    """POST the body with TIMEOUT_SECONDS for the connection and for each read; 2xx is
    success, anything else (no answer, a redirect, an error status) a failure."""
    if urlsplit(url).scheme not in ("http", "https"):  # never file://, ftp://...
        return PostOutcome(ok=False, status_code=None, error="Only http(s) URLs are called.")
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return PostOutcome(ok=True, status_code=response.status, error="")
    except urllib.error.HTTPError as exc:
        with exc:
            return PostOutcome(ok=False, status_code=exc.code, error=_http_error_text(exc))
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            return _timed_out()
        return PostOutcome(ok=False, status_code=None, error=f"Could not connect: {exc.reason}")
    except TimeoutError:
        return _timed_out()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return PostOutcome(ok=False, status_code=None, error=f"{type(exc).__name__}: {exc}")


def _timed_out() -> PostOutcome:
    return PostOutcome(
        ok=False, status_code=None, error=f"No answer within {TIMEOUT_SECONDS:g} seconds."
    )


def _http_error_text(exc: urllib.error.HTTPError) -> str:
    if 300 <= exc.code < 400:
        location = exc.headers.get("Location", "") if exc.headers else ""
        return (
            f"HTTP {exc.code} redirect to {location or 'nowhere'}: redirects are not "
            "followed; set the final URL on the channel."
        )
    try:
        answer = exc.read(ERROR_BODY_CHARS).decode("utf-8", "replace").strip()
    except (OSError, http.client.HTTPException):
        answer = ""
    text = f"HTTP {exc.code} {exc.reason}".strip()
    return f"{text}: {answer}" if answer else text


# --- Administration and the safety net ----------------------------------------------------


def deliveries_retry_failed(*, delivery_ids: Iterable[int]) -> int:
    """Give failed deliveries a new round of attempts, now ("Retry now" in the admin).
    Other deliveries are left alone. Returns how many were re-queued."""
    with transaction.atomic():
        failed = list(
            webhook_deliveries_for_update()
            .filter(pk__in=list(delivery_ids), status=Status.FAILED)
            .order_by("interaction_id", "seq")
        )
        now = timezone.now()
        for delivery in failed:
            delivery.status = Status.PENDING
            delivery.attempts = 0
            delivery.next_attempt_at = now
            delivery.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
            _queue_on_commit(delivery.pk)
    return len(failed)


def deliveries_requeue_overdue(*, limit: int = REQUEUE_BATCH) -> int:
    """Queue an attempt for every pending delivery that should have been attempted more
    than OVERDUE_GRACE ago and is first in line in its interaction (the others follow
    it). Run it periodically: it recovers tasks lost with a broker or a killed worker.
    Returns how many were queued."""
    due_before = timezone.now() - OVERDUE_GRACE
    earlier = WebhookDelivery.objects.filter(
        interaction_id=OuterRef("interaction_id"), status=Status.PENDING, seq__lt=OuterRef("seq")
    )
    overdue = list(
        WebhookDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=due_before)
        .filter(~Exists(earlier))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for delivery_id in overdue:
        _queue(delivery_id)
    if overdue:
        logger.warning("Re-queued %d overdue webhook deliveries", len(overdue))
    return len(overdue)
