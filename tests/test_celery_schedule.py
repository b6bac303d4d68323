"""Every periodic task in the beat schedule exists and is registered with the worker."""

import os
import subprocess
import sys
from pathlib import Path

from config.celery_app import app

ROOT = Path(__file__).resolve().parents[1]


def test_every_beat_entry_names_a_registered_task():
    app.finalize()  # the schedule is built when the app is finalized, as worker and beat do
    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule
    assert {
        "offers-expire",
        "routing-sweep",
        "webhook-requeue-overdue",
        "sentiment-pending",
    } <= set(schedule)
    for name, entry in schedule.items():
        assert entry["task"] in app.tasks, f"{name}: {entry['task']} is not a registered task"
        assert entry["schedule"] > 0


def _schedule_in_a_process_of_its_own(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from config.celery_app import app; app.finalize(); "
            "entry = app.conf.beat_schedule['offers-expire']; "
            "print(entry['schedule'], entry['options']['expires'])",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
    )


def test_overdue_offers_are_expired_four_times_a_second_unless_configured():
    default = _schedule_in_a_process_of_its_own(OFFER_EXPIRY_SECONDS="")
    assert default.stdout.split() == ["0.25", "3.0"], default.stderr
    configured = _schedule_in_a_process_of_its_own(OFFER_EXPIRY_SECONDS="2")
    assert configured.stdout.split() == ["2.0", "6.0"], configured.stderr


def test_a_bad_expiry_period_stops_the_process_with_a_clear_message():
    result = _schedule_in_a_process_of_its_own(OFFER_EXPIRY_SECONDS="0")
    assert result.returncode != 0
    assert "OFFER_EXPIRY_SECONDS='0' is out of range" in result.stderr
