"""The case webhook: POSTed to a real HTTP server on 127.0.0.1 when a case is created and
when its status changes, signed as the connector webhooks, retried after a failure."""

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from cases import webhooks
from cases.models import CaseWebhookDelivery
from cases.services import case_create, case_update

SECRET = "case-secret-123"
Status = CaseWebhookDelivery.Status


class BackOffice:
    """Answers each POST with the next planned status (then 200) and keeps what came."""

    def __init__(self, answers: list[int]):
        self.answers = list(answers)
        self.received: list[tuple[dict, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((dict(self.headers), body))
                self.send_response(outer.answers.pop(0) if outer.answers else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cases"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def back_office():
    server = BackOffice([500])
    yield server
    server.close()


def test_created_and_status_changed_are_signed_and_retried(
    dispute_chat, case_types, back_office, django_capture_on_commit_callbacks
):
    dispute = case_types["DSP"]
    dispute.webhook_url, dispute.webhook_secret = back_office.url, SECRET
    dispute.save()
    with django_capture_on_commit_callbacks(execute=True):
        case = case_create(
            interaction_id=dispute_chat.interaction.pk,
            case_type_id=dispute.pk,
            values={"amount": "£250", "payment_date": "2026-11-23", "reason": "Other"},
            csr=dispute_chat.csr,
        )
    delivery = CaseWebhookDelivery.objects.get(case=case)
    assert delivery.attempts == 1 and delivery.status == Status.PENDING  # the 500
    assert delivery.last_status_code == 500
    # The retry, once due.
    CaseWebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    webhooks.case_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == Status.DELIVERED and delivery.attempts == 2
    # Delivered: never sent again.
    assert webhooks.case_delivery_attempt(delivery_id=delivery.pk) is None
    assert len(back_office.received) == 2
    headers, body = back_office.received[-1]
    assert back_office.received[0][1] == body  # the same body on every attempt
    expected = hmac.new(
        SECRET.encode(), headers["X-Portal-Timestamp"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert headers["X-Portal-Signature"] == f"sha256={expected}"
    payload = json.loads(body)
    assert payload["event"] == "case.created"
    assert payload["case"]["reference"] == case.reference
    assert payload["case"]["values"]["amount"] == {"amount": "250.00", "currency": "GBP"}
    assert payload["delivery_id"] == headers["X-Portal-Delivery"]

    with django_capture_on_commit_callbacks(execute=True):
        case_update(reference=case.reference, status="resolved", user=dispute_chat.csr)
    assert json.loads(back_office.received[-1][1])["event"] == "case.status_changed"
    assert json.loads(back_office.received[-1][1])["case"]["status"] == "resolved"
    with django_capture_on_commit_callbacks(execute=True):
        case_update(reference=case.reference, note="Only a note", user=dispute_chat.csr)
    assert len(back_office.received) == 3  # a note alone is not a status change


def test_no_secret_no_webhook_and_it_says_why(dispute_chat, case_types, back_office):
    dispute = case_types["DSP"]
    dispute.webhook_url = back_office.url
    dispute.save()
    case = case_create(
        interaction_id=dispute_chat.interaction.pk,
        case_type_id=dispute.pk,
        values={"amount": "£250", "payment_date": "2026-11-23", "reason": "Other"},
        csr=dispute_chat.csr,
    )
    delivery = CaseWebhookDelivery.objects.get(case=case)
    assert delivery.status == Status.FAILED
    assert "no webhook secret" in delivery.last_error
    assert back_office.received == []
