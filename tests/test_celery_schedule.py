"""Every periodic task in the beat schedule exists and is registered with the worker."""

from config.celery_app import app


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
