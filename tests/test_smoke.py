"""The project boots and its shared selector works."""

import pytest

from chat.selectors.settings import app_studio_settings_get


@pytest.mark.django_db
def test_app_studio_settings_are_created_once_and_cached(django_assert_num_queries):
    first = app_studio_settings_get()
    with django_assert_num_queries(0):
        second = app_studio_settings_get()
    assert first.pk == second.pk == 1


@pytest.mark.django_db(transaction=True)
def test_saving_app_studio_settings_clears_the_cache():
    record = app_studio_settings_get()
    record.default_offer_timeout_seconds = 45
    record.save()
    assert app_studio_settings_get().default_offer_timeout_seconds == 45
