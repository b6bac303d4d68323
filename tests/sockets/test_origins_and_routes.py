"""A handshake passes the Origin check only from an origin Django's CSRF check would
accept (scheme, host and port: the page's own, or CSRF_TRUSTED_ORIGINS), and a path no
consumer serves is refused at the handshake at once (HTTP 403), never with a 500 or a
wait."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from config.asgi import application
from config.localredis import free_port
from config.origins import allowed_origins, handshake_origin

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def handshake(path: str, origin: str | None, host: str | None = "localhost") -> bool:
    """Whether the handshake is accepted (an unauthenticated socket is accepted, then
    closed with 4401: past the Origin check)."""
    headers = []
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if host is not None:
        headers.append((b"host", host.encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    try:
        connected, _ = await communicator.connect(timeout=5)
        return connected
    finally:
        await communicator.disconnect()


@pytest.mark.parametrize(
    ("origin", "host", "accepted"),
    [
        ("http://localhost", "localhost", True),
        ("http://localhost:8000", "localhost:8000", True),
        ("http://localhost:1", "localhost", False),  # another port: another site
        ("http://localhost", "localhost:8000", False),
        ("http://localhost:1", "localhost:8000", False),
        ("https://localhost", "localhost", False),  # the socket is not wss
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
        ("http://evil.test", "evil.test", False),  # a host outside ALLOWED_HOSTS
        ("http://evil.test", "localhost", False),
        ("null", "localhost", False),
        (None, "localhost", False),
        ("http://localhost", None, False),  # nothing to compare with
    ],
)
async def test_only_the_pages_own_origin_passes(origin, host, accepted):
    assert await handshake("/ws/agent/", origin, host) is accepted


async def test_csrf_trusted_origins_pass_with_their_port(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://portal.example.com", "https://*.example.net"]
    assert await handshake("/ws/agent/", "https://portal.example.com")
    assert not await handshake("/ws/agent/", "https://portal.example.com:8443")
    assert not await handshake("/ws/agent/", "http://portal.example.com")
    assert await handshake("/ws/agent/", "https://eu.example.net")
    assert await handshake("/ws/agent/", "https://example.net")
    assert not await handshake("/ws/agent/", "https://eu.example.net:444")
    assert not await handshake("/ws/agent/", "https://example.org")


async def test_the_own_origin_follows_the_scheme_and_a_trusted_proxy(settings):
    def scope(scheme, *headers):
        return {"type": "websocket", "scheme": scheme, "headers": list(headers)}

    host = (b"host", b"localhost:8443")
    assert handshake_origin(scope("ws", host)) == "http://localhost:8443"
    assert handshake_origin(scope("wss", host)) == "https://localhost:8443"
    forwarded = (b"x-forwarded-proto", b"https")
    assert handshake_origin(scope("ws", host, forwarded)) == "http://localhost:8443"
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert handshake_origin(scope("ws", host, forwarded)) == "https://localhost:8443"
    assert handshake_origin(scope("ws", (b"host", b"evil.test"))) is None
    # No Host header: the server's address, as Django's get_host() falls back to.
    bare = {"type": "websocket", "scheme": "ws", "headers": [], "server": ("127.0.0.1", 80)}
    assert allowed_origins(bare) == ["http://127.0.0.1"]


@pytest.mark.parametrize(
    "path",
    ["/ws/nothing-here/", "/ws/chat/abc/", "/ws/agent", "/ws/customer/12/extra/", "/ws/", "/"],
)
async def test_a_path_no_consumer_serves_is_refused_at_the_handshake(path):
    started = time.monotonic()
    communicator = WebsocketCommunicator(
        application, path, headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")]
    )
    try:
        connected, _ = await communicator.connect(timeout=2)
        assert not connected
    finally:
        await communicator.disconnect()
    assert time.monotonic() - started < 1


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
        return True
    return False


@pytest.fixture(scope="module")
def daphne_url(tmp_path_factory):
    """A real daphne serving the portal (the test settings) on a free port."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "PORTAL_VAR_DIR": str(tmp_path_factory.mktemp("daphne-var")),
    }
    log = tmp_path_factory.mktemp("daphne-log") / "daphne.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
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
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not _listening(port):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield f"ws://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def status_of(url: str, origin: str) -> int:
    """The HTTP status daphne answers a handshake with (101: the socket opened)."""
    try:
        async with connect(url, origin=origin, open_timeout=3, proxy=None):
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


async def test_daphne_refuses_unknown_paths_and_foreign_ports_at_once(daphne_url):
    port_origin = daphne_url.replace("ws://", "http://")
    started = time.monotonic()
    assert await status_of(f"{daphne_url}/ws/nothing-here/", port_origin) == 403
    assert await status_of(f"{daphne_url}/ws/chat/abc/", port_origin) == 403
    assert await status_of(f"{daphne_url}/ws/agent/", "http://127.0.0.1:1") == 403
    assert await status_of(f"{daphne_url}/ws/agent/", "http://127.0.0.1") == 403
    assert time.monotonic() - started < 3
    # The page's own origin opens the socket (closed with 4401 for want of a session).
    assert await status_of(f"{daphne_url}/ws/agent/", port_origin) == 101
