"""`manage.py runportal` serves no debug pages unless DEBUG is set in its environment,
and the demo site, its widget and the static files still work."""

import contextlib
import http.cookiejar
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from config.localredis import free_port
from config.settings import redis_url_with_db
from portal.management.commands.runportal import LOCAL_RUN_DEFAULTS, local_run_environment

BASE_DIR = Path(settings.BASE_DIR)
READY_LINE = "Press Ctrl-C to stop."
START_TIMEOUT = 90.0


def test_without_debug_in_the_environment_the_servers_run_with_debug_off(tmp_path):
    env = local_run_environment({"PATH": "/usr/bin"}, tmp_path)

    assert env["DEBUG"] == "false"
    assert env["SECURE_SSL_REDIRECT"] == env["SESSION_COOKIE_SECURE"] == "false"
    assert env["CSRF_COOKIE_SECURE"] == "false"
    assert env["DEMO_SITE_ENABLED"] == "true"
    assert env["SECRET_KEY"] == (tmp_path / "secret_key").read_text().strip()
    # The same key on the next start: sessions survive a restart.
    assert local_run_environment({}, tmp_path)["SECRET_KEY"] == env["SECRET_KEY"]


def test_debug_set_in_the_environment_is_kept_as_asked(tmp_path):
    for value in ("true", "false"):
        env = local_run_environment({"DEBUG": value}, tmp_path)
        assert env["DEBUG"] == value
        assert not (LOCAL_RUN_DEFAULTS.keys() - {"DEBUG"}) & env.keys()
        assert "SECRET_KEY" not in env


def test_the_users_own_values_win_over_the_local_defaults(tmp_path):
    env = local_run_environment({"DEMO_SITE_ENABLED": "false", "SECRET_KEY": "k" * 50}, tmp_path)

    assert env["DEBUG"] == "false"
    assert env["DEMO_SITE_ENABLED"] == "false"
    assert env["SECRET_KEY"] == "k" * 50


# --- the real command ---------------------------------------------------------------------


@dataclass
class Portal:
    url: str
    log: Path
    opener: urllib.request.OpenerDirector
    cookies: http.cookiejar.CookieJar

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        return self.request(urllib.request.Request(self.url + path))

    def request(self, request: urllib.request.Request) -> tuple[int, dict[str, str], bytes]:
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, dict(response.headers.items()), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers.items()), error.read()

    def csrf_token(self) -> str:
        return next(cookie.value for cookie in self.cookies if cookie.name == "csrftoken")


@pytest.fixture(scope="module")
def portal(tmp_path_factory) -> Iterator[Portal]:
    """runportal as the README runs it: no DEBUG in its environment."""
    root = tmp_path_factory.mktemp("runportal-nodebug")
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in LOCAL_RUN_DEFAULTS and key != "SECRET_KEY"
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"sqlite:///{root / 'portal.sqlite3'}",
        PORTAL_VAR_DIR=str(root / "var"),
        STATIC_ROOT=str(root / "static"),
        REDIS_URL=redis_url_with_db(settings.REDIS_URL, 12),
    )
    log = root / "runportal.log"
    command = [sys.executable, "manage.py", "runportal", "--host", "127.0.0.1"]
    with open(log, "w") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while READY_LINE not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"runportal did not start:\n{log.read_text()[-4000:]}")
            time.sleep(0.5)
        cookies = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(cookies)
        )
        yield Portal(url=f"http://127.0.0.1:{port}", log=log, opener=opener, cookies=cookies)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.slow
def test_runportal_serves_no_debug_pages_by_default(portal):
    status, _headers, body = portal.get("/no-such-page/")

    assert status == 404
    assert b"URLconf" not in body and b"DEBUG = True" not in body
    assert "Debug pages are off" in portal.log.read_text()


@pytest.mark.slow
def test_runportal_still_serves_the_demo_site_the_widget_and_the_bot(portal):
    status, headers, body = portal.get("/demo/")
    assert status == 200, body[:300]
    assert "Content-Security-Policy" in headers
    for asset in (
        "/static/chat/widget.js",
        "/static/chat/demo.js",
        "/static/portal/css/portal.css",
    ):
        assert portal.get(asset)[0] == 200, asset

    deep = b'{"state": ' + b"[" * 3000 + b"]" * 3000 + b"}"
    request = urllib.request.Request(
        portal.url + "/demo/bot/",
        data=deep,
        method="POST",
        headers={"Content-Type": "application/json", "X-CSRFToken": portal.csrf_token()},
    )
    status, headers, body = portal.request(request)
    assert status == 400, body[:300]
    assert json.loads(body)["code"] == "invalid"

    greeting = urllib.request.Request(
        portal.url + "/demo/bot/",
        data=json.dumps(
            {"state": {}, "text": "", "client": {"customer_id": "abcdefgh-12"}}
        ).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "X-CSRFToken": portal.csrf_token()},
    )
    status, headers, body = portal.request(greeting)
    assert status == 200, body[:300]
    assert json.loads(body)["replies"]
