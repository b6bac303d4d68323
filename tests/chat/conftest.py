"""Fixtures for the chat app's tests: a bot client with its token, an API client that
sends it, and a valid escalation body."""

from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from chat.models import BotClient, Channel
from config.celery_app import app as celery_app
from tests.factories import bot_client_factory, channel_factory

ESCALATIONS_URL = "/api/v1/escalations/"


@dataclass
class Bot:
    client: BotClient
    token: str
    channel: Channel
    api: APIClient

    def escalate(self, body: dict[str, Any], **headers: str):
        return self.api.post(ESCALATIONS_URL, body, format="json", headers=headers)

    def status_of(self, interaction_id: int):
        return self.api.get(f"{ESCALATIONS_URL}{interaction_id}/")


def make_bot(*, channel: Channel | None = None, active: bool = True) -> Bot:
    channel = channel or channel_factory()
    client, token = bot_client_factory(channels=[channel], active=active)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return Bot(client=client, token=token, channel=channel, api=api)


@pytest.fixture
def bot_factory(db):
    """make_bot: a bot client allowed on a channel, with an API client sending its token."""
    return make_bot


@pytest.fixture
def bot(db) -> Bot:
    """An active bot client allowed on one web-messaging channel (with a default queue)."""
    return make_bot(channel=channel_factory(slug="web"))


@pytest.fixture
def escalation_body():
    """build_escalation_body: a valid escalation body, with any key overridden."""
    return build_escalation_body


def build_escalation_body(channel: str = "web", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": channel,
        "intent": "billing.refund",
        "customer": {
            "external_id": "cust-1001",
            "name": "Dana Reyes",
            "email": "dana@example.com",
            "phone": "+15550100",
            "authenticated": True,
            "metadata": {"plan": "gold"},
        },
        "context": {"order": "A-1009"},
        "transcript": [
            {"from": "customer", "text": "I was charged twice.", "at": "2025-03-01T09:30:00Z"},
            {"from": "bot", "text": "Sorry about that. Checking...", "at": "2025-03-01T09:30:05Z"},
            {"from": "customer", "text": "Please hurry."},
        ],
    }
    body.update(overrides)
    return body


@pytest.fixture
def celery_eager():
    """Run Celery tasks in-process when queued, so a test sees the whole chain."""
    conf = celery_app.conf
    saved = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, True
    yield
    conf.task_always_eager, conf.task_eager_propagates = saved
