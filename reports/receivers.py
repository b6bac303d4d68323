"""Reports' receivers of chat's and routing's hooks (chat/signals.py, routing/signals.py)."""

from typing import Any

from chat.models import Interaction
from config.tasks import task_enqueue_on_commit
from reports.models import ChatFact
from reports.services.presence import presence_span_track
from routing.models import CSRProfile


def interaction_closed(*, interaction: Interaction, **kwargs: Any) -> None:
    """A chat closed: its facts are computed once the close commits."""
    task_enqueue_on_commit("reports.tasks.chat_facts_refresh", interaction.pk)


def satisfaction_rated(*, interaction_id: int, rating: int, **kwargs: Any) -> None:
    """chat.signals.satisfaction_rated, after commit: the chat's fact row takes the
    rating (a chat whose facts are not written yet gets it when they are)."""
    ChatFact.objects.filter(interaction_id=interaction_id).update(
        csat_asked=True, csat_rating=rating
    )


def wrapup_released(*, interaction_id: int, code_id: int | None, **kwargs: Any) -> None:
    """routing.signals.wrapup_released, after commit: the chat's fact row takes the
    disposition code (likewise)."""
    ChatFact.objects.filter(interaction_id=interaction_id).update(disposition_id=code_id)


def csr_profile_saved(*, instance: CSRProfile, **kwargs: Any) -> None:
    """A CSR's status was saved: their logged-in span opens or closes."""
    presence_span_track(profile=instance)
