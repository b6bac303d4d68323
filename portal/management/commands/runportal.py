"""`manage.py runportal`: set up and run the whole portal on this machine.

Finds Redis (or starts a private one), migrates, collects static files, seeds the demo
data, then runs daphne, a Celery worker and Celery beat as child processes until Ctrl-C.
"""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NoReturn

from django.conf import settings
from django.core.management.base import BaseCommand

from config.env import local_secret_key
from config.localredis import PrivateRedis, RedisUnavailable, ensure_redis

HEALTH_TIMEOUT_SECONDS = 90.0
STOP_GRACE_SECONDS = 10.0
POLL_SECONDS = 0.2
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# A local run serves no debug pages (tracebacks, settings) to whoever reaches it unless
# DEBUG is set in the environment: without it the servers run with DEBUG off and the
# plain-HTTP settings a production run would refuse. Variables set in the environment
# are kept as they are.
LOCAL_RUN_DEFAULTS = {
    "DEBUG": "false",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "SECURE_HSTS_SECONDS": "0",
    "DEMO_SITE_ENABLED": "true",
}
# Straight to the local server, whatever http_proxy says.
_local_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Stopped(Exception):
    """SIGINT or SIGTERM asked the portal to stop."""


class RunFailed(Exception):
    """A set-up step failed or a server died; the message says which."""


@dataclass
class Child:
    """One long-running server process, in its own process group."""

    name: str
    command: list[str]
    # A line the server logs once it is up (None: /healthz tells instead).
    ready_marker: str | None = None
    ready: threading.Event = field(default_factory=threading.Event, repr=False)
    process: subprocess.Popen | None = None
    reader: threading.Thread | None = field(default=None, repr=False)


class Command(BaseCommand):
    help = (
        "Set up and run the portal: Redis (a private one if none answers), migrations, "
        "static files, demo data, then daphne, a Celery worker and Celery beat until Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address daphne listens on.")
        parser.add_argument("--port", type=int, default=8000, help="Port daphne listens on.")
        parser.add_argument(
            "--no-seed", action="store_true", help="Do not create or refresh the demo data."
        )

    def handle(self, *args, host: str, port: int, no_seed: bool, **options) -> None:
        code = PortalRunner(host=host, port=port, seed=not no_seed).run()
        if code:
            sys.exit(code)


class PortalRunner:
    """Runs the set-up steps and supervises the servers; `run()` returns the exit code."""

    def __init__(self, *, host: str, port: int, seed: bool, out: IO[str] = sys.stdout):
        self.host = host
        self.port = port
        self.seed = seed
        self.out = out
        self.base_dir = Path(settings.BASE_DIR)
        self.var_dir = Path(settings.VAR_DIR)
        self.var_dir.mkdir(parents=True, exist_ok=True)  # beat's schedule, the bot's token
        self.env: dict[str, str] = {}
        self.children: list[Child] = []
        self.private_redis: PrivateRedis | None = None
        self.stop_signal: int | None = None
        self.seed_output = ""
        self._print_lock = threading.Lock()

    # --- output -----------------------------------------------------------------------
    def say(self, message: str = "", prefix: str = "[runportal] ") -> None:
        with self._print_lock:
            for line in message.splitlines() or [""]:
                self.out.write(f"{prefix}{line}\n" if prefix else f"{line}\n")
            self.out.flush()

    # --- the whole run ----------------------------------------------------------------
    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}
        try:
            self._set_up()
            self._start_servers()
            self._wait_until_healthy()
            self._print_welcome()
            self._supervise()
        except Stopped:
            self.say(f"{signal.Signals(self.stop_signal or signal.SIGINT).name}: stopping…")
            return 0
        except RunFailed as failure:
            self.say(f"error: {failure}")
            return 1
        finally:
            self._stop_servers()
            if self.private_redis is not None:
                self.private_redis.stop()
                self.say("Private Redis stopped.")
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, frame) -> None:
        self.stop_signal = signum

    def _check_stop(self) -> None:
        if self.stop_signal is not None:
            raise Stopped

    # --- set-up -----------------------------------------------------------------------
    def _set_up(self) -> None:
        self.env = local_run_environment(dict(os.environ), self.var_dir)
        try:
            redis_url, self.private_redis = ensure_redis(
                dict(os.environ), self.var_dir, replace_unreachable=True, say=self.say
            )
        except RedisUnavailable as problem:
            raise RunFailed(str(problem)) from None
        self.env["REDIS_URL"] = redis_url
        self._check_stop()
        self.say("Migrating the database…")
        self._manage("migrate", "--noinput", "-v", "0")
        self.say("Collecting static files…")
        self._manage("collectstatic", "--noinput", "-v", "0")
        if self.seed:
            self.say("Seeding the demo data…")
            self.seed_output = self._manage("seed_demo", capture=True)

    def _manage(self, *arguments: str, capture: bool = False) -> str:
        """Run a management command in a fresh process with the children's environment.

        It gets a session of its own, like the servers: on a stop signal we end it
        ourselves, without a KeyboardInterrupt traceback in the middle of the output."""
        command = [sys.executable, str(self.base_dir / "manage.py"), *arguments]
        pipe = subprocess.PIPE if capture else None
        process = subprocess.Popen(  # noqa: S603
            command,
            cwd=self.base_dir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=pipe,
            stderr=pipe,
            text=True,
            start_new_session=True,
        )
        while True:
            try:
                output, errors = process.communicate(timeout=POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                if self.stop_signal is not None:
                    process.terminate()
                    process.communicate()
                    raise Stopped from None
        if process.returncode != 0:
            if capture:
                self.say((output or "") + (errors or ""), prefix="")
            raise RunFailed(f"`manage.py {arguments[0]}` failed (exit code {process.returncode}).")
        self._check_stop()
        return output or ""

    # --- the servers ------------------------------------------------------------------
    def _server_commands(self) -> list[Child]:
        python = sys.executable
        daphne = ["-m", "daphne", "-b", self.host, "-p", str(self.port), "config.asgi:application"]
        worker = ["-m", "celery", "-A", "config", "worker", "-l", "info", "--concurrency", "2"]
        worker += ["--hostname", f"portal-{self.port}@%h"]
        beat = ["-m", "celery", "-A", "config", "beat", "-l", "info"]
        beat += ["--schedule", str(self.var_dir / "celerybeat-schedule")]
        return [
            Child("daphne", [python, *daphne]),
            Child("worker", [python, *worker], ready_marker=" ready."),
            # Its banner: beat logs no line of its own at INFO (config/settings.py LOGGING).
            Child("beat", [python, *beat], ready_marker="celery beat v"),
        ]

    def _start_servers(self) -> None:
        children = self._server_commands()
        width = max(len(child.name) for child in children)
        for child in children:
            # Their own process group: a Ctrl-C in the terminal reaches only us, and we
            # stop them in order; killing the group also ends the worker's pool processes.
            child.process = subprocess.Popen(  # noqa: S603
                child.command,
                cwd=self.base_dir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                start_new_session=True,
            )
            prefix = f"[{child.name}]".ljust(width + 3)
            child.reader = threading.Thread(target=self._relay, args=(child, prefix), daemon=True)
            child.reader.start()
            self.children.append(child)
            self.say(f"Started {child.name} (pid {child.process.pid}).")

    def _relay(self, child: Child, prefix: str) -> None:
        assert child.process is not None and child.process.stdout is not None
        for line in child.process.stdout:
            self.say(line.rstrip("\n"), prefix=prefix)
            if child.ready_marker and child.ready_marker in line:
                child.ready.set()

    def _fail_if_a_child_died(self) -> None:
        for child in self.children:
            assert child.process is not None
            if child.process.poll() is not None:
                raise RunFailed(
                    f"{child.name} exited unexpectedly (exit code {child.process.returncode}); "
                    "stopping the others."
                )

    def _stop_servers(self) -> None:
        running = [c for c in self.children if c.process and c.process.poll() is None]
        for child in running:
            assert child.process is not None
            child.process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{child.name} did not stop in {STOP_GRACE_SECONDS:.0f} s: killing it.")
        for child in self.children:
            assert child.process is not None
            _kill_group(child.process.pid)  # also whatever it left behind
            child.process.wait()
            if child.reader is not None:
                child.reader.join(timeout=2)
        if running:
            self.say("Stopped daphne, the Celery worker and Celery beat.")
        self.children = []

    # --- ready ------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]"}.get(  # noqa: S104
            self.host, self.host
        )
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def _wait_until_healthy(self) -> None:
        self.say(f"Waiting for {self.base_url}/healthz…")
        deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
        status: int | None = None
        waiting: list[Child] = []
        while time.monotonic() < deadline:
            self._check_stop()
            self._fail_if_a_child_died()
            status = _http_status(f"{self.base_url}/healthz")
            waiting = [c for c in self.children if c.ready_marker and not c.ready.is_set()]
            if status == 200 and not waiting:
                return
            if status == 400:
                raise RunFailed(
                    f"the portal refuses the host {self.host!r} (HTTP 400): add it to "
                    "ALLOWED_HOSTS (see docs/configuration.md)."
                )
            time.sleep(POLL_SECONDS * 2)
        if status != 200:
            raise RunFailed(
                f"/healthz did not answer 200 within {HEALTH_TIMEOUT_SECONDS:.0f} s "
                "(it checks the database and Redis)."
            )
        names = ", ".join(child.name for child in waiting)
        raise RunFailed(f"{names} did not report ready within {HEALTH_TIMEOUT_SECONDS:.0f} s.")

    def _print_welcome(self) -> None:
        url = self.base_url
        demo_note = ""
        if _http_status(f"{url}/demo/") == 404:
            demo_note = "  (not there yet: it arrives with the live-chat work)"
        lines = [
            "",
            "=" * 72,
            "The CSR Interaction Portal is running.",
            f"  Portal:              {url}/",
            f"  Admin:               {url}/admin/",
            f"  API docs:            {url}/api/docs/",
            f"  Demo customer page:  {url}/demo/{demo_note}",
        ]
        if self.private_redis is not None:
            lines.append(f"  Private Redis:       {self.env['REDIS_URL']}")
        if self.seed_output.strip():
            lines += ["", self.seed_output.rstrip()]
        token_file = self.var_dir / "demo_bot_token"
        if "token" not in self.seed_output.lower() and token_file.exists():
            lines += ["", f"Demo bot token: {token_file.read_text().strip()}"]
        if not self.seed:
            lines += ["", "Demo data not refreshed (--no-seed); the demo logins are in README.md."]
        if self.env.get("DEBUG") == "false" and "DEBUG" not in os.environ:
            lines += ["", "Debug pages are off: run with DEBUG=true to see them."]
        lines += ["", "Press Ctrl-C to stop.", "=" * 72, ""]
        self.say("\n".join(lines), prefix="")

    def _supervise(self) -> NoReturn:
        """Wait for a stop signal (→ Stopped) or a server's death (→ RunFailed)."""
        while True:
            self._check_stop()
            self._fail_if_a_child_died()
            time.sleep(POLL_SECONDS)


def local_run_environment(environ: dict[str, str], var_dir: Path) -> dict[str, str]:
    """The environment of the set-up steps and the servers: `environ`, plus
    LOCAL_RUN_DEFAULTS and the local secret key unless DEBUG is set in it."""
    env = dict(environ, PYTHONUNBUFFERED="1")
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if "DEBUG" in environ:
        return env
    for name, value in LOCAL_RUN_DEFAULTS.items():
        env.setdefault(name, value)
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = local_secret_key(var_dir)
    return env


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _http_status(url: str) -> int | None:
    """The HTTP status of a GET, or None when nothing answers."""
    try:
        with _local_http.open(url, timeout=3) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError):
        return None
