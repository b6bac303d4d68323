"""Every periodic task in the beat schedule exists and is registered with the worker."""

import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

from config.beat import Scheduler
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


def test_beat_sleeps_until_an_entry_is_due_instead_of_spinning_up_to_it(tmp_path):
    # Celery's scheduler wakes 10 ms early and then ticks without sleeping until the
    # entry is due: ~150 ticks a second with offers checked four times a second.
    sent: list[tuple[str, float]] = []

    class Recording(Scheduler):
        def apply_async(self, entry, producer=None, advance=True, **kwargs):
            sent.append((entry.name, time.monotonic()))

    app.finalize()
    scheduler = Recording(app=app, schedule_filename=str(tmp_path / "schedule"))
    assert scheduler.app.conf.beat_scheduler == "config.beat:Scheduler"
    # 0.25 s entries sent at 0.25, 0.5, 0.75 and 1.0 s: room for a slow machine.
    ticks, end = 0, time.monotonic() + 1.6
    try:
        while time.monotonic() < end:  # as celery.beat.Service.start runs it
            interval = scheduler.tick()
            ticks += 1
            if interval and interval > 0:
                time.sleep(interval)
    finally:
        scheduler.close()

    expiry_checks = [at for name, at in sent if name == "offers-expire"]
    assert len(expiry_checks) >= 4
    assert all(b - a >= 0.24 for a, b in itertools.pairwise(expiry_checks))
    # One tick sends an entry, the next sleeps until the following one is due.
    assert ticks <= 2 * len(sent) + 4, f"{ticks} ticks for {len(sent)} entries sent"
