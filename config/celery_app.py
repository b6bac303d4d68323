"""The Celery application and its beat schedule."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic work; each entry is a thin task that calls a service. The routing engine
# adds its sweeper here.
app.conf.beat_schedule = {}
