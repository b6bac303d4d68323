"""The beat schedule: every entry names a registered task, and nothing is polled."""

from celery.schedules import crontab

from config.celery_app import _schedule_periodic_tasks, app


def _schedule() -> dict:
    app.finalize()  # the schedule is built when the app is finalized, as worker and beat do
    app.loader.import_default_modules()
    return app.conf.beat_schedule


def test_every_beat_entry_names_a_registered_task():
    schedule = _schedule()
    assert {"routing-sweep", "webhook-requeue-overdue", "sentiment-pending"} <= set(schedule)
    for name, entry in schedule.items():
        assert entry["task"] in app.tasks, f"{name}: {entry['task']} is not a registered task"
        assert isinstance(entry["schedule"], crontab) or entry["schedule"] > 0


def test_beat_runs_only_backstops_never_more_than_once_a_second():
    """Offers expire by a timer set when they are made (routing.tasks.offers_expire),
    not by beat: beat's entries are sweeps for work whose own task was lost."""
    schedule = _schedule()
    assert "offers-expire" not in schedule
    assert all(
        isinstance(entry["schedule"], crontab) or entry["schedule"] >= 1
        for entry in schedule.values()
    )
    assert "routing.tasks.offers_expire" in app.tasks


def test_the_retention_purge_runs_daily_at_its_hour_only_when_retention_is_on(settings):
    _schedule()
    try:
        settings.PORTAL = {**settings.PORTAL, "RETENTION_DAYS": 0}
        _schedule_periodic_tasks(app)
        assert "retention-purge" not in app.conf.beat_schedule
        settings.PORTAL = {**settings.PORTAL, "RETENTION_DAYS": 90, "RETENTION_HOUR": 4}
        _schedule_periodic_tasks(app)
        entry = app.conf.beat_schedule["retention-purge"]
        assert entry["task"] == "chat.tasks.retention_purge"
        assert entry["task"] in app.tasks
        assert entry["schedule"] == crontab(minute=0, hour=4)
        assert entry["options"]["expires"] <= 3600
    finally:
        settings.PORTAL = {**settings.PORTAL, "RETENTION_DAYS": 0}
        _schedule_periodic_tasks(app)
