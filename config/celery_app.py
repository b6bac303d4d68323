"""The Celery application and its beat schedule."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule_periodic_tasks(sender: Celery, **kwargs) -> None:
    """Periodic work; each entry is a thin task that calls a service."""
    from django.conf import settings

    sender.conf.beat_schedule = {
        "offers-expire": {
            "task": "routing.tasks.offers_expire",
            "schedule": 1.0,
            "options": {"expires": 3},
        },
        "webhook-requeue-overdue": {
            "task": "chat.tasks.webhook_requeue_overdue",
            "schedule": 60.0,
            "options": {"expires": 120},
        },
        "routing-sweep": {
            "task": "routing.tasks.routing_sweep",
            "schedule": float(settings.PORTAL["ROUTING_SWEEP_SECONDS"]),
            "options": {"expires": settings.PORTAL["ROUTING_SWEEP_SECONDS"] * 3},
        },
    }
