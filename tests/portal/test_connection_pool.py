"""daphne with PostgreSQL keeps a bounded number of database connections: requests and
socket calls borrow from the process's pool and give back. (With persistent
connections under ASGI every request's context kept its own connection open, until
PostgreSQL refused new clients: "sorry, too many clients already".)"""

import os
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection

from tests.bench.stack import free_port, wait_http
from tests.postgres import connections_named, subprocess_database_url

ROOT = Path(__file__).resolve().parents[2]
POOL_MAX = 4
APP_NAME = "portal-pool-test"


def _daphne(port: int, **env: str) -> subprocess.Popen:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": subprocess_database_url(),
        "DEBUG": "true",
        "PGAPPNAME": APP_NAME,  # libpq names the connections: they can be counted
        **env,
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "config.asgi:application",
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=30) as reply:
        return reply.status


@pytest.mark.slow
@pytest.mark.django_db
def test_daphne_keeps_its_connections_within_the_pool():
    """120 health checks (each runs a query), 24 at a time: every one answers 200 and
    daphne never holds more connections than DATABASE_POOL_MAX_SIZE."""
    if connection.vendor != "postgresql":
        pytest.skip("connection pooling is for PostgreSQL; this run uses " + connection.vendor)
    port = free_port()
    process = _daphne(port, DATABASE_POOL_MAX_SIZE=str(POOL_MAX), DATABASE_POOL_MIN_SIZE="1")
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", process=process, what="daphne")
        with ThreadPoolExecutor(max_workers=24) as pool:
            statuses = list(pool.map(_get, [f"http://127.0.0.1:{port}/healthz"] * 120))
        assert statuses == [200] * 120
        time.sleep(0.5)
        assert 1 <= connections_named(APP_NAME) <= POOL_MAX
    finally:
        process.terminate()
        process.wait(timeout=15)
