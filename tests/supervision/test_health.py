"""System health: each check green, amber or red with its reason, from the real
database and Redis, the daphne heartbeats and the webhook deliveries."""

import json
import os

import pytest
from django.core.cache import cache
from django.utils import timezone

from chat.models import Message, SenderKind, WebhookDelivery
from config.processes import PROCESS_KEY_PREFIX, heartbeat_payload
from supervision.selectors.alerts import health_alerts
from supervision.selectors.health import BEAT_TICK_KEY, health_report

pytestmark = pytest.mark.django_db


def _checks(report):
    return {check["key"]: check for check in report["checks"]}


def test_the_report_says_what_is_green_and_what_is_red(make_chat):
    key = f"{PROCESS_KEY_PREFIX}test-host:{os.getpid()}"
    cache.set(key, heartbeat_payload(0.0), timeout=15)
    cache.set(BEAT_TICK_KEY, timezone.now(), timeout=60)
    try:
        checks = _checks(health_report(workers=["celery@test"]))
        assert checks["database"]["level"] == "green"
        assert checks["redis"]["level"] == "green"
        assert (
            checks["workers"]["level"] == "green" and "celery@test" in checks["workers"]["reason"]
        )
        assert checks["beat"]["level"] == "green"
        assert checks["daphne"]["level"] == "green"
        assert any(p["host"] for p in checks["daphne"]["processes"])
        assert checks["webhooks"]["level"] == "green"
        # No worker answered: red, and an alert says so.
        report = health_report(workers=[])
        assert _checks(report)["workers"]["level"] == "red"
        assert [a["key"] for a in health_alerts(report)] == ["health:workers"]
        # A failed webhook delivery: amber.
        chat = make_chat()
        message = Message.objects.create(
            interaction=chat.interaction, seq=99, sender_kind=SenderKind.SYSTEM, text="x"
        )
        WebhookDelivery.objects.create(
            interaction=chat.interaction,
            message=message,
            seq=99,
            status=WebhookDelivery.Status.FAILED,
        )
        assert _checks(health_report(workers=["w"]))["webhooks"]["level"] == "amber"
        cache.delete(BEAT_TICK_KEY)
        assert _checks(health_report(workers=["w"]))["beat"]["level"] == "red"
    finally:
        cache.delete(key)


def test_the_heartbeat_carries_the_socket_count():
    payload = json.loads(heartbeat_payload(12.5))
    assert set(payload) == {"host", "pid", "sockets", "started_at", "at"}
    assert payload["started_at"] == 12.5 and payload["sockets"] >= 0
