"""Reads of channels, settings, customers, interactions and messages."""

from django.conf import settings
from django.core.cache import cache

from chat.models import AppStudioSettings

APP_STUDIO_CACHE_KEY = "app-studio-settings:v1"


def app_studio_settings_get() -> AppStudioSettings:
    """The App Studio settings, from the cache when possible (saving the record clears it)."""
    cached = cache.get(APP_STUDIO_CACHE_KEY)
    if isinstance(cached, AppStudioSettings):
        return cached
    record, _ = AppStudioSettings.objects.get_or_create(pk=AppStudioSettings.SINGLETON_ID)
    cache.set(APP_STUDIO_CACHE_KEY, record, settings.PORTAL["APP_STUDIO_CACHE_SECONDS"])
    return record


def app_studio_cache_invalidate() -> None:
    cache.delete(APP_STUDIO_CACHE_KEY)
