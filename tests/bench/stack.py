"""A real portal stack for benchmarks: a fresh PostgreSQL database, daphne, a Celery
worker and beat, all on this machine. Benchmarks import this; it is not a test module.

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/portal_bench,
dropped and recreated), REDIS_URL (default redis://127.0.0.1:6379/0; the benchmark uses
its own database number 9 and flushes it).
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
BENCH_DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench"
)
_redis = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
BENCH_REDIS_URL = urlunsplit((_redis.scheme, _redis.netloc, "/9", "", ""))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_environment(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=BENCH_DATABASE_URL,
        DATABASE_CONN_MAX_AGE="60",
        REDIS_URL=BENCH_REDIS_URL,
        DEBUG="true",
        LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        CHANNEL_LAYER_PREFIX="bench",
        CACHE_KEY_PREFIX="bench",
    )
    env.update(extra)
    return env


def prepare_database() -> None:
    """Drop and recreate the benchmark database, migrate it, and flush bench Redis."""
    import psycopg
    import redis

    parts = urlsplit(BENCH_DATABASE_URL)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url(BENCH_REDIS_URL).flushdb()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"],
        cwd=ROOT,
        env=bench_environment(),
        check=True,
    )


def setup_django() -> None:
    os.environ.update(bench_environment())
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


class Stack(contextlib.AbstractContextManager):
    """daphne + Celery worker + beat as child processes, stopped on exit."""

    def __init__(self, *, workers: int = 2, daphne_processes: int = 1, beat: bool = True):
        self.port = free_port()
        self.workers = workers
        self.daphne_processes = daphne_processes
        self.beat = beat
        self.processes: list[subprocess.Popen] = []
        self.logs = ROOT / "var" / "bench-logs"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _start(self, name: str, command: list[str]) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = open(self.logs / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        self.processes.append(
            subprocess.Popen(
                command,
                cwd=ROOT,
                env=bench_environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def __enter__(self) -> "Stack":
        bin_dir = Path(sys.executable).parent
        self._start(
            "daphne",
            [
                str(bin_dir / "daphne"),
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "config.asgi:application",
            ],
        )
        self._start(
            "worker",
            [
                str(bin_dir / "celery"),
                "-A",
                "config",
                "worker",
                "-l",
                os.environ.get("BENCH_WORKER_LOG", "warning"),
                "--concurrency",
                str(self.workers),
                "-O",
                "fair",
            ],
        )
        if self.beat:
            self._start(
                "beat",
                [
                    str(bin_dir / "celery"),
                    "-A",
                    "config",
                    "beat",
                    "-l",
                    "warning",
                    "--schedule",
                    str(self.logs / "celerybeat-schedule"),
                ],
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as reply,
            ):
                if reply.status == 200:
                    time.sleep(2)  # let the worker finish booting too
                    return self
            time.sleep(0.3)
        self.__exit__(None, None, None)
        raise RuntimeError(f"the stack did not come up; see {self.logs}")

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def session_cookie(user) -> str:
    """A real session cookie for `user` (call after setup_django)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values: list[float]) -> str:
    p50, p99 = percentile(values, 0.50) * 1000, percentile(values, 0.99) * 1000
    return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(values) * 1000:.1f} ms (n={len(values)})"
