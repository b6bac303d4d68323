"""The App Studio settings: one record that every process reads often and that changes
seldom. Each process keeps the copy it read for LOCAL_SECONDS, then reads the shared
cache (Redis), and the database when the cache has none or Redis is down; saving the
record drops the cached copies once it commits (every process sees the change within
LOCAL_SECONDS)."""

import contextlib
import logging
import time
from typing import Any

from django.conf import settings
from django.db import transaction

from chat.models import AppStudioSettings
from config.redis import REDIS_ERRORS, shared_cache

logger = logging.getLogger(__name__)

CACHE_KEY = "app-studio-settings:v1"
LOCAL_SECONDS = 1.0

_local: tuple[float, AppStudioSettings] | None = None


def app_studio_settings_get() -> AppStudioSettings:
    """The App Studio settings (see the module docstring for how fresh)."""
    global _local
    local = _local
    if local is not None and time.monotonic() - local[0] < LOCAL_SECONDS:
        return local[1]
    record = _app_studio_settings_shared()
    _local = (time.monotonic(), record)
    return record


def _app_studio_settings_shared() -> AppStudioSettings:
    try:
        # The process-wide backend: sockets read this while they connect (config/redis.py).
        cached = shared_cache().get(CACHE_KEY)
    except REDIS_ERRORS:
        logger.warning("App Studio settings read from the database (Redis is down)")
        return _app_studio_settings_stored()
    if isinstance(cached, AppStudioSettings):
        return cached
    record = _app_studio_settings_stored()
    with contextlib.suppress(*REDIS_ERRORS):  # if not, read from the database next time
        shared_cache().set(CACHE_KEY, record, settings.PORTAL["APP_STUDIO_CACHE_SECONDS"])
    return record


def _app_studio_settings_stored() -> AppStudioSettings:
    record, _ = AppStudioSettings.objects.get_or_create(pk=AppStudioSettings.SINGLETON_ID)
    return record


def app_studio_cache_invalidate() -> None:
    """Drop the cached copies: this process's at once, every other's within
    LOCAL_SECONDS."""
    global _local
    _local = None
    try:
        shared_cache().delete(CACHE_KEY)
    except REDIS_ERRORS:
        logger.warning("App Studio settings left in the cache (Redis is down)", exc_info=True)


def app_studio_settings_saved(**kwargs: Any) -> None:
    """post_save receiver of AppStudioSettings (chat/apps.py): the new values are read
    once they are committed."""
    transaction.on_commit(app_studio_cache_invalidate)
