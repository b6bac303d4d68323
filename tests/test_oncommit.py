"""A failing after-commit call never fails the request whose work committed."""

import logging

import pytest

from chat.models import Interaction
from config.oncommit import on_commit_robust
from tests.chat.conftest import build_escalation_body, make_bot
from tests.factories import channel_factory


@pytest.mark.django_db(transaction=True)
def test_an_escalation_whose_routing_request_fails_is_still_created(monkeypatch, caplog):
    """The broker or the cache is down after the escalation committed: the bot gets its
    201 (the chat waits in its queue for the sweeper), and the failure is logged."""
    bot = make_bot(channel=channel_factory(slug="web"))

    def broker_down(**kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr("routing.services.escalations.routing_request", broker_down)
    with caplog.at_level(logging.ERROR, logger="django.db.backends.base"):
        reply = bot.escalate(build_escalation_body())

    assert reply.status_code == 201, reply.content
    assert Interaction.objects.filter(pk=reply.json()["id"], status="queued").exists()
    assert any("broker_down" in record.getMessage() for record in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_the_call_gets_its_arguments_after_commit():
    from django.db import transaction

    calls = []
    with transaction.atomic():
        on_commit_robust(lambda *args, **kwargs: calls.append((args, kwargs)), 1, at=2)
        assert calls == []
    assert calls == [((1,), {"at": 2})]
