"""Browser tests: Playwright for Python driving Debian's Chromium against a real ASGI
server.

`portal_server` runs daphne for config.asgi:application in a subprocess (pytest-django's
`live_server` serves no WebSockets). The subprocess shares this test run's database,
cache and channel-layer prefix, so a test can set data up and act as a CSR with the ORM
and the services while the browser talks to the server, and events published here reach
the browser's sockets. Tests using it need committed data: `transactional_db`.

Never run `playwright install`: the browser is /usr/bin/chromium (`apt-get install
chromium`). Without it `manage.py runtests` deselects the `e2e` marker and says so; run
directly, these tests are skipped with that reason.
"""

import json
import os
import re
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
from playwright.sync_api import Page

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between browser steps are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
SERVER_START_SECONDS = 30

# The daphne process's settings: the test settings, pointed at this process's test
# database, cache prefix and channel-layer prefix (settings_test derives both prefixes
# from the process id, which differs in the subprocess).
SERVER_SETTINGS = '''\
"""Settings of the e2e tests' daphne subprocess (written by tests/e2e/conftest.py)."""
import json
import os
from pathlib import Path

from config.settings_test import *  # noqa: F403
from config.settings_test import CACHES, CHANNEL_LAYERS, PORTAL

_e2e = json.loads(os.environ["PORTAL_E2E"])
DATABASES = _e2e["databases"]
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = _e2e["layer_prefix"]
CACHES["default"]["KEY_PREFIX"] = _e2e["cache_prefix"]
VAR_DIR = Path(_e2e["var_dir"])
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
# WhiteNoise serves the app's static files straight from the finders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
PORTAL = {**PORTAL, "DEMO_SITE_ENABLED": True, "PUBLIC_BASE_URL": ""}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Pooled, like the daphne of a real deployment (config/settings.py).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": 8}
'''


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Browser tests run last, after pytest's own reordering: Playwright's sync API
    keeps an event loop running in the main thread from its first use to the end of
    the session, and pytest-asyncio cannot run an async test while it does. Without
    Chromium they are skipped, saying why."""
    browser = [item for item in items if "e2e" in item.keywords]
    if not browser:
        return
    items[:] = [item for item in items if "e2e" not in item.keywords] + browser
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(
        reason=f"{CHROMIUM} is missing, so the browser tests did not run (apt-get install chromium)"
    )
    for item in browser:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def base_url(pytestconfig) -> str | None:
    """--base-url, as pytest-playwright's own fallback gives it (that one is a method of a
    class, which pytest 9 warns about). Tests here use `portal_server.url`."""
    return pytestconfig.getoption("--base-url") or pytestconfig.getini("base_url") or None


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": VIEWPORT, "locale": "en-GB"}


@dataclass(frozen=True)
class PortalServer:
    url: str
    var_dir: Path
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="session")
def portal_server(django_db_setup, tmp_path_factory) -> Iterator[PortalServer]:
    """daphne serving config.asgi:application on a free port of 127.0.0.1."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing, so the browser tests did not run")
    root = tmp_path_factory.mktemp("portal-server")
    (root / "portal_e2e_settings.py").write_text(SERVER_SETTINGS)
    var_dir = root / "var"
    var_dir.mkdir()
    log = root / "daphne.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal_e2e_settings",
        "PYTHONPATH": os.pathsep.join([str(root), str(settings.BASE_DIR)]),
        "PYTHONUNBUFFERED": "1",
        "PORTAL_E2E": json.dumps(
            {
                "databases": settings.DATABASES,
                "layer_prefix": settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
                "cache_prefix": settings.CACHES["default"]["KEY_PREFIX"],
                "var_dir": str(var_dir),
            },
            default=str,
        ),
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                "0",
                "--access-log",
                "-",
                "config.asgi:application",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        server = PortalServer(url=_wait_for_daphne(process, log), var_dir=var_dir, log=log)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_daphne(process: subprocess.Popen, log: Path) -> str:
    deadline = time.monotonic() + SERVER_START_SECONDS
    url = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited with {process.returncode}:\n{log.read_text()}")
        if url is None:
            found = re.search(r"Listening on TCP address 127\.0\.0\.1:(\d+)", log.read_text())
            if found:
                url = f"http://127.0.0.1:{found.group(1)}"
        if url is not None:
            try:
                with urllib.request.urlopen(f"{url}/static/chat/widget.js", timeout=2) as reply:
                    if reply.status == 200:
                        return url
            except (urllib.error.URLError, OSError):
                pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"daphne did not answer within {SERVER_START_SECONDS} s:\n{log.read_text()}")


@pytest.fixture
def page(transactional_db, page):
    """pytest-playwright's page, opened once the test database is set up, so that it is
    closed before the database is flushed: a page still open at teardown (a late request
    of its own) ran a query in the live server while the flush's TRUNCATE took its
    locks, and PostgreSQL ended the flush as a deadlock (seen once in CI)."""
    return page


@pytest.fixture
def csr_page(browser, browser_context_args, request):
    """A second browser, for the CSR: its own cookies, like another computer, and the
    test's browser_context_args marker applied as pytest-playwright applies it to
    `page`."""
    marker = request.node.get_closest_marker("browser_context_args")
    context = browser.new_context(**{**browser_context_args, **(marker.kwargs if marker else {})})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def demo(transactional_db, portal_server, settings):
    """The demo data as `seed_demo` makes it, with the bot's token where the server's
    demo bot reads it."""
    from portal.services import demo_seed

    settings.VAR_DIR = portal_server.var_dir
    return demo_seed()


@pytest.fixture
def dialogs(page: Page) -> list[str]:
    """Every alert/confirm/prompt the page opens (there must be none)."""
    opened: list[str] = []

    def record(dialog):
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return opened
