"""Fixtures shared by the whole suite."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The cache is real Redis and outlives each test's database rollback: clear it."""
    cache.clear()
    yield
    cache.clear()
