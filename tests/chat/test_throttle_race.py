"""The per-client rate limit holds when a client's requests arrive at the same time."""

import threading
from types import SimpleNamespace

import pytest
from django.core.cache import cache

from chat.api.throttling import BotClientRateThrottle
from chat.models import BotClient

REQUESTS = 40
LIMIT = 10


@pytest.fixture
def client_request(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"bot_client": f"{LIMIT}/minute"},
    }
    cache.clear()
    client = BotClient(pk=424242, name="Racing bot")
    return SimpleNamespace(user=client)


def test_concurrent_requests_of_one_client_never_exceed_its_rate(client_request):
    barrier = threading.Barrier(REQUESTS)
    allowed = []

    def one() -> None:
        throttle = BotClientRateThrottle()
        barrier.wait()
        allowed.append(throttle.allow_request(client_request, view=None))

    threads = [threading.Thread(target=one) for _ in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert allowed.count(True) == LIMIT
    assert BotClientRateThrottle().allow_request(client_request, view=None) is False
