"""The Celery application and its beat schedule."""

import logging
import os

from celery import Celery, Task
from celery.schedules import crontab
from celery.signals import beat_init, task_postrun, task_prerun, worker_init, worker_ready
from celery.worker.consumer import Consumer
from django.conf import settings
from django.db import close_old_connections

from config.gcfreeze import freeze_startup_objects

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger(__name__)

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class RedisRestartConsumer(Consumer):
    """Celery's worker consumer, surviving a Redis restart while it holds unacknowledged
    messages (an offer's expiry timer, a task running with acks_late).

    Celery 5.7.0 closes the lost connection after collect() detached it from its
    transport; kombu 5.7.0's Redis channel, caught mid-BRPOP, then restores its unacked
    messages through a transport without a client and raises AttributeError ("'NoneType'
    object has no attribute 'hostname'", the path of kombu issue 582), which the worker
    takes for an unrecoverable error and exits on. That restore could not reach Redis
    anyway; the routing sweep expires offers whose timer is lost. Tested by
    tests/reliability/test_redis_outage.py (run it under load: the ack path needs a
    task to end in the instant the connection drops)."""

    def on_connection_error_after_connected(self, exc: Exception) -> None:
        try:
            super().on_connection_error_after_connected(exc)
        except AttributeError:
            logger.warning("Unacked messages of the lost broker connection not restored")

    def call_soon_ack(self, p, *args, **kwargs):
        # The same defect one step later: a task that ended just before the connection
        # was lost has its ack queued on the event loop, which runs it after the
        # reconnect on the old channel. Redis came back empty: there is nothing to ack.
        def ack() -> None:
            try:
                p(*args, **kwargs)
            except AttributeError:
                logger.warning("Ack on the lost broker connection dropped")

        return super().call_soon_ack(ack)


app.conf.worker_consumer = "config.celery_app:RedisRestartConsumer"

# Celery's Django fixup closes every database connection around each task (and a
# prefork child's whole pool), so every task would open a new PostgreSQL session, which
# costs more than most tasks. With a reuse limit it closes them only every DB_REUSE_MAX
# tasks; between tasks a connection goes back to the pool, as after a request.
DB_REUSE_MAX = 1000
app.conf.update(CELERY_DB_REUSE_MAX=DB_REUSE_MAX)


@task_prerun.connect
@task_postrun.connect
def _connections_release(sender: Task | None = None, **kwargs) -> None:
    if sender is None or getattr(sender.request, "is_eager", False):
        return  # an eager task runs inside its caller's transaction
    close_old_connections()


@worker_init.connect
@worker_ready.connect
@beat_init.connect
def _freeze_startup_objects(**kwargs) -> None:
    # Before the pool forks (its children inherit the frozen heap) and again once the
    # worker is up; beat once it has its schedule. See config/gcfreeze.py.
    freeze_startup_objects()


@app.on_after_finalize.connect
def _schedule_periodic_tasks(sender: Celery, **kwargs) -> None:
    """Periodic work; each entry is a thin task that calls a service."""
    sender.conf.beat_schedule = {
        # Chats whose scoring run was lost with a worker: scored within this long.
        "sentiment-pending": {
            "task": "chat.tasks.sentiment_score_pending",
            "schedule": 15.0,
            "options": {"expires": 30},
        },
        "webhook-requeue-overdue": {
            "task": "chat.tasks.webhook_requeue_overdue",
            "schedule": 60.0,
            "options": {"expires": 120},
        },
        # Co-browse requests not answered in time, idle sessions, sessions whose CSR
        # closed the panel: the backstop for the sockets' own timers.
        "cobrowse-sweep": {
            "task": "cobrowse.tasks.sessions_sweep",
            "schedule": 30.0,
            "options": {"expires": 60},
        },
        "case-webhook-requeue-overdue": {
            "task": "cases.tasks.case_webhook_requeue_overdue",
            "schedule": 60.0,
            "options": {"expires": 120},
        },
        # Reports' facts of the chats closed in the last two hours, recomputed: the
        # backstop for a lost refresh task and for scores stored after a chat closed.
        "reports-rollup": {
            "task": "reports.tasks.facts_rollup",
            "schedule": 300.0,
            "options": {"expires": 600},
        },
        # Presence, and the backstop for offers whose timer and chats whose routing
        # request were lost with a worker or during a Redis outage.
        "routing-sweep": {
            "task": "routing.tasks.routing_sweep",
            "schedule": float(settings.PORTAL["ROUTING_SWEEP_SECONDS"]),
            "options": {"expires": settings.PORTAL["ROUTING_SWEEP_SECONDS"] * 3},
        },
        # Manager tools: beat's last tick and the system health report (services that
        # turn red raise an alert).
        "supervision-health": {
            "task": "supervision.tasks.health_check",
            "schedule": 10.0,
            "options": {"expires": 20},
        },
    }
    if settings.PORTAL["RETENTION_DAYS"] > 0:
        # Closed chats past the retention period (docs/operations.md#retention), daily
        # at a quiet hour; a run not started within the hour is dropped for the next.
        sender.conf.beat_schedule["retention-purge"] = {
            "task": "chat.tasks.retention_purge",
            "schedule": crontab(minute=0, hour=settings.PORTAL["RETENTION_HOUR"]),
            "options": {"expires": 3600},
        }
