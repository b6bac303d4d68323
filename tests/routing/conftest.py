"""Fixtures for the routing tests: CSRs and logged-in WebSocket headers."""

from collections.abc import Callable

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from config.celery_app import app
from config.users import Role
from tests.factories import (
    channel_factory,
    csr_factory,
    interaction_factory,
    queue_factory,
    user_factory,
)

# What a browser on http://localhost sends with a handshake: the Origin must be the
# page's own (scheme, host and port of the Host header) or a trusted one
# (config.origins), so a socket also needs the Host header it is compared with.
ORIGIN_HEADER = (b"origin", b"http://localhost")
HOST_HEADER = (b"host", b"localhost")

Headers = list[tuple[bytes, bytes]]


def login_headers(user: User) -> Headers:
    """Origin and a real session cookie for `user` (sync: call through
    `database_sync_to_async` from async code)."""
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    cookie = f"{name}={client.cookies[name].value}".encode()
    return [ORIGIN_HEADER, HOST_HEADER, (b"cookie", cookie)]


@pytest.fixture
def csr(transactional_db) -> User:
    return user_factory(role=Role.CSR)


@pytest.fixture
def csr_headers(csr: User) -> Headers:
    return login_headers(csr)


@pytest.fixture
def headers_for(transactional_db) -> Callable[[User], Headers]:
    return login_headers


@pytest.fixture
def queue(db):
    return queue_factory(name="General", slug="general")


@pytest.fixture
def channel(queue):
    return channel_factory(default_queue=queue)


@pytest.fixture
def make_csr(queue):
    """A CSR who is a member of `queue` (joined unless told otherwise), Available."""

    def make(*, username=None, queues=None, **options):
        fields = {"username": username} if username else {}
        return csr_factory(queues=queues or [queue], **fields, **options)

    return make


@pytest.fixture
def make_interaction(channel, queue):
    def make(**overrides):
        overrides.setdefault("channel", channel)
        overrides.setdefault("queue", queue)
        return interaction_factory(**overrides)

    return make


@pytest.fixture
def sent(monkeypatch):
    """What the services queue through the broker (eager mode off, nothing is run)."""
    messages: list[tuple[str, tuple, dict]] = []
    monkeypatch.setattr(
        app,
        "send_task",
        lambda name, args=None, *rest, **options: messages.append(
            (name, tuple(args or ()), options)
        ),
    )
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield messages
    app.conf.task_always_eager = eager
