"""HTTP through the ASGI application (config.asgi): the middleware chain and the view
run in one hop to the request's thread, and the chain still does its work."""

import json
from typing import Any

import pytest
from asgiref import sync
from asgiref.testing import ApplicationCommunicator
from django.contrib.auth.models import User

from config.asgi import application
from tests.chat.conftest import ESCALATIONS_URL, build_escalation_body, make_bot
from tests.factories import channel_factory

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def _request(
    method: str, path: str, *, body: bytes = b"", headers: list[tuple[bytes, bytes]] = ()
) -> tuple[int, dict[bytes, bytes], bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    app = ApplicationCommunicator(application, scope)
    await app.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await app.receive_output(10)
    chunks = []
    while True:
        message = await app.receive_output(10)
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    await app.wait(10)
    headers_out = {name.lower(): value for name, value in start["headers"]}
    return start["status"], headers_out, b"".join(chunks)


def _count_thread_hops(monkeypatch) -> list[Any]:
    hops: list[Any] = []
    original = sync.SyncToAsync.__call__

    async def counted(self, *args, **kwargs):
        hops.append(self.func)
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(sync.SyncToAsync, "__call__", counted)
    return hops


async def test_an_escalation_runs_its_middleware_and_view_in_one_hop(monkeypatch):
    bot = await sync.sync_to_async(make_bot)(
        channel=await sync.sync_to_async(channel_factory)(slug="web")
    )
    hops = _count_thread_hops(monkeypatch)

    status, headers, body = await _request(
        "POST",
        ESCALATIONS_URL,
        body=json.dumps(build_escalation_body()).encode(),
        headers=[
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {bot.token}".encode()),
        ],
    )

    assert status == 201, body
    assert json.loads(body)["status"] == "queued"
    # The security and clickjacking middleware ran (their headers are set).
    assert headers[b"x-frame-options"] == b"DENY"
    assert headers[b"x-content-type-options"] == b"nosniff"
    # request_started, the chain with its view, closing the response: Django's own
    # handler took one hop per middleware method as well (about fifteen).
    assert len(hops) <= 3, [getattr(func, "__qualname__", func) for func in hops]


async def test_the_chain_still_checks_sessions_and_csrf():
    await sync.sync_to_async(User.objects.create_user)(username="ana", password="pw-12345678")

    status, headers, _ = await _request("GET", "/")
    assert status == 302  # not logged in: to the login page
    assert b"/login" in headers[b"location"]

    status, _, _ = await _request(
        "POST",
        "/accounts/login/",
        body=b"username=ana&password=pw-12345678",
        headers=[(b"content-type", b"application/x-www-form-urlencoded")],
    )
    assert status == 403  # no CSRF token: refused by CsrfViewMiddleware
