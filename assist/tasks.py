"""Celery entry points of the assist app (queued by name, config.tasks)."""

import threading
from typing import Any

from celery import shared_task
from celery.signals import worker_process_init
from django.db import connections

from assist import events, selectors
from chat.models import Interaction, InteractionStatus


@shared_task(name="assist.tasks.suggestions_push", ignore_result=True)
def suggestions_push(interaction_id: int, seq: int) -> None:
    """Rank phrases and articles against the customer's newest messages and push them to
    the panel of the CSR handling the chat."""
    interaction = (
        Interaction.objects.select_related("queue", "assigned_csr")
        .filter(pk=interaction_id, status=InteractionStatus.ACTIVE)
        .first()
    )
    if interaction is None or interaction.assigned_csr is None:
        return
    if interaction.last_seq > seq and interaction.last_seq - seq > 20:
        return  # a backlog: a newer message asks for its own
    user = interaction.assigned_csr
    ranked = selectors.suggestions_rank(
        text=selectors.customer_recent_text(interaction_id=interaction_id),
        intent=interaction.intent,
        queue_id=interaction.queue_id,
        user_id=user.pk,
    )
    items = selectors.suggestions_out(ranked, interaction=interaction, user=user)
    events.suggestions_publish(user_id=user.pk, interaction_id=interaction_id, seq=seq, items=items)


@worker_process_init.connect
def index_warm(**kwargs: Any) -> None:
    """Build the ranking index as a worker process starts (seconds for a large help
    centre), on a thread, so that the first suggestion does not pay for all of it."""
    threading.Thread(target=_index_build, daemon=True, name="assist-index").start()


def _index_build() -> None:
    try:
        selectors.assist_index()
    finally:
        connections.close_all()  # this thread's own connection
