"""Wrap-up: after a chat ends, its CSR picks a disposition code and may write a summary
before the chat stops taking one of their places; the queue's time limit releases it
anyway. Lock order: interaction (only when the chat closes) → wrap-up → CSR profile."""

import logging
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from chat.models import Interaction
from config.oncommit import on_commit_robust
from config.tasks import task_enqueue_on_commit
from routing import events
from routing.errors import RoutingError
from routing.models import DispositionCode, Wrapup, WrapupOutcome
from routing.services.presence import csr_chat_ended
from routing.signals import wrapup_released

logger = logging.getLogger(__name__)

EXPIRE_TASK = "routing.tasks.wrapup_expire"
SUMMARY_MAX_LENGTH = 2000


def wrapup_open(*, interaction: Interaction, csr_id: int) -> Wrapup | None:
    """Inside the transaction that ends the chat: open its CSR's wrap-up when the
    queue asks for one (its time limit is above 0), with its timer."""
    seconds = interaction.queue.wrapup_seconds
    if not seconds:
        return None
    now = timezone.now()
    wrapup, made = Wrapup.objects.get_or_create(
        interaction=interaction,
        defaults={
            "csr_id": csr_id,
            "queue_id": interaction.queue_id,
            "started_at": now,
            "due_at": now + timedelta(seconds=seconds),
        },
    )
    if made:
        task_enqueue_on_commit(EXPIRE_TASK, wrapup.pk, countdown=seconds)
    return wrapup


def _wrapup_lock(*, interaction_id: int) -> Wrapup | None:
    return (
        Wrapup.objects.select_for_update(of=("self",))
        .select_related("queue")
        .filter(interaction_id=interaction_id)
        .first()
    )


def _release(wrapup: Wrapup, *, outcome: str, now: datetime) -> None:
    """Inside the caller's transaction, the wrap-up row locked: the chat gives back the
    CSR's place and routing offers them the next waiting chat, as when a chat ends."""
    wrapup.outcome = outcome
    wrapup.released_at = now
    if outcome == WrapupOutcome.COMPLETED:
        wrapup.completed_at = now
    wrapup.save(update_fields=["code", "summary", "outcome", "released_at", "completed_at"])
    csr_chat_ended(user_id=wrapup.csr_id)
    events.wrapup_released(wrapup=wrapup)
    on_commit_robust(
        lambda: wrapup_released.send(
            sender=Wrapup,
            interaction_id=wrapup.interaction_id,
            outcome=wrapup.outcome,
            code_id=wrapup.code_id,
            code=wrapup.code.code if wrapup.code else None,
            summary=wrapup.summary,
        )
    )


@transaction.atomic
def wrapup_submit(
    *, interaction_id: int, user: AbstractBaseUser, code: str = "", summary: str = ""
) -> Wrapup:
    """The CSR finishes a chat's wrap-up with a disposition code (required when its
    queue says so; one of that queue's active codes) and an optional summary."""
    wrapup = _wrapup_lock(interaction_id=interaction_id)
    if wrapup is None:
        raise RoutingError("wrapup_not_found", "This chat has no wrap-up.")
    if wrapup.csr_id != user.pk:
        raise RoutingError("not_your_wrapup", "This wrap-up is another CSR's.")
    if not wrapup.is_open:
        if wrapup.outcome == WrapupOutcome.TIMED_OUT:
            raise RoutingError(
                "wrapup_closed", "The wrap-up time ran out: this chat was released without it."
            )
        raise RoutingError("wrapup_closed", "This wrap-up is already finished.")
    summary = summary.strip()
    if len(summary) > SUMMARY_MAX_LENGTH:
        raise RoutingError(
            "summary_too_long", f"Keep the summary under {SUMMARY_MAX_LENGTH} characters."
        )
    chosen = None
    if code:
        chosen = DispositionCode.objects.filter(
            queue_id=wrapup.queue_id, code=code, active=True
        ).first()
        if chosen is None:
            raise RoutingError(
                "bad_code",
                f"'{code}' is not a disposition code of the {wrapup.queue.name} queue.",
            )
    elif wrapup.queue.wrapup_required:
        raise RoutingError("code_required", "Pick a disposition code to finish the wrap-up.")
    wrapup.code = chosen
    wrapup.summary = summary
    _release(wrapup, outcome=WrapupOutcome.COMPLETED, now=timezone.now())
    logger.info("Wrap-up of interaction %s finished by CSR %s", interaction_id, user.pk)
    return wrapup


@transaction.atomic
def wrapup_expire(*, wrapup_id: int, now: datetime | None = None) -> bool:
    """Release the wrap-up if it is still open and due (its timer, or the sweep); a
    timer that fires early or late, or twice, changes nothing."""
    now = now or timezone.now()
    interaction_id = (
        Wrapup.objects.filter(pk=wrapup_id).values_list("interaction_id", flat=True).first()
    )
    if interaction_id is None:
        return False
    wrapup = _wrapup_lock(interaction_id=interaction_id)
    if wrapup is None or not wrapup.is_open or wrapup.due_at > now:
        return False
    _release(wrapup, outcome=WrapupOutcome.TIMED_OUT, now=now)
    logger.info("Wrap-up of interaction %s timed out", interaction_id)
    return True


def wrapups_expire_overdue(*, now: datetime | None = None) -> int:
    """The sweep's backstop: release every open wrap-up whose timer was lost."""
    now = now or timezone.now()
    due = Wrapup.objects.filter(released_at__isnull=True, due_at__lte=now).values_list(
        "pk", flat=True
    )
    return sum(wrapup_expire(wrapup_id=pk, now=now) for pk in list(due[:500]))
