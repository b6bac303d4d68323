"""A customer's earlier interactions: the same customer row, or the same verified
identity on any channel; never this one, a later one or another customer's; newest
first."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import Interaction
from chat.selectors.history import customer_earlier_interactions
from tests.factories import channel_factory, customer_factory, interaction_factory

pytestmark = pytest.mark.django_db


def _at(interaction: Interaction, minutes_ago: int) -> Interaction:
    Interaction.objects.filter(pk=interaction.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    interaction.refresh_from_db()
    return interaction


def test_earlier_chats_of_the_same_customer_and_verified_identity_newest_first():
    dana = customer_factory(external_id="cust-dana", verified_identity="dana@idp")
    web, whatsapp = channel_factory(), channel_factory()
    oldest = _at(interaction_factory(customer=dana, channel=web), 300)
    older = _at(interaction_factory(customer=dana, channel=whatsapp), 200)
    # The same person under another customer id, verified on another channel.
    other_row = customer_factory(external_id="wa-5550100", verified_identity="dana@idp")
    verified_elsewhere = _at(
        interaction_factory(customer=other_row, channel=whatsapp, authenticated=True), 100
    )
    # Not hers: another customer, and an unverified chat of the other row.
    _at(interaction_factory(customer=customer_factory(), channel=web), 150)
    _at(interaction_factory(customer=other_row, channel=whatsapp), 120)
    current = _at(interaction_factory(customer=dana, channel=web, authenticated=True), 10)
    later = interaction_factory(customer=dana, channel=web)
    earlier = list(customer_earlier_interactions(interaction=current))
    assert earlier == [verified_elsewhere, older, oldest]
    assert current not in earlier and later not in earlier


def test_without_a_verified_identity_only_the_same_customer_row_counts():
    dana = customer_factory(verified_identity="dana@idp")
    previous = _at(interaction_factory(customer=dana), 60)
    other = customer_factory(verified_identity="dana@idp")
    _at(interaction_factory(customer=other, authenticated=True), 30)
    current = interaction_factory(customer=dana)  # not authenticated in this chat
    assert current.customer_verified_identity == ""
    assert list(customer_earlier_interactions(interaction=current)) == [previous]


def test_the_first_chat_has_no_history():
    current = interaction_factory()
    assert not customer_earlier_interactions(interaction=current).exists()
