"""The CSR figures' customer rating: today's answered satisfaction ratings of the chats
each CSR had, averaged."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import InteractionStatus, SatisfactionRating
from config.users import Role
from supervision.selectors.csrs import csr_rows
from tests.factories import interaction_factory, user_factory

pytestmark = pytest.mark.django_db


def rated(csr, rating, *, answered_at=None):
    interaction = interaction_factory(status=InteractionStatus.ENDED, assigned_csr=csr)
    return SatisfactionRating.objects.create(
        interaction=interaction, rating=rating, answered_at=answered_at or timezone.now()
    )


def test_the_average_of_todays_ratings_per_csr():
    """Two ratings today (5 and 2) average 3.5; yesterday's and unanswered surveys do not
    count; a CSR with none has None and 0."""
    alex = user_factory(role=Role.CSR, first_name="Alex")
    blake = user_factory(role=Role.CSR, first_name="Blake")
    rated(alex, 5)
    rated(alex, 2)
    rated(alex, 1, answered_at=timezone.now() - timedelta(days=2))
    SatisfactionRating.objects.create(
        interaction=interaction_factory(status=InteractionStatus.ENDED, assigned_csr=alex)
    )
    rows = {row["id"]: row for row in csr_rows()}
    assert (rows[alex.pk]["avg_rating_today"], rows[alex.pk]["ratings_today"]) == (3.5, 2)
    assert (rows[blake.pk]["avg_rating_today"], rows[blake.pk]["ratings_today"]) == (None, 0)
