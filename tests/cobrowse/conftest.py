"""Fixtures for the co-browse tests: a live chat with a CSR and a customer token, a
session in it, and co-browse settings small enough for tests."""

import os

import pytest
import redis
from django.conf import settings as django_settings

from chat.models import AppStudioSettings
from chat.selectors.settings import app_studio_cache_invalidate
from cobrowse.models import CobrowseSession, SessionStatus
from cobrowse.services import cobrowse_answer, cobrowse_request
from tests.chat.conftest import LiveChat, make_live_chat

PREFIX = f"cobrowse-test-{os.getpid()}"


def _clear_keys() -> None:
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{PREFIX}:*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(autouse=True)
def cobrowse_settings(settings):
    """Test limits, and Redis keys of this process only (cleared around each test)."""
    settings.COBROWSE = {"REDIS_PREFIX": PREFIX}
    _clear_keys()
    yield settings.COBROWSE
    _clear_keys()


def requested(chat: LiveChat, via: str = "actions") -> CobrowseSession:
    return cobrowse_request(interaction_id=chat.id, user=chat.csr, via=via)


def running(chat: LiveChat) -> CobrowseSession:
    session = requested(chat)
    return cobrowse_answer(session_id=session.pk, interaction_id=chat.id, allow=True)


def app_studio_cobrowse(on: bool) -> None:
    AppStudioSettings.objects.update_or_create(
        pk=AppStudioSettings.SINGLETON_ID, defaults={"cobrowse_enabled": on}
    )
    app_studio_cache_invalidate()


__all__ = ["SessionStatus", "app_studio_cobrowse", "make_live_chat", "requested", "running"]
