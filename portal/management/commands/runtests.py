"""`manage.py runtests [pytest arguments]`: set up and run the whole test suite.

Finds Redis (or starts a private one), then runs pytest with the test settings; every
argument after `runtests` goes to pytest unchanged. The exit code is pytest's.
"""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from config.localredis import PrivateRedis, RedisUnavailable, ensure_redis, redact_url

TEST_SETTINGS = "config.settings_test"
USAGE = """usage: python3 manage.py runtests [pytest arguments]

Runs the whole test suite with pytest and the test settings (config.settings_test).
Every argument goes to pytest unchanged, for example:
  python3 manage.py runtests -x tests/routing
  python3 manage.py runtests -k idle_socket -m slow
pytest's own help: python3 manage.py runtests -- --help

Environment: DATABASE_URL (unset: SQLite under var/), REDIS_URL (unset and nothing at
redis://127.0.0.1:6379/0: a private Redis is started for the run).
"""
CHROMIUM = "/usr/bin/chromium"


def chromium_path() -> str | None:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    return shutil.which("chromium")


def has_marker_option(arguments: list[str]) -> bool:
    """True when the user chose tests by marker themselves (`-m EXPR` or `-mEXPR`)."""
    return any(argument.startswith("-m") for argument in arguments)


class Command(BaseCommand):
    help = (
        "Run the whole test suite with pytest (extra arguments pass through to pytest). "
        "Starts a private Redis when REDIS_URL is unset and none answers at the default."
    )

    def run_from_argv(self, argv: list[str]) -> None:
        # Everything after `runtests` belongs to pytest, so Django's own option parser
        # (which knows -v, --settings, ...) must not see it.
        if argv[2:3] in (["-h"], ["--help"]):
            self.stdout.write(USAGE)
            return
        pytest_arguments = argv[2:]
        if pytest_arguments[:1] == ["--"]:
            pytest_arguments = pytest_arguments[1:]
        sys.exit(run_tests(pytest_arguments))

    def handle(self, *args, **options) -> None:
        sys.exit(run_tests([]))


def say(message: str) -> None:
    print(f"[runtests] {message}", flush=True)


def run_tests(arguments: list[str]) -> int:
    """Run pytest in a child process and return its exit code."""
    var_dir = Path(settings.VAR_DIR)
    env = dict(os.environ)
    private: PrivateRedis | None = None
    try:
        redis_url, private = ensure_redis(env, var_dir, replace_unreachable=False, say=say)
    except RedisUnavailable as problem:
        say(f"error: {problem}")
        return 2
    try:
        env["REDIS_URL"] = redis_url
        env["DJANGO_SETTINGS_MODULE"] = TEST_SETTINGS
        pytest_arguments = list(arguments)
        if chromium_path() is None:
            say(
                "Chromium is not installed, so the browser tests (marker e2e) will not run. "
                "To run them: apt-get install chromium"
            )
            if not has_marker_option(pytest_arguments):
                pytest_arguments = ["-m", "not e2e", *pytest_arguments]
        command = [sys.executable, "-m", "pytest", *pytest_arguments]
        database = redact_url(env.get("DATABASE_URL", "")) or "SQLite under var/"
        say(f"Database: {database}; Redis: {redact_url(redis_url)}")
        return _run_in_foreground(command, cwd=Path(settings.BASE_DIR), env=env)
    finally:
        if private is not None:
            private.stop()
            say("Private Redis stopped.")


def _run_in_foreground(command: list[str], *, cwd: Path, env: dict[str, str]) -> int:
    """Run `command`; a Ctrl-C goes to it (it shares our terminal), SIGTERM is passed on."""
    process = subprocess.Popen(command, cwd=cwd, env=env)  # noqa: S603

    def pass_on(signum: int, frame) -> None:
        if process.poll() is None:
            process.send_signal(signum)

    # Handlers, not SIG_IGN: the child must not inherit an ignored SIGINT.
    previous = {sig: signal.signal(sig, pass_on) for sig in (signal.SIGTERM,)}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, lambda signum, frame: None)
    try:
        return process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
