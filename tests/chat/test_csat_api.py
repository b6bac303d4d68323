"""The satisfaction survey on a connector's channel: the `satisfaction.requested`
webhook and POST /api/v1/escalations/{id}/satisfaction/."""

import json

import pytest
from django.utils import timezone

from chat import webhooks
from chat.models import (
    ChannelKind,
    Interaction,
    InteractionStatus,
    Message,
    SatisfactionRating,
    SystemEvent,
    WebhookDelivery,
)
from chat.selectors.satisfaction import CSAT_COMMENT_MAX_CHARS
from config.users import Role
from tests.chat.conftest import make_bot
from tests.chat.test_api import assert_error
from tests.factories import channel_factory, user_factory

pytestmark = pytest.mark.django_db

HOOK = "https://connector.example/hook"


def satisfaction_url(interaction_id: int) -> str:
    return f"/api/v1/escalations/{interaction_id}/satisfaction/"


@pytest.fixture
def whatsapp_bot():
    channel = channel_factory(
        slug="wa", kind=ChannelKind.WHATSAPP, webhook_url=HOOK, webhook_secret="whsec-1"
    )
    return make_bot(channel=channel)


@pytest.fixture
def escalated(whatsapp_bot, escalation_body) -> Interaction:
    """An active WhatsApp chat escalated by `whatsapp_bot`, handled by a CSR."""
    response = whatsapp_bot.escalate(escalation_body(channel="wa"))
    assert response.status_code == 201, response.content
    csr = user_factory(role=Role.CSR, first_name="Alex", last_name="Morgan")
    Interaction.objects.filter(pk=response.json()["id"]).update(
        status=InteractionStatus.ACTIVE, assigned_csr=csr, accepted_at=timezone.now()
    )
    return Interaction.objects.get(pk=response.json()["id"])


def end(bot, interaction: Interaction) -> None:
    response = bot.api.post(f"/api/v1/escalations/{interaction.pk}/end/")
    assert response.status_code == 200, response.content


def test_the_connector_gets_the_question_and_the_answer_url(whatsapp_bot, escalated, settings):
    """The chat's end is followed by a delivery of event `satisfaction.requested` with
    the question, the five choices, the comment limit and the absolute answer URL."""
    settings.PORTAL = {**settings.PORTAL, "PUBLIC_BASE_URL": "https://portal.example"}
    end(whatsapp_bot, escalated)
    message = Message.objects.get(interaction=escalated, event=SystemEvent.CSAT_REQUESTED)
    delivery = WebhookDelivery.objects.get(message=message)
    payload = json.loads(webhooks.payload_body(webhooks.delivery_payload(delivery=delivery)))
    assert payload["event"] == "satisfaction.requested"
    assert payload["message"]["event"] == "csat_requested"
    survey = payload["satisfaction"]
    assert survey["question"] == "How satisfied are you with this chat?"
    assert [c["rating"] for c in survey["choices"]] == [1, 2, 3, 4, 5]
    assert survey["choices"][0]["label"] == "Very dissatisfied"
    assert survey["comment_max_chars"] == CSAT_COMMENT_MAX_CHARS
    assert survey["answer_url"] == (
        f"https://portal.example/api/v1/escalations/{escalated.pk}/satisfaction/"
    )
    # The ended message before it is an ordinary message.created.
    ended = WebhookDelivery.objects.get(interaction=escalated, seq=message.seq - 1)
    assert webhooks.delivery_payload(delivery=ended)["event"] == "message.created"


def test_the_answer_is_stored_once(whatsapp_bot, escalated):
    """200 with the stored answer; a second answer is 409 csat_answered and changes
    nothing."""
    end(whatsapp_bot, escalated)
    url = satisfaction_url(escalated.pk)
    response = whatsapp_bot.api.post(url, {"rating": 2, "comment": "Slow."}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["rating"], body["comment"]) == (escalated.pk, 2, "Slow.")
    row = SatisfactionRating.objects.get(interaction=escalated)
    assert (row.rating, row.answered_via) == (2, "connector")
    again = whatsapp_bot.api.post(url, {"rating": 5}, format="json")
    assert_error(again, 409, "csat_answered", message="rated once")
    row.refresh_from_db()
    assert row.rating == 2


@pytest.mark.parametrize(
    "body, field",
    [
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": "five"}, "rating"),
        ({}, "rating"),
        ({"rating": 3, "comment": "x" * (CSAT_COMMENT_MAX_CHARS + 1)}, "comment"),
    ],
)
def test_a_bad_answer_is_a_400_on_the_field(whatsapp_bot, escalated, body, field):
    end(whatsapp_bot, escalated)
    response = whatsapp_bot.api.post(satisfaction_url(escalated.pk), body, format="json")
    assert response.status_code == 400, response.content
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert SatisfactionRating.objects.get(interaction=escalated).rating is None


def test_a_chat_not_asked_is_a_409(whatsapp_bot, escalated):
    """Still open, or ended on a channel with the survey off: 409 csat_not_asked."""
    url = satisfaction_url(escalated.pk)
    assert_error(whatsapp_bot.api.post(url, {"rating": 4}, format="json"), 409, "csat_not_asked")
    whatsapp_bot.channel.csat_enabled = False
    whatsapp_bot.channel.save()
    end(whatsapp_bot, escalated)
    assert_error(
        whatsapp_bot.api.post(url, {"rating": 4}, format="json"),
        409,
        "csat_not_asked",
        message="survey is off",
    )


def test_only_the_escalating_client_may_answer(whatsapp_bot, escalated):
    """Another bot client gets 404, whether the chat exists or not; no token 401."""
    end(whatsapp_bot, escalated)
    other = make_bot(channel=whatsapp_bot.channel)
    for interaction_id in (escalated.pk, escalated.pk + 1000):
        response = other.api.post(satisfaction_url(interaction_id), {"rating": 5}, format="json")
        assert_error(response, 404, "not_found")
    whatsapp_bot.api.credentials()
    response = whatsapp_bot.api.post(satisfaction_url(escalated.pk), {"rating": 5}, format="json")
    assert response.status_code == 401
    assert SatisfactionRating.objects.get(interaction=escalated).rating is None
