"""A prefork Celery worker keeps its PostgreSQL connections between tasks.

Celery's Django fixup used to close every connection, and in a prefork child the whole
connection pool, around each task: every task paid for a new PostgreSQL session (two,
with the pool's minimum size), which cost more than a sentiment task itself."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from config.celery_app import app
from tests.postgres import connections_named, subprocess_database_url

ROOT = Path(__file__).resolve().parents[1]
APP_NAME = "portal-celery-connections-test"
TASKS = 20


def _sessions_opened() -> int:
    """Sessions ever opened to the test database (PostgreSQL's cumulative counter)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def _queue_length(name: str = "celery") -> int:
    with app.connection_for_write() as broker:
        return broker.default_channel.client.llen(name)


def _send(queue: str) -> None:
    """Through the broker (send_task is never eager): an expiry timer of an offer that
    does not exist runs one query and writes nothing."""
    app.send_task("routing.tasks.offers_expire", args=[[0]], queue=queue, expires=60)


def _wait(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.django_db
def test_a_prefork_worker_reuses_its_connection_from_task_to_task():
    if connection.vendor != "postgresql":
        pytest.skip("counts PostgreSQL sessions; this run uses " + connection.vendor)
    queue = f"connections-test-{os.getpid()}"
    worker = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "config", "worker"),
            *("--pool", "prefork", "--concurrency", "1", "-Q", queue, "-l", "warning"),
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": subprocess_database_url(),
            "DATABASE_POOL_MIN_SIZE": "1",
            "PGAPPNAME": APP_NAME,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        # The first task opens the child's pool; only what follows is counted.
        _send(queue)
        _wait(lambda: _queue_length(queue) == 0, timeout=60, what="the worker's first task")
        time.sleep(1)  # the session counter is flushed within a second
        before = _sessions_opened()

        for _ in range(TASKS):
            _send(queue)
        _wait(lambda: _queue_length(queue) == 0, timeout=60, what=f"{TASKS} tasks")
        time.sleep(1.5)
        opened = _sessions_opened() - before

        assert worker.poll() is None, "the worker died"
        assert opened <= 1, f"{TASKS} tasks opened {opened} new PostgreSQL sessions"
        assert connections_named(APP_NAME) >= 1  # still held, ready for the next task
    finally:
        worker.terminate()
        worker.wait(timeout=30)
