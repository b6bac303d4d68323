"""Signed outbound webhooks, delivered to a real HTTP server on 127.0.0.1: what is sent,
the signature (checked with the snippet from docs/webhooks.md), retries, giving up,
ordering, idempotency, the safety net and the admin's "Retry now"."""

import json
import random
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import Message as HeaderMap
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chat import webhooks
from chat.models import (
    Channel,
    ChannelKind,
    Interaction,
    InteractionStatus,
    Message,
    SenderKind,
    SystemEvent,
    WebhookDelivery,
)
from chat.services.interactions import interaction_end
from chat.services.messages import message_create, message_send
from chat.tasks import webhook_deliver
from config.memo import memo_clear
from config.users import Role
from portal.services import roles_sync
from tests.factories import channel_factory, customer_factory, interaction_factory, user_factory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager")]

SECRET = "whsec-test-4f1b9c2d"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
SNIPPET_MARKER = "<!-- verify-snippet -->"
HANG = "hang"
Status = WebhookDelivery.Status


def _docs_snippet() -> dict:
    """The verification code of docs/webhooks.md, run as it is printed there."""
    text = DOCS.read_text()
    code = text.split(SNIPPET_MARKER, 1)[1].split("```python\n", 1)[1].split("\n```", 1)[0]
    namespace: dict = {}
    exec(compile(code, str(DOCS), "exec"), namespace)  # noqa: S102 (our own docs)
    return namespace


verify_portal_webhook = _docs_snippet()["verify_portal_webhook"]


# --- A connector's endpoint ---------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: HeaderMap
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Endpoint:
    """A webhook endpoint on 127.0.0.1: records every request and answers with the next
    planned answer (a status, or HANG: never answer), then with `default`."""

    url: str = ""
    default: int | str = 200
    plan: deque = field(default_factory=deque)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, request: Received) -> int | str:
        with self.lock:
            self.received.append(request)
            return self.plan.popleft() if self.plan else self.default

    @property
    def seqs(self) -> list[int]:
        return [request.json["message"]["seq"] for request in self.received]


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        endpoint: Endpoint = self.server.endpoint  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer = endpoint.take(Received(path=self.path, headers=self.headers, body=body))
        if answer == HANG:
            endpoint.release.wait(30)
            return
        time.sleep(endpoint.delay)
        self.send_response(int(answer))
        if 300 <= int(answer) < 400:
            self.send_header("Location", endpoint.url + "-moved")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args) -> None:  # quiet
        pass


@pytest.fixture
def endpoint():
    """A real HTTP server on a free port of 127.0.0.1, stopped after the test."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    hook = Endpoint(url=f"http://127.0.0.1:{server.server_port}/hook")
    server.endpoint = hook  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield hook
    hook.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def no_backoff(monkeypatch):
    """Retries are due at once, so a test sees the whole round without waiting."""
    monkeypatch.setattr(webhooks, "BACKOFF_BASE_SECONDS", 0.0)


# --- A chat on a connector's channel ------------------------------------------------------


@dataclass
class Chat:
    interaction: Interaction
    channel: Channel
    csr: object

    def csr_says(self, text: str = "I have refunded the second charge.") -> Message:
        return message_send(
            interaction_id=self.interaction.pk,
            sender_kind=SenderKind.CSR,
            text=text,
            client_msg_id=f"csr-{time.monotonic_ns()}",
            user=self.csr,
        ).message

    def customer_says(self, text: str = "Thanks!") -> Message:
        return message_send(
            interaction_id=self.interaction.pk,
            sender_kind=SenderKind.CUSTOMER,
            text=text,
            client_msg_id=f"cus-{time.monotonic_ns()}",
        ).message


def make_chat(
    *,
    url: str,
    secret: str = SECRET,
    kind: str = ChannelKind.WHATSAPP,
    external_id: str = "wa-15550100",
) -> Chat:
    channel = channel_factory(kind=kind, webhook_url=url, webhook_secret=secret)
    csr = user_factory(role=Role.CSR, first_name="Alex", last_name="Morgan")
    interaction = interaction_factory(
        channel=channel,
        status=InteractionStatus.ACTIVE,
        assigned_csr=csr,
        customer=customer_factory(external_id=external_id, name="Dana Reyes"),
    )
    return Chat(interaction=interaction, channel=channel, csr=csr)


@pytest.fixture
def chat(endpoint) -> Chat:
    """An active chat on a WhatsApp channel whose webhook is `endpoint`."""
    return make_chat(url=endpoint.url)


# --- What is sent, and the signature ------------------------------------------------------


def test_csr_message_is_posted_signed_once_committed(
    chat, endpoint, django_capture_on_commit_callbacks
):
    """A CSR's message is POSTed after commit as the documented JSON, signed so that the
    docs' snippet verifies it; the delivery is recorded as delivered."""
    with django_capture_on_commit_callbacks(execute=True):
        message = chat.csr_says()
        assert endpoint.received == []  # nothing before the commit

    [request] = endpoint.received
    delivery = WebhookDelivery.objects.get()
    assert request.path == "/hook"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Portal-Delivery"] == str(delivery.delivery_id)
    assert request.json == {
        "event": "message.created",
        "interaction_id": chat.interaction.pk,
        "channel": chat.channel.slug,
        "customer": {"external_id": "wa-15550100"},
        "message": {
            "seq": message.seq,
            "sender_kind": "csr",
            "author_name": "Alex Morgan",
            "text": "I have refunded the second charge.",
            "event": "",
            "attachments": [],
            "created_at": message.created_at.isoformat(),
        },
        "delivery_id": str(delivery.delivery_id),
    }
    assert abs(time.time() - int(request.headers["X-Portal-Timestamp"])) < 60
    assert request.headers["X-Portal-Signature"].startswith("sha256=")
    assert verify_portal_webhook(request.body, request.headers, SECRET)

    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        Status.DELIVERED,
        1,
        200,
    )
    assert (delivery.message, delivery.seq, delivery.interaction) == (
        message,
        message.seq,
        chat.interaction,
    )
    assert delivery.delivered_at is not None
    assert delivery.next_attempt_at is None
    assert delivery.last_error == ""


def test_signature_fails_for_a_wrong_secret_a_changed_body_or_an_old_timestamp(
    chat, endpoint, django_capture_on_commit_callbacks
):
    """The snippet refuses another secret, a body changed by one byte, a timestamp
    changed without re-signing, and a correctly signed body that is too old (a replay)."""
    with django_capture_on_commit_callbacks(execute=True):
        chat.csr_says("Ünïcode stays as it is ✓")
    [request] = endpoint.received
    body, headers = request.body, dict(request.headers.items())
    assert "Ünïcode stays as it is ✓".encode() in body  # raw UTF-8, not \\u escapes

    assert verify_portal_webhook(body, headers, SECRET)
    assert not verify_portal_webhook(body, headers, SECRET + "x")
    assert not verify_portal_webhook(body.replace(b"refunded", b"refunder") + b" ", headers, SECRET)
    moved = {**headers, "X-Portal-Timestamp": str(int(headers["X-Portal-Timestamp"]) + 1)}
    assert not verify_portal_webhook(body, moved, SECRET)
    assert not verify_portal_webhook(body, {}, SECRET)

    old = str(int(time.time()) - 600)
    replayed = {
        **headers,
        "X-Portal-Timestamp": old,
        "X-Portal-Signature": webhooks.signature(secret=SECRET, timestamp=old, body=body),
    }
    assert not verify_portal_webhook(body, replayed, SECRET)
    fresh = str(int(time.time()))
    resigned = {
        **headers,
        "X-Portal-Timestamp": fresh,
        "X-Portal-Signature": webhooks.signature(secret=SECRET, timestamp=fresh, body=body),
    }
    assert verify_portal_webhook(body, resigned, SECRET)


def test_customer_bot_and_transcript_messages_are_not_sent(
    chat, endpoint, django_capture_on_commit_callbacks
):
    """The connector sent the customer's messages and the bot transcript itself: they
    are neither POSTed nor recorded."""
    with django_capture_on_commit_callbacks(execute=True):
        chat.customer_says()
        message_create(interaction=chat.interaction, sender_kind=SenderKind.BOT, text="Hi")

    assert endpoint.received == []
    assert not WebhookDelivery.objects.exists()


def test_escalation_transcript_is_not_sent_but_an_abandon_is(
    endpoint, bot_factory, escalation_body, django_capture_on_commit_callbacks
):
    """Through the API: the escalation's transcript is not sent; when the customer then
    leaves, the system message is."""
    channel = channel_factory(kind=ChannelKind.SMS, webhook_url=endpoint.url, webhook_secret=SECRET)
    bot = bot_factory(channel=channel)
    with django_capture_on_commit_callbacks(execute=True):
        response = bot.escalate(escalation_body(channel=channel.slug))
    assert response.status_code == 201, response.content
    assert endpoint.received == []

    with django_capture_on_commit_callbacks(execute=True):
        ended = bot.api.post(f"/api/v1/escalations/{response.json()['id']}/end/")
    assert ended.status_code == 200

    [request] = endpoint.received
    assert request.json["message"]["sender_kind"] == "system"
    assert request.json["message"]["event"] == SystemEvent.ABANDONED
    assert request.json["message"]["seq"] == 5
    assert verify_portal_webhook(request.body, request.headers, SECRET)


def test_system_messages_are_sent(chat, endpoint, django_capture_on_commit_callbacks):
    """A system message (here the CSR ending the chat) is sent, with its event; the
    satisfaction survey follows it (docs/webhooks.md)."""
    with django_capture_on_commit_callbacks(execute=True):
        interaction_end(interaction_id=chat.interaction.pk, by=SenderKind.CSR, user=chat.csr)

    request, survey = endpoint.received
    assert survey.json["event"] == "satisfaction.requested"
    assert request.json["message"]["sender_kind"] == "system"
    assert request.json["message"]["event"] == SystemEvent.ENDED
    assert request.json["message"]["text"] == "Alex Morgan ended the chat"
    assert request.json["message"]["author_name"] == ""


def test_a_private_channel_with_a_webhook_url_gets_them_too(
    endpoint, django_capture_on_commit_callbacks
):
    """The webhook URL decides, not the kind of channel: a web messaging channel with a
    URL has its CSR messages POSTed as well."""
    chat = make_chat(url=endpoint.url, kind=ChannelKind.WEB_MESSAGING)
    with django_capture_on_commit_callbacks(execute=True):
        chat.csr_says()
    assert len(endpoint.received) == 1


def test_a_channel_without_a_webhook_url_records_nothing(django_capture_on_commit_callbacks):
    chat = make_chat(url="", secret="")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        chat.csr_says()
    assert not WebhookDelivery.objects.exists()
    assert len(callbacks) == 1  # only the live event


def test_without_a_secret_nothing_is_sent_and_the_delivery_fails_with_the_reason(
    endpoint, django_capture_on_commit_callbacks
):
    """A channel with a URL but no secret: the delivery is recorded as failed at once,
    saying why, and the endpoint is never called."""
    chat = make_chat(url=endpoint.url, secret="")
    with django_capture_on_commit_callbacks(execute=True):
        chat.csr_says()

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Status.FAILED
    assert delivery.attempts == 0
    assert "has no webhook secret" in delivery.last_error
    assert "Retry now" in delivery.last_error
    assert endpoint.received == []


def test_a_url_removed_before_the_attempt_fails_the_delivery(
    chat, endpoint, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        chat.csr_says()
    Channel.objects.filter(pk=chat.channel.pk).update(webhook_url="")

    with django_capture_on_commit_callbacks(execute=True):
        webhook_deliver(WebhookDelivery.objects.get().pk)

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Status.FAILED
    assert "no longer has a webhook URL" in delivery.last_error
    assert endpoint.received == []


# --- Retries ------------------------------------------------------------------------------


def test_a_failed_attempt_is_retried_after_the_backoff(
    chat, endpoint, django_capture_on_commit_callbacks
):
    """Step by step: a 500 leaves the delivery pending with the error and a retry about
    2 s later; a task arriving before then does nothing; once due, the retry is POSTed
    (same body, same delivery id) and the delivery is delivered."""
    endpoint.plan.append(500)
    with django_capture_on_commit_callbacks(execute=False):
        chat.csr_says()
    delivery = WebhookDelivery.objects.get()

    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=False) as retry:
        webhooks.delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        Status.PENDING,
        1,
        500,
    )
    assert delivery.last_error.startswith("HTTP 500")
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert 1.5 <= wait <= 2.5 + 1  # 2 s ± 20 %, and the time the attempt took
    assert len(retry) == 1

    retry[0]()  # the retry's task, run now: before it is due, so it does nothing
    assert len(endpoint.received) == 1

    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(milliseconds=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        webhook_deliver(delivery.pk)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        Status.DELIVERED,
        2,
        200,
    )
    assert delivery.last_error == ""
    first, second = endpoint.received
    assert first.body == second.body
    assert first.headers["X-Portal-Delivery"] == second.headers["X-Portal-Delivery"]
    assert verify_portal_webhook(second.body, second.headers, SECRET)


def test_an_endpoint_failing_then_answering_ends_delivered(
    chat, endpoint, no_backoff, django_capture_on_commit_callbacks
):
    """500, then 200: the queued retry delivers it."""
    endpoint.plan.extend([500, 503])
    with django_capture_on_commit_callbacks(execute=True):
        chat.csr_says()

    delivery = WebhookDelivery.objects.get()
    assert len(endpoint.received) == 3
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        Status.DELIVERED,
        3,
        200,
    )


def test_an_endpoint_that_never_answers_in_time_ends_failed(
    chat, endpoint, no_backoff, monkeypatch, django_capture_on_commit_callbacks
):
    """Every attempt times out: after the last one the delivery is failed, saying why,
    and nothing more is tried."""
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 0.3)
    monkeypatch.setattr(webhooks, "MAX_ATTEMPTS", 3)
    endpoint.default = HANG

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        chat.csr_says()
    elapsed = time.monotonic() - started

    delivery = WebhookDelivery.objects.get()
    assert len(endpoint.received) == 3
    assert elapsed >= 0.9
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        Status.FAILED,
        3,
        None,
    )
    assert delivery.last_error == "Gave up after 3 attempts. Last: No answer within 0.3 seconds."
    assert delivery.next_attempt_at is None

    with django_capture_on_commit_callbacks(execute=True):
        webhook_deliver(delivery.pk)
    assert len(endpoint.received) == 3


def test_redirects_are_not_followed(
    chat, endpoint, monkeypatch, django_capture_on_commit_callbacks
):
    """A 302 is a failed attempt: the Location is not called."""
    monkeypatch.setattr(webhooks, "MAX_ATTEMPTS", 1)
    endpoint.plan.append(302)
    with django_capture_on_commit_callbacks(execute=True):
        chat.csr_says()

    assert [request.path for request in endpoint.received] == ["/hook"]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == (Status.FAILED, 302)
    assert "redirects are not followed" in delivery.last_error


def test_a_refused_connection_is_a_failed_attempt(monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(webhooks, "MAX_ATTEMPTS", 1)
    with socket.socket() as probe:  # a port nobody listens on any more
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    chat = make_chat(url=f"http://127.0.0.1:{port}/hook")
    with django_capture_on_commit_callbacks(execute=True):
        chat.csr_says()

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Status.FAILED
    assert "Could not connect" in delivery.last_error


def test_backoff_doubles_from_2_seconds_up_to_5_minutes_with_jitter():
    class Fixed(random.Random):
        def __init__(self, value: float):
            super().__init__()
            self.value = value

        def uniform(self, a: float, b: float) -> float:
            return self.value

    plain = [webhooks.backoff_seconds(attempt=n, rng=Fixed(0.0)) for n in range(1, 11)]
    assert plain == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert webhooks.backoff_seconds(attempt=1, rng=Fixed(0.2)) == pytest.approx(2.4)
    assert webhooks.backoff_seconds(attempt=1, rng=Fixed(-0.2)) == pytest.approx(1.6)
    assert webhooks.backoff_seconds(attempt=8, rng=Fixed(0.2)) == 300
    rng = random.Random(7)
    for n in range(1, 8):
        assert 0.8 * 2**n <= webhooks.backoff_seconds(attempt=n, rng=rng) <= 1.2 * 2**n


# --- Idempotency and ordering -------------------------------------------------------------


def test_a_delivered_delivery_is_never_posted_again(
    chat, endpoint, django_capture_on_commit_callbacks
):
    """The task queued twice (or run again by hand) POSTs once: a delivered delivery is
    left alone."""
    with django_capture_on_commit_callbacks(execute=False):
        chat.csr_says()
    delivery = WebhookDelivery.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        webhook_deliver.delay(delivery.pk)
        webhook_deliver.delay(delivery.pk)
        webhook_deliver(delivery.pk)

    assert len(endpoint.received) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.DELIVERED, 1)


@pytest.mark.django_db(transaction=True)
def test_two_tasks_at_the_same_moment_post_once(endpoint):
    """Two workers running the task for one delivery at once: the first takes the lease,
    the second does nothing, so the endpoint gets one request."""
    chat = make_chat(url="", secret=SECRET)
    message = chat.csr_says()  # no URL yet: no delivery scheduled
    Channel.objects.filter(pk=chat.channel.pk).update(webhook_url=endpoint.url)
    delivery = WebhookDelivery.objects.create(
        interaction=chat.interaction, message=message, seq=message.seq
    )
    endpoint.delay = 0.5
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(5)
            webhook_deliver(delivery.pk)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)

    assert errors == []
    assert len(endpoint.received) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.DELIVERED, 1)


def test_a_delivery_waits_for_the_earlier_one(chat, endpoint, django_capture_on_commit_callbacks):
    """Message 2's task does nothing while message 1 is pending; delivering message 1
    sends message 2 right after it."""
    with django_capture_on_commit_callbacks(execute=False):
        first, second = chat.csr_says("one"), chat.csr_says("two")
    d1, d2 = WebhookDelivery.objects.order_by("seq")

    with django_capture_on_commit_callbacks(execute=True):
        webhook_deliver(d2.pk)
    assert endpoint.received == []

    with django_capture_on_commit_callbacks(execute=True):
        webhook_deliver(d1.pk)
    assert endpoint.seqs == [first.seq, second.seq]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {Status.DELIVERED}


def test_a_failed_delivery_lets_the_next_one_go(
    chat, endpoint, no_backoff, monkeypatch, django_capture_on_commit_callbacks
):
    """While message 1 is retried, message 2 waits; when message 1 is given up, message 2
    is sent."""
    monkeypatch.setattr(webhooks, "MAX_ATTEMPTS", 2)
    endpoint.plan.extend([500, 500])
    with django_capture_on_commit_callbacks(execute=True):
        first, second = chat.csr_says("one"), chat.csr_says("two")

    assert endpoint.seqs == [first.seq, first.seq, second.seq]
    d1, d2 = WebhookDelivery.objects.order_by("seq")
    assert (d1.status, d2.status) == (Status.FAILED, Status.DELIVERED)


# --- The safety net and the admin ---------------------------------------------------------


def test_overdue_deliveries_are_requeued_first_in_line(
    chat, endpoint, django_capture_on_commit_callbacks
):
    """Deliveries whose tasks were lost are queued again once overdue, only the first
    pending one of each chat (the rest follow it); recent ones are left alone."""
    with django_capture_on_commit_callbacks(execute=False):  # the tasks are lost
        chat.csr_says("one"), chat.csr_says("two")
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=2))
    with django_capture_on_commit_callbacks(execute=False):
        chat.csr_says("three")
    other = make_chat(url=endpoint.url, external_id="wa-15550199")
    with django_capture_on_commit_callbacks(execute=False):
        other.csr_says("recent")  # due now, not overdue: its task is still on its way

    with django_capture_on_commit_callbacks(execute=True):
        queued = webhooks.deliveries_requeue_overdue()

    assert queued == 1
    assert [r.json["message"]["text"] for r in endpoint.received] == ["one", "two", "three"]
    assert WebhookDelivery.objects.filter(status=Status.PENDING).count() == 1
    assert webhooks.deliveries_requeue_overdue() == 0


def test_retry_now_in_the_admin_requeues_failed_deliveries(
    endpoint, django_capture_on_commit_callbacks
):
    """An Administrator's "Retry now" gives failed deliveries a new round (here after
    setting the missing secret); deliveries that are not failed are left alone. A CSR
    manager does not get the action."""
    chat = make_chat(url=endpoint.url, secret="")
    with django_capture_on_commit_callbacks(execute=True):
        chat.csr_says("one")
    failed = WebhookDelivery.objects.get()
    Channel.objects.filter(pk=chat.channel.pk).update(webhook_secret=SECRET)
    memo_clear()  # a second later, every process sees the secret (config/memo.py)
    with django_capture_on_commit_callbacks(execute=True):
        chat.csr_says("two")
    delivered = WebhookDelivery.objects.get(status=Status.DELIVERED)
    assert len(endpoint.received) == 1

    roles_sync()
    admin = Client()
    admin.force_login(user_factory(role=Role.ADMINISTRATOR))
    url = reverse("admin:chat_webhookdelivery_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            url,
            {"action": "retry_now", "_selected_action": [failed.pk, delivered.pk]},
            follow=True,
        )

    assert response.status_code == 200
    texts = [str(m) for m in response.context["messages"]]
    assert texts == ["1 failed delivery queued again. 1 not failed, left alone."]
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.last_error) == (Status.DELIVERED, 1, "")
    assert [r.json["message"]["text"] for r in endpoint.received] == ["two", "one"]
    assert verify_portal_webhook(endpoint.received[1].body, endpoint.received[1].headers, SECRET)

    manager = Client()
    manager.force_login(user_factory(role=Role.CSR_MANAGER, is_staff=True))
    page = manager.get(url)
    assert page.status_code == 200
    assert "retry_now" not in page.context["cl"].model_admin.get_actions(page.wsgi_request)
    refused = manager.post(url, {"action": "retry_now", "_selected_action": [failed.pk]})
    assert refused.status_code in (200, 302, 403)
    assert WebhookDelivery.objects.get(pk=failed.pk).status == Status.DELIVERED


def test_retry_policy_comes_from_the_settings():
    """Operators tune the policy through PORTAL["WEBHOOK_*"] (environment variables);
    the module reads it once at start."""
    from django.conf import settings

    portal = settings.PORTAL
    assert webhooks.TIMEOUT_SECONDS == portal["WEBHOOK_TIMEOUT_SECONDS"] == 5
    assert webhooks.MAX_ATTEMPTS == portal["WEBHOOK_MAX_ATTEMPTS"] == 8
    assert webhooks.BACKOFF_BASE_SECONDS == portal["WEBHOOK_BACKOFF_BASE_SECONDS"] == 2
    assert webhooks.BACKOFF_CAP_SECONDS == portal["WEBHOOK_BACKOFF_CAP_SECONDS"] == 300


@pytest.mark.django_db
def test_messages_read_their_channels_webhook_settings_once_a_second():
    """Every CSR and system message checks its channel's webhook: each process reads a
    channel's settings once and keeps them for a second (config/memo.py), so the
    messages after the first read nothing of the channel; a change shows a second on."""
    from django.test.utils import CaptureQueriesContext

    chat = make_chat(url="https://connector.example.com/hook")

    def system_message(text):
        with CaptureQueriesContext(connection) as queries:
            message = message_create(
                interaction=Interaction.objects.get(pk=chat.interaction.pk),
                sender_kind=SenderKind.SYSTEM,
                text=text,
            )
        reads = [q["sql"] for q in queries.captured_queries if 'FROM "chat_channel"' in q["sql"]]
        return message, reads

    first, first_reads = system_message("Alex joined the chat")
    second, second_reads = system_message("Alex ended the chat")
    assert (len(first_reads), second_reads) == (1, [])
    assert WebhookDelivery.objects.filter(message__in=[first, second]).count() == 2

    Channel.objects.filter(pk=chat.interaction.channel_id).update(webhook_url="")
    memo_clear()  # a second later
    third, _ = system_message("The customer left")
    assert not WebhookDelivery.objects.filter(message=third).exists()
