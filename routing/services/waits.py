"""Chats that wait long: re-offering a chat every free CSR passed on once the queue's
cool-down is over, and offering a customer who waited past the queue's maximum wait a
choice (keep waiting, leave a message for follow-up, or end the chat).

Both run on timers (Celery tasks with a countdown, queued through config/tasks.py), with
the routing sweep as their backstop: the sweep's routing pass re-offers chats whose
cool-down is over, and it checks every queue's long waits. A Redis mark per due time
keeps the many runs and escalations that arm the same timer to one task."""

import logging
import time
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from django.db.models import Min, Q, QuerySet
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from chat.errors import ChatError
from chat.locks import interaction_lock
from chat.models import WAITING_INTERACTION_STATUSES, Interaction, SenderKind
from chat.services.interactions import interaction_end
from chat.services.messages import MAX_MESSAGE_CHARS, message_create
from chat.validators import text_problem
from config.oncommit import on_commit_robust
from config.redis import REDIS_ERRORS
from config.tasks import task_enqueue
from routing import events
from routing.models import LongWait, LongWaitChoice, Queue
from routing.services.requests import routing_request

logger = logging.getLogger(__name__)

REOFFER_TASK = "routing.tasks.reoffer_due"
LONG_WAITS_TASK = "routing.tasks.long_waits_check"
REOFFER_TIMER_KEY = "reoffer-timer:{queue_id}:{due}"
LONG_WAIT_TIMER_KEY = "long-wait-timer:{queue_id}"
# A timer fires this long after its due time, so that what it checks is due by then.
TIMER_SLACK_SECONDS = 0.2
# The sweep checks long waits this far past due: until then their timer has the job.
LONG_WAIT_TIMER_GRACE = timedelta(seconds=2)

CHOOSABLE = (LongWaitChoice.KEEP_WAITING, LongWaitChoice.LEAVE_MESSAGE, LongWaitChoice.END)
NO_CHOICE_MESSAGE = (
    "There is no choice to make now: it is offered once you have waited the queue's "
    "maximum wait, while no agent has taken the chat."
)
KEEP_WAITING_TEXT = "The customer chose to keep waiting."
FOLLOW_UP_TEXT = "The customer left a message for follow-up."


# --- Re-offer after the cool-down -------------------------------------------------------


def reoffer_timer_arm(*, queue_id: int, due: datetime) -> None:
    """Ask for a routing run of the queue when a chat's cool-down ends (after commit).
    The run re-offers the chat (routing/services/engine.py)."""
    on_commit_robust(_timer_queue, REOFFER_TASK, queue_id, due.timestamp(), False)


def reoffer_due(*, queue_id: int) -> None:
    """The cool-down timer: route the queue."""
    routing_request(queue_ids=[queue_id])


def _timer_queue(task: str, queue_id: int, due_ts: float, replace: bool) -> None:
    """Queue `task` for `queue_id` due at `due_ts`, unless a timer for that time (re-offer)
    or any pending timer (long waits, `replace` False) is already queued. While Redis is
    down nothing is queued: the routing sweep does the timers' work meanwhile."""
    due_ts = round(due_ts, 3)
    countdown = max(0.0, due_ts - time.time()) + TIMER_SLACK_SECONDS
    lifetime = int(countdown) + 60
    try:
        if task == REOFFER_TASK:
            key = REOFFER_TIMER_KEY.format(queue_id=queue_id, due=due_ts)
            if not cache.add(key, due_ts, timeout=lifetime):
                return
        else:
            key = LONG_WAIT_TIMER_KEY.format(queue_id=queue_id)
            if replace:
                if cache.get(key) == due_ts:
                    return  # that timer is queued already
                cache.set(key, due_ts, timeout=lifetime)
            elif not cache.add(key, due_ts, timeout=lifetime):
                return  # a timer is pending, due before this chat's (which it arms)
    except REDIS_ERRORS:
        return
    task_enqueue(task, queue_id, countdown=countdown)


# --- Past the maximum wait --------------------------------------------------------------


def long_wait_timer_arm(*, queue: Queue, queued_at: datetime) -> None:
    """A chat started waiting in `queue` at `queued_at`: make sure a long-wait timer of the
    queue is due by the time it has waited the maximum (after commit). One timer per queue
    is pending at a time; each arms the next (long_waits_check)."""
    if queue.max_wait_seconds:
        due = queued_at + timedelta(seconds=queue.max_wait_seconds)
        on_commit_robust(_timer_queue, LONG_WAITS_TASK, queue.pk, due.timestamp(), False)


def waiting_for_a_csr(*, queue_id: int) -> QuerySet[Interaction]:
    """The chats of a queue whose customer waits for a CSR, with `waiting_since`: when
    they entered the queue, or, for a chat put back after its CSR was lost, when that CSR
    had accepted it. A chat being transferred is left out: its customer still has a CSR."""
    return Interaction.objects.filter(
        queue_id=queue_id, status__in=WAITING_INTERACTION_STATUSES, assigned_csr__isnull=True
    ).annotate(waiting_since=Greatest("queued_at", Coalesce("accepted_at", "queued_at")))


def waiting_since(interaction: Interaction) -> datetime:
    """As waiting_for_a_csr's `waiting_since`, for one chat read without it."""
    return max(interaction.queued_at, interaction.accepted_at or interaction.queued_at)


def _due_filter(cutoff: datetime) -> Q:
    """Waiting chats whose customer is due the choice: never offered it, offered it
    without an answer, or chose to keep waiting, a maximum wait (by `cutoff`) ago."""
    return (
        Q(long_wait__isnull=True, waiting_since__lte=cutoff)
        | Q(long_wait__choice=LongWaitChoice.PENDING, long_wait__offered_at__lte=cutoff)
        | Q(long_wait__choice=LongWaitChoice.KEEP_WAITING, long_wait__chosen_at__lte=cutoff)
    )


def long_waits_check(
    *, queue_id: int, now: datetime | None = None, grace: timedelta = timedelta(0)
) -> int:
    """The long-wait timer of a queue (and the sweep's check, with a grace): offer the
    choice to every customer due it, then arm the timer for the next one due. Returns
    how many were offered it."""
    queue = Queue.objects.filter(pk=queue_id, active=True).first()
    if queue is None or not queue.max_wait_seconds:
        return 0
    now = now or timezone.now()
    max_wait = timedelta(seconds=queue.max_wait_seconds)
    waiting = waiting_for_a_csr(queue_id=queue_id)
    due = waiting.filter(_due_filter(now - max_wait - grace)).values_list("pk", flat=True)
    offered = sum(long_wait_offer(interaction_id=pk, now=now) for pk in list(due))
    nexts = waiting.aggregate(
        new=Min("waiting_since", filter=Q(long_wait__isnull=True)),
        unanswered=Min("long_wait__offered_at", filter=Q(long_wait__choice=LongWaitChoice.PENDING)),
        kept=Min("long_wait__chosen_at", filter=Q(long_wait__choice=LongWaitChoice.KEEP_WAITING)),
    )
    starts = [at for at in nexts.values() if at is not None]
    if starts:
        next_due = max(min(starts) + max_wait, now)
        _timer_queue(LONG_WAITS_TASK, queue_id, next_due.timestamp(), True)
    return offered


def long_waits_sweep(*, now: datetime | None = None) -> int:
    """The sweep's backstop of the long-wait timers: every queue with a maximum wait is
    checked, LONG_WAIT_TIMER_GRACE past due."""
    queue_ids = Queue.objects.filter(active=True, max_wait_seconds__isnull=False).values_list(
        "pk", flat=True
    )
    return sum(
        long_waits_check(queue_id=queue_id, now=now, grace=LONG_WAIT_TIMER_GRACE)
        for queue_id in list(queue_ids)
    )


@transaction.atomic
def long_wait_offer(*, interaction_id: int, now: datetime | None = None) -> bool:
    """Offer the customer of a chat that waited past its queue's maximum the choice, and
    flag the chat for managers (its LongWait). False when it is not due (checked under
    the chat's row lock: it may have been taken, ended or moved meanwhile)."""
    interaction = interaction_lock(interaction_id, "queue")
    if (
        interaction is None
        or interaction.status not in WAITING_INTERACTION_STATUSES
        or interaction.assigned_csr_id is not None
    ):
        return False
    queue = interaction.queue
    if not queue.max_wait_seconds:
        return False
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=queue.max_wait_seconds)
    wait = LongWait.objects.filter(interaction=interaction).first()
    if not _is_due(interaction, wait, cutoff):
        return False
    waited = max(0, int((now - waiting_since(interaction)).total_seconds()))
    if wait is None:
        wait = LongWait.objects.create(
            interaction=interaction, queue=queue, waited_seconds=waited, offered_at=now
        )
    else:
        wait.queue = queue
        wait.choice = LongWaitChoice.PENDING
        wait.offered_at = now
        wait.times_offered += 1
        wait.save(update_fields=["queue", "choice", "offered_at", "times_offered"])
    events.wait_options(interaction=interaction, waited_seconds=waited)
    logger.info(
        "Interaction %s waited %s s in queue %s: the customer is offered a choice",
        interaction.pk,
        waited,
        queue.slug,
    )
    return True


def _is_due(interaction: Interaction, wait: LongWait | None, cutoff: datetime) -> bool:
    if wait is None:
        return waiting_since(interaction) <= cutoff
    if wait.choice == LongWaitChoice.PENDING:
        return wait.offered_at <= cutoff
    if wait.choice == LongWaitChoice.KEEP_WAITING:
        return wait.chosen_at is not None and wait.chosen_at <= cutoff
    return False


def long_wait_choose(
    *, interaction_id: int, choice: str, text: str | None = None
) -> tuple[LongWait, bool]:
    """The customer's answer to the choice: keep waiting (asked again a maximum wait
    later), leave a message for follow-up (stored, then the chat ends), or end the chat.
    Returns the LongWait and whether this call made the choice: the same choice sent again
    (a retry) changes nothing and is answered the same, even after the chat ended."""
    if choice not in CHOOSABLE:
        raise ChatError(
            "bad_wait_choice", "choice must be one of: keep_waiting, leave_message, end."
        )
    if choice == LongWaitChoice.LEAVE_MESSAGE:
        text = _follow_up_text(text)
    with transaction.atomic():
        interaction = interaction_lock(interaction_id, "queue")
        if interaction is None:
            raise ChatError("not_found", "This chat does not exist.")
        wait = LongWait.objects.filter(interaction=interaction).first()
        if wait is not None and wait.choice == choice:
            return wait, False
        if not interaction.is_open:
            raise ChatError("chat_ended", "This chat has ended.")
        if (
            wait is None
            or wait.choice != LongWaitChoice.PENDING
            or interaction.status not in WAITING_INTERACTION_STATUSES
        ):
            raise ChatError("no_wait_choice", NO_CHOICE_MESSAGE)
        wait.choice = choice
        wait.chosen_at = timezone.now()
        if choice == LongWaitChoice.LEAVE_MESSAGE:
            wait.follow_up_text = text or ""
        wait.save(update_fields=["choice", "chosen_at", "follow_up_text"])
        events.wait_chosen(interaction_id=interaction.pk, choice=choice)
        if choice == LongWaitChoice.KEEP_WAITING:
            message_create(
                interaction=interaction, sender_kind=SenderKind.SYSTEM, text=KEEP_WAITING_TEXT
            )
            long_wait_timer_arm(queue=interaction.queue, queued_at=wait.chosen_at)
        else:
            if choice == LongWaitChoice.LEAVE_MESSAGE:
                message_create(
                    interaction=interaction,
                    sender_kind=SenderKind.CUSTOMER,
                    author_name=interaction.customer_name,
                    text=wait.follow_up_text,
                )
                message_create(
                    interaction=interaction, sender_kind=SenderKind.SYSTEM, text=FOLLOW_UP_TEXT
                )
            interaction_end(interaction_id=interaction.pk, by=SenderKind.CUSTOMER)
    logger.info("Customer of interaction %s chose %s after a long wait", interaction_id, choice)
    return wait, True


def _follow_up_text(text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ChatError("empty", "A message for follow-up needs some text.")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ChatError(
            "too_long",
            f"A message can be at most {MAX_MESSAGE_CHARS:,} characters; this one has "
            f"{len(text):,}.",
        )
    problem = text_problem(text)
    if problem is not None:
        raise ChatError("bad_text", problem[0])
    return text


def follow_ups_mark_done(*, long_wait_ids: list[int], user: AbstractBaseUser) -> int:
    """Mark open follow-ups done (by a manager, on the live page or in the admin); returns
    how many were."""
    return LongWait.objects.filter(
        pk__in=long_wait_ids,
        choice=LongWaitChoice.LEAVE_MESSAGE,
        follow_up_done_at__isnull=True,
    ).update(follow_up_done_at=timezone.now(), follow_up_done_by=user)
