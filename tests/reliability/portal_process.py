"""The whole portal as real processes for fault tests: `manage.py runportal` (daphne, a
Celery worker, Celery beat) on a database of its own and a private Redis, plus the
clients a test drives it with (HTTP and WebSockets, as browsers and bots do)."""

import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect

from config.localredis import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 30
FRAME_TIMEOUT_SECONDS = 10.0
HEARTBEAT_SECONDS = 10.0  # as the portal's pages and the widget (util.js, widget.js)
# Straight to the local server, whatever http_proxy says.
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@contextlib.contextmanager
def own_database(tmp_path: Path) -> Iterator[str]:
    """A database for the portal under test: on the PostgreSQL server of DATABASE_URL a
    database of its own, created here and dropped afterwards; else a SQLite file."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{tmp_path / 'portal.sqlite3'}"
        return
    import psycopg

    parts = urlsplit(url)
    name = f"portal_outage_{os.getpid()}_{secrets.token_hex(3)}"
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Portal(contextlib.AbstractContextManager):
    """`manage.py runportal --no-seed` on a free port, with `env` over this process's
    environment; started on enter, stopped (SIGTERM, as Ctrl-C) on exit."""

    def __init__(self, *, tmp_path: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.log = tmp_path / "runportal.log"
        var_dir = tmp_path / "var"
        var_dir.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PORTAL_VAR_DIR": str(var_dir),
            "STATIC_ROOT": str(tmp_path / "static"),
            "SECRET_KEY": "redis-outage-test-" + secrets.token_hex(24),
            "DEBUG": "true",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.process: subprocess.Popen | None = None
        self.children: dict[str, int] = {}  # daphne, worker, beat → pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def __enter__(self) -> "Portal":
        command = [sys.executable, "manage.py", "runportal", "--no-seed", "--port", str(self.port)]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_until_running()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_until_running(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        assert self.process is not None
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            self.children = {
                name: int(pid) for name, pid in re.findall(r"Started (\w+) \(pid (\d+)\)", text)
            }
            if "The CSR Interaction Portal is running." in text:
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"runportal exited with {self.process.returncode}")
            time.sleep(0.2)
        raise RuntimeError(f"runportal was not running after {START_TIMEOUT_SECONDS} s")

    def dead(self) -> list[str]:
        """The processes (runportal and its servers) that are no longer running."""
        assert self.process is not None
        gone = [] if self.process.poll() is None else ["runportal"]
        for name, pid in self.children.items():
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                gone.append(name)
        return gone

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def deaths(self) -> str:
        """Which servers died and why, from the log (runportal's verdict, crashes)."""
        marks = ("[runportal] error", "CRITICAL", "Unrecoverable error")
        lines = self.log.read_text(errors="replace").splitlines()
        found = [line for line in lines if any(mark in line for mark in marks)]
        return "\n".join(found) or self.log_tail()

    def manage(self, *arguments: str, env: dict[str, str] | None = None) -> str:
        """Run a management command against this portal's database; its output."""
        done = subprocess.run(
            [sys.executable, "manage.py", *arguments],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def shell_json(self, code: str, **env: str) -> Any:
        """Run `code` in `manage.py shell`; the JSON it prints on its last line."""
        return json.loads(self.manage("shell", "-c", code, env=env).strip().splitlines()[-1])

    def http(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """One HTTP request; the status and the JSON answer (None when not JSON)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with _http.open(request, timeout=30) as reply:
                status, raw = reply.status, reply.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, None

    def __exit__(self, *exc_info: Any) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for pid in self.children.values():  # left behind only if runportal could not stop them
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


class Socket:
    """A WebSocket client as the portal's pages and the widget are: it sends a heartbeat
    every 10 s and keeps every frame it receives, in order."""

    def __init__(self, name: str, url: str, headers: list[tuple[str, str]]) -> None:
        self.name = name
        self.url = url
        self.headers = headers
        self.frames: list[dict[str, Any]] = []
        self.ws: ClientConnection | None = None
        self.tasks: list[asyncio.Task] = []

    async def open(self) -> "Socket":
        """Connect (a refused handshake, e.g. HTTP 500, raises) and start reading."""
        self.ws = await connect(
            self.url, additional_headers=self.headers, open_timeout=FRAME_TIMEOUT_SECONDS
        )
        self.tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._beat())]
        return self

    async def _read(self) -> None:
        assert self.ws is not None
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                self.frames.append(json.loads(raw))

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await self.send(type="heartbeat")

    async def send(self, **frame: Any) -> None:
        assert self.ws is not None
        await self.ws.send(json.dumps(frame))

    async def wait_for(
        self,
        match: Callable[[dict[str, Any]], bool],
        what: str,
        *,
        after: int = 0,
        timeout: float = FRAME_TIMEOUT_SECONDS,
    ) -> tuple[int, dict[str, Any]]:
        """The first frame from index `after` on that matches, and its index."""
        deadline = time.monotonic() + timeout
        while True:
            for index in range(after, len(self.frames)):
                if match(self.frames[index]):
                    return index, self.frames[index]
            closed = self.ws is None or self.ws.close_code is not None
            if closed or time.monotonic() > deadline:
                got = [frame["type"] for frame in self.frames[after:]]
                code = self.ws.close_code if self.ws is not None else None
                raise AssertionError(
                    f"{self.name}: no {what} within {timeout:.0f} s (closed: {code}); got {got}"
                )
            await asyncio.sleep(0.05)

    async def wait_type(self, kind: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        return await self.wait_for(lambda frame: frame["type"] == kind, kind, **kwargs)

    def types(self, after: int = 0) -> list[str]:
        return [frame["type"] for frame in self.frames[after:]]

    def messages(self) -> list[dict[str, Any]]:
        return [frame for frame in self.frames if frame["type"] == "message"]

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        if self.ws is not None:
            await self.ws.close()
