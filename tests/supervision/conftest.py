"""Fixtures of the manager tools' tests: a manager, CSRs in a queue, live chats."""

import pytest

from config.users import Role
from routing.models import CSRStatus, QueueMembership
from routing.services.presence import csr_profile_ensure
from tests.chat.conftest import make_bot, make_live_chat
from tests.factories import channel_factory, queue_factory, user_factory


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
    def make(*, status=CSRStatus.AVAILABLE, queues=None, **fields):
        user = user_factory(role=Role.CSR, **fields)
        profile = csr_profile_ensure(user=user)
        profile.status = status
        profile.save()
        for q in queues or [queue]:
            QueueMembership.objects.create(user=user, queue=q, joined=True)
        return user

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
