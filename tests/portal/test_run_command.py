"""The README's commands: `runportal` runs and stops the whole portal, the private-Redis
fallback, `runtests`' marker handling and the bootstrap's requirements stamp."""

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from config import bootstrap
from config.localredis import PrivateRedis, RedisUnavailable, ensure_redis, free_port, redis_answers
from config.settings import redis_url_with_db
from portal.management.commands.runtests import has_marker_option

BASE_DIR = Path(settings.BASE_DIR)
READY_LINE = "Press Ctrl-C to stop."
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


# --- helpers: processes seen through /proc ---------------------------------------------
def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def _alive(pid: int) -> bool:
    stat = _proc_stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def _descendants(root: int) -> dict[int, str]:
    """Every live process below `root`, with its command line."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat is not None and stat[0] not in ("Z", "X"):
                parents[int(entry.name)] = stat[1]
    found: dict[int, str] = {}
    frontier = {root}
    while frontier:
        children = {pid for pid, parent in parents.items() if parent in frontier}
        children -= found.keys()
        found.update({pid: _command_line(pid) for pid in children})
        frontier = children
    return found


def _servers(root: int) -> dict[str, int]:
    """The pids of runportal's direct children, by role."""
    servers = {}
    for pid, command in _descendants(root).items():
        stat = _proc_stat(pid)
        if stat is None or stat[1] != root:
            continue
        for role in ("daphne", "worker", "beat", "redis-server"):
            if role in command.split():
                servers[role] = pid
    return servers


def _http_status(url: str) -> int | None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


class RunningPortal:
    """`manage.py runportal` in a subprocess, with its own database and var/ directory."""

    def __init__(self, tmp_path: Path, *extra: str):
        self.port = free_port()
        self.log_path = tmp_path / "runportal.log"
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DEBUG="true",
            DATABASE_URL=f"sqlite:///{tmp_path / 'portal.sqlite3'}",
            PORTAL_VAR_DIR=str(tmp_path / "var"),
            # A database number of its own, so its worker takes no other run's tasks.
            REDIS_URL=redis_url_with_db(settings.REDIS_URL, 11),
        )
        command = [sys.executable, "manage.py", "runportal", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), *extra]
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.seen: dict[int, str] = {}

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def fail(self, message: str) -> None:
        pytest.fail(f"{message}\n--- runportal output ---\n{self.log[-6000:]}")

    def wait_until_ready(self) -> None:
        """Poll /healthz until 200, then wait for the welcome text (worker and beat up)."""
        deadline = time.monotonic() + START_TIMEOUT
        healthy = False
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.fail(f"runportal exited early with code {self.process.returncode}")
            healthy = healthy or _http_status(f"http://127.0.0.1:{self.port}/healthz") == 200
            if healthy and READY_LINE in self.log:
                self.seen = _descendants(self.process.pid)
                return
            time.sleep(0.5)
        self.fail(f"not ready within {START_TIMEOUT:.0f} s (healthz 200 seen: {healthy})")

    def wait_for_exit(self) -> int:
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail(f"runportal did not exit within {STOP_TIMEOUT:.0f} s")
            raise

    def leftovers(self) -> dict[int, str]:
        """Processes runportal started that are still alive a moment after it exited."""
        deadline = time.monotonic() + 3
        while True:
            alive = {pid: cmd for pid, cmd in self.seen.items() if _alive(pid)}
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.1)

    def kill_everything(self) -> None:
        for pid in [self.process.pid, *self.seen]:
            for kill in (os.killpg, os.kill):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def running_portal(tmp_path):
    portals: list[RunningPortal] = []

    def start(*extra: str) -> RunningPortal:
        portal = RunningPortal(tmp_path, *extra)
        portals.append(portal)
        return portal

    yield start
    for portal in portals:
        if portal.process.poll() is None or portal.leftovers():
            portal.kill_everything()


# --- runportal --------------------------------------------------------------------------
@pytest.mark.slow
def test_runportal_serves_the_portal_and_one_ctrl_c_stops_everything(running_portal):
    """runportal answers /healthz with daphne, a Celery worker and beat running; one
    SIGINT stops all of them and it exits 0, leaving no process behind."""
    portal = running_portal()
    portal.wait_until_ready()
    servers = _servers(portal.process.pid)
    assert {"daphne", "worker", "beat"} <= servers.keys(), portal.log[-3000:]
    assert f"http://127.0.0.1:{portal.port}/admin/" in portal.log
    assert f"http://127.0.0.1:{portal.port}/api/docs/" in portal.log

    os.kill(portal.process.pid, signal.SIGINT)

    assert portal.wait_for_exit() == 0, portal.log[-3000:]
    assert portal.leftovers() == {}


@pytest.mark.slow
def test_runportal_stops_the_others_and_fails_when_a_server_dies(running_portal):
    """When the Celery worker dies, runportal says so, stops daphne and beat, exits 1."""
    portal = running_portal("--no-seed")
    portal.wait_until_ready()
    worker = _servers(portal.process.pid)["worker"]

    os.kill(worker, signal.SIGKILL)

    assert portal.wait_for_exit() == 1
    assert "worker exited unexpectedly" in portal.log
    assert portal.leftovers() == {}


# --- the private Redis ------------------------------------------------------------------
@pytest.mark.slow
def test_private_redis_answers_ping_and_is_gone_after_stop(tmp_path):
    """A private Redis starts on a free port, answers PING, and stop() ends it."""
    private = PrivateRedis(var_dir=tmp_path, db=3)
    url = private.start()
    process = private.process
    try:
        assert url.endswith("/3")
        assert redis_answers(url)
    finally:
        private.stop()
    assert process is not None and process.poll() is not None
    assert not redis_answers(url)


def test_reachable_redis_is_used_as_it_is(tmp_path):
    """When REDIS_URL answers, no private Redis is started."""
    url = redis_url_with_db(settings.REDIS_URL, 11)
    assert ensure_redis({"REDIS_URL": url}, tmp_path, replace_unreachable=False) == (url, None)


def test_unreachable_explicit_redis_is_an_error_for_runtests(tmp_path):
    """runtests does not silently replace a Redis the user named: it explains instead."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(RedisUnavailable, match="unset REDIS_URL"):
        ensure_redis({"REDIS_URL": dead}, tmp_path, replace_unreachable=False)


@pytest.mark.slow
def test_unreachable_redis_is_replaced_by_a_private_one_for_runportal(tmp_path):
    """runportal starts a private Redis, on the same database number, when none answers."""
    dead = f"redis://127.0.0.1:{free_port()}/5"
    url, private = ensure_redis(
        {"REDIS_URL": dead}, tmp_path, replace_unreachable=True, say=lambda message: None
    )
    try:
        assert private is not None
        assert url != dead and url.endswith("/5")
        assert redis_answers(url)
    finally:
        if private is not None:
            private.stop()
    assert not redis_answers(url)


# --- runtests ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ([], False),
        (["-x", "tests/routing"], False),
        (["--maxfail", "1"], False),
        (["-m", "slow"], True),
        (["-mslow"], True),
    ],
)
def test_runtests_respects_the_users_own_marker_choice(arguments, expected):
    """`-m` given by the user wins over runtests' "not e2e" default."""
    assert has_marker_option(arguments) is expected


# --- bootstrap --------------------------------------------------------------------------
def test_bootstrap_skips_pip_when_the_requirements_are_unchanged(tmp_path):
    """An unchanged requirements file (and its -r includes) costs no pip run."""
    (tmp_path / "base.txt").write_text("Django==5.2\n")
    requirements = tmp_path / "dev.txt"
    requirements.write_text("-r base.txt\npytest==9\n")
    venv = tmp_path / "venv"  # no Python inside: running pip here would fail loudly
    venv.mkdir()
    stamp = venv / bootstrap.STAMP.name
    stamp.write_text(bootstrap.requirements_digest(requirements) + "\n")

    bootstrap.install_requirements(venv_dir=venv, requirements=requirements)

    before = stamp.read_text()
    (tmp_path / "base.txt").write_text("Django==5.2.1\n")
    assert bootstrap.requirements_digest(requirements) + "\n" != before


def test_bootstrap_does_nothing_inside_a_virtualenv():
    """Inside a virtualenv (this one) ensure_venv returns without re-executing."""
    if not bootstrap.in_virtualenv():
        pytest.skip("the tests are not running inside a virtualenv")
    bootstrap.ensure_venv(["manage.py", "--version"])
