"""Keeping the CSRs' logged-in spans: a CSR profile saved in any status but Offline
opens a span (if none is open), saved Offline closes it. Routing changes a status only
through routing.services.presence.csr_status_change, which saves the profile."""

from django.db import IntegrityError, transaction

from chat.selectors.settings import app_studio_settings_get
from reports.models import PresenceSpan
from routing.models import CSRProfile, CSRStatus


def presence_span_track(*, profile: CSRProfile) -> None:
    """Open or close the CSR's span for the status just saved."""
    open_span = PresenceSpan.objects.filter(csr_id=profile.user_id, ended_at=None)
    if profile.status == CSRStatus.OFFLINE:
        open_span.update(ended_at=profile.status_changed_at)
        return
    if open_span.exists():
        return
    capacity = profile.capacity or app_studio_settings_get().default_csr_capacity
    try:
        with transaction.atomic():
            PresenceSpan.objects.create(
                csr_id=profile.user_id, started_at=profile.status_changed_at, capacity=capacity
            )
    except IntegrityError:
        pass  # another save of the same profile opened it first
