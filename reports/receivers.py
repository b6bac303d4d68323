"""Reports' receivers of chat's hooks (chat/signals.py)."""

from typing import Any

from chat.models import Interaction
from config.tasks import task_enqueue_on_commit
from reports.services.presence import presence_span_track
from routing.models import CSRProfile


def interaction_closed(*, interaction: Interaction, **kwargs: Any) -> None:
    """A chat closed: its facts are computed once the close commits."""
    task_enqueue_on_commit("reports.tasks.chat_facts_refresh", interaction.pk)


def csr_profile_saved(*, instance: CSRProfile, **kwargs: Any) -> None:
    """A CSR's status was saved: their logged-in span opens or closes."""
    presence_span_track(profile=instance)
