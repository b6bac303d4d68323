"""A CSR's logged-in spans follow their status: any status but Offline opens one (once),
Offline closes it."""

import pytest

from config.users import Role
from reports.models import PresenceSpan
from routing.models import AwayReason
from routing.services.presence import csr_profile_ensure, csr_status_set
from tests.factories import user_factory

pytestmark = pytest.mark.django_db


def test_a_csr_going_available_then_away_then_offline_has_one_span():
    csr = user_factory(role=Role.CSR)
    csr_profile_ensure(user=csr)
    assert not PresenceSpan.objects.exists()  # a new profile is Offline
    csr_status_set(user=csr, status="available")
    AwayReason.objects.get_or_create(code="lunch", defaults={"label": "Lunch"})
    csr_status_set(user=csr, status="away", away_reason_code="lunch")
    span = PresenceSpan.objects.get()
    assert span.ended_at is None and span.capacity == 3  # App Studio's default
    csr_status_set(user=csr, status="offline")
    span.refresh_from_db()
    assert span.ended_at is not None and span.ended_at >= span.started_at
    csr_status_set(user=csr, status="available")
    assert PresenceSpan.objects.filter(csr=csr).count() == 2
    assert PresenceSpan.objects.filter(csr=csr, ended_at=None).count() == 1
