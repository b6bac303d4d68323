"""Requests that count against a rate limit in Redis are answered while Redis is down:
the limit fails open (the request is let through uncounted, with a warning logged)."""

import json
import logging

import pytest
from django.test import Client

from chat.models import Interaction
from config.localredis import free_port
from tests.chat.conftest import build_escalation_body, make_bot
from tests.factories import channel_factory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_down(settings):
    """The cache (and with it the rate-limit counters) on a port where no Redis runs."""
    cache = settings.CACHES["default"]
    settings.CACHES = {
        **settings.CACHES,
        "default": {**cache, "LOCATION": f"redis://127.0.0.1:{free_port()}/0"},
    }


def test_the_bot_api_escalates_while_redis_is_down(cache_down, settings, caplog):
    """The bot API's per-client rate limit cannot count: the escalation goes through
    (201) and the log says the limit was not applied."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"bot_client": "1/minute"},
    }
    bot = make_bot(channel=channel_factory(slug="web"))
    with caplog.at_level(logging.WARNING, logger="config.ratelimit"):
        replies = [bot.escalate(build_escalation_body()) for _ in range(2)]
    assert [reply.status_code for reply in replies] == [201, 201]
    assert Interaction.objects.count() == 2
    assert f"Rate limit throttle_bot_client_{bot.client.pk} not applied" in caplog.text


def test_the_demo_bot_answers_while_redis_is_down(cache_down, settings, caplog):
    """The demo bot's per-address limit cannot count: the bot still answers."""
    settings.PORTAL = {**settings.PORTAL, "DEMO_SITE_ENABLED": True}
    body = {"state": {}, "text": "", "client": {"customer_id": "0b7a4c1e-5f7d-4d8e"}}
    with caplog.at_level(logging.WARNING, logger="config.ratelimit"):
        reply = Client().post("/demo/bot/", json.dumps(body), content_type="application/json")
    assert reply.status_code == 200, reply.content
    assert reply.json()["replies"]
    assert "Rate limit demo-bot-rate not applied" in caplog.text
