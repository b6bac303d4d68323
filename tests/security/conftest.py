"""Fixtures of the edge tests: a bot with an escalated chat, a signed-in CSR, and every
JSON POST endpoint of the portal with the client that may call it."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from config.users import Role
from tests.chat.conftest import ESCALATIONS_URL, Bot, build_escalation_body, make_bot
from tests.factories import channel_factory, user_factory


@dataclass
class Endpoint:
    """A JSON POST endpoint: its path and a function that POSTs raw bytes to it."""

    name: str
    path: str
    post: Callable[[bytes], Any]


@pytest.fixture
def bot(db) -> Bot:
    bot = make_bot(channel=channel_factory(slug="web"))
    bot.api.raise_request_exception = False
    return bot


@pytest.fixture
def csr_client(db) -> Client:
    """A CSR's browser session (a 500 is answered, not raised)."""
    client = Client(raise_request_exception=False)
    client.force_login(user_factory(role=Role.CSR))
    return client


@pytest.fixture
def json_endpoints(bot, csr_client, settings) -> list[Endpoint]:
    """Every JSON POST endpoint: the bot API, the CSR's routing API and the demo bot."""
    settings.PORTAL = {**settings.PORTAL, "DEMO_SITE_ENABLED": True}
    escalated = bot.escalate(build_escalation_body())
    assert escalated.status_code == 201, escalated.content
    chat = escalated.json()["id"]
    anonymous = Client(raise_request_exception=False)

    def by_bot(path: str) -> Callable[[bytes], Any]:
        return lambda raw: bot.api.post(path, raw, content_type="application/json")

    def by(client: Client, path: str) -> Callable[[bytes], Any]:
        return lambda raw: client.post(path, raw, content_type="application/json")

    paths = [
        ("escalations", ESCALATIONS_URL, by_bot),
        ("messages", f"{ESCALATIONS_URL}{chat}/messages/", by_bot),
        ("authentication", f"{ESCALATIONS_URL}{chat}/authentication/", by_bot),
        ("end", f"{ESCALATIONS_URL}{chat}/end/", by_bot),
        ("agent status", "/api/v1/agent/status/", lambda p: by(csr_client, p)),
        ("queue join", "/api/v1/agent/queues/general/join/", lambda p: by(csr_client, p)),
        ("offer accept", "/api/v1/agent/offers/1/accept/", lambda p: by(csr_client, p)),
        ("offer decline", "/api/v1/agent/offers/1/decline/", lambda p: by(csr_client, p)),
        ("transfer", f"/api/v1/interactions/{chat}/transfer/", lambda p: by(csr_client, p)),
        ("demo bot", "/demo/bot/", lambda p: by(anonymous, p)),
    ]
    return [Endpoint(name, path, make(path)) for name, path, make in paths]


def assert_api_error(response, status: int, codes: set[str]) -> dict[str, Any]:
    """The API's error shape ({code, message, errors}) with this status, as JSON."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"code", "message", "errors"}, body
    assert body["code"] in codes, body
    assert body["message"], body
    assert isinstance(body["errors"], list), body
    return body
