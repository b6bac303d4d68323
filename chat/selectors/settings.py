"""The App Studio settings: one record every process reads through the cache."""

import contextlib
import logging

from django.conf import settings
from django.core.cache import cache

from chat.models import APP_STUDIO_CACHE_KEY, AppStudioSettings
from config.redis import REDIS_ERRORS

logger = logging.getLogger(__name__)


def app_studio_settings_get() -> AppStudioSettings:
    """The App Studio settings, from the cache when possible (saving the record clears
    it); from the database while Redis is down."""
    try:
        cached = cache.get(APP_STUDIO_CACHE_KEY)
    except REDIS_ERRORS:
        logger.warning("App Studio settings read from the database (Redis is down)")
        return _app_studio_settings_stored()
    if isinstance(cached, AppStudioSettings):
        return cached
    record = _app_studio_settings_stored()
    with contextlib.suppress(*REDIS_ERRORS):  # if not, read from the database next time
        cache.set(APP_STUDIO_CACHE_KEY, record, settings.PORTAL["APP_STUDIO_CACHE_SECONDS"])
    return record


def _app_studio_settings_stored() -> AppStudioSettings:
    record, _ = AppStudioSettings.objects.get_or_create(pk=AppStudioSettings.SINGLETON_ID)
    return record
