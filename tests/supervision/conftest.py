"""Fixtures of the manager tools' tests: a manager, CSRs in a queue, live chats."""

import pytest

from config.users import Role
from tests.chat.conftest import make_bot, make_live_chat
from tests.factories import channel_factory, csr_factory, queue_factory, user_factory


@pytest.fixture
def queue(db):
    return queue_factory(name="General", slug="general", service_level_seconds=30)


@pytest.fixture
def channel(queue):
    return channel_factory(default_queue=queue)


@pytest.fixture
def manager(db):
    return user_factory(role=Role.CSR_MANAGER, first_name="Jordan", last_name="Lee")


@pytest.fixture
def make_csr(queue):
    def make(*, queues=None, **fields):
        return csr_factory(queues=queues or [queue], **fields)

    return make


@pytest.fixture
def make_chat(channel, queue):
    def make(**overrides):
        overrides.setdefault("channel", channel)
        overrides.setdefault("queue", queue)
        return make_live_chat(**overrides)

    return make


@pytest.fixture
def bot_factory(db):
    return make_bot
