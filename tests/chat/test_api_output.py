"""The escalation's response is written out by hand (EscalationCreateApi.OutputSerializer
.to_representation) while its declared fields describe it in the OpenAPI document: the
two must give the same body."""

import pytest
from django.test import override_settings
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from chat.api.views import EscalationCreateApi
from chat.services import escalation_create
from tests.chat.conftest import ESCALATIONS_URL
from tests.factories import interaction_factory

pytestmark = pytest.mark.django_db


def _both(result, **request_extra):
    request = Request(APIRequestFactory().post(ESCALATIONS_URL, **request_extra))
    serializer = EscalationCreateApi.OutputSerializer(result, context={"request": request})
    by_hand = serializer.data
    by_fields = serializers.Serializer.to_representation(
        EscalationCreateApi.OutputSerializer(result, context={"request": request}), result
    )
    return dict(by_hand), dict(by_fields)


def _escalate(bot, *, key: str = "", **customer):
    return escalation_create(
        client=bot.client,
        channel_slug=bot.channel.slug,
        customer={"external_id": "cust-7", "name": "Ada", **customer},
        intent="billing",
        transcript=[{"sender": "customer", "text": "Hello"}],
        idempotency_key=key,
        fingerprint="f",
    )


def test_a_new_escalation_with_a_warning(bot):
    interaction_factory(queue=bot.channel.default_queue)  # one ahead: position 2
    by_hand, by_fields = _both(_escalate(bot, authenticated=True))
    assert by_hand == by_fields
    assert by_hand["position"] == 2
    assert by_hand["warnings"][0]["code"] == "authentication_unverified"
    assert by_hand["created_at"].endswith("Z")


def test_a_replay_on_a_secure_request(bot):
    _escalate(bot, key="k-1")
    by_hand, by_fields = _both(_escalate(bot, key="k-1"), secure=True)
    assert by_hand == by_fields
    assert by_hand["customer_ws_url"].startswith("wss://")


@override_settings(TIME_ZONE="Europe/Paris")
def test_times_in_another_time_zone(bot):
    by_hand, by_fields = _both(_escalate(bot))
    assert by_hand == by_fields
    assert by_hand["created_at"].endswith(("+01:00", "+02:00"))
