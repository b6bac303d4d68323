"""`manage.py seed_history` writes closed chats whose stored facts are exactly what the
rollup computes from the rows it wrote."""

import pytest
from django.core.management import call_command

from chat.models import Interaction, Message
from reports.models import ChatFact, OfferFact, PresenceSpan
from reports.services.rollup import facts_refresh
from routing.models import Offer

pytestmark = pytest.mark.django_db

FIELDS = [f.attname for f in ChatFact._meta.concrete_fields if f.attname != "computed_at"]


def test_seeded_facts_equal_the_rollups(capsys):
    call_command("seed_history", interactions=300, days=30, batch=120, seed=7)
    assert "Seeded 300 chats" in capsys.readouterr().out
    assert Interaction.objects.count() == ChatFact.objects.count() == 300
    assert Offer.objects.count() == OfferFact.objects.count() > 300
    assert Message.objects.count() > 900
    seeded = sorted(ChatFact.objects.values_list(*FIELDS))
    offers = sorted(OfferFact.objects.values_list("offer_id", "outcome", "csr_id", "reason"))
    assert facts_refresh(interaction_ids=Interaction.objects.values_list("pk", flat=True)) == 300
    assert sorted(ChatFact.objects.values_list(*FIELDS)) == seeded
    assert (
        sorted(OfferFact.objects.values_list("offer_id", "outcome", "csr_id", "reason")) == offers
    )
    facts = ChatFact.objects
    assert PresenceSpan.objects.filter(ended_at__isnull=False).count() > 40
    assert facts.filter(abandoned=True).exists() and facts.filter(transfers_to_queue__gt=0).exists()
    assert (
        facts.filter(sentiment_improved=True).exists()
        and facts.filter(sentiment_improved=False).exists()
    )


def test_a_second_run_adds_to_the_first():
    call_command("seed_history", interactions=20, days=3, seed=1)
    call_command("seed_history", interactions=30, days=3, seed=2)
    assert ChatFact.objects.count() == 50
