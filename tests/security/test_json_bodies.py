"""Malformed, oversized and unstorable JSON bodies get the API's 4xx error on every JSON
POST endpoint, never a 500, and nothing is written."""

import pytest

from chat.api.parsers import MAX_JSON_DEPTH
from chat.models import Customer, Interaction
from tests.security.conftest import assert_api_error

pytestmark = pytest.mark.django_db

MALFORMED = {
    "nested 2,500 deep": b'{"a": ' + b"[" * 2500 + b"]" * 2500 + b"}",
    "nested just over the limit": b'{"a": ' + b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH + b"}",
    "objects nested 2,500 deep": b'{"a":' * 2500 + b"1" + b"}" * 2500,
    "bad UTF-8": b'{"text": "caf\xe9"}',
    "NaN": b'{"priority": NaN}',
    "Infinity": b'{"priority": -Infinity}',
    "a float too large": b'{"priority": 1e999}',
    "an integer of 5,000 digits": b'{"priority": ' + b"9" * 5000 + b"}",
    "truncated": b'{"text": "hi"',
    "a top-level array": b"[1, 2]",
    "a top-level string": b'"hello"',
    "a top-level number": b"42",
    "a top-level null": b"null",
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_body_is_a_400_on_every_json_endpoint(json_endpoints, body):
    """Whatever the endpoint (even those that read no body), a body that is not a
    sensible JSON object is a 400 in the API's error shape, and nothing is stored."""
    customers, interactions = Customer.objects.count(), Interaction.objects.count()
    for endpoint in json_endpoints:
        response = endpoint.post(body)
        assert_api_error(response, 400, {"parse_error", "invalid"})
    assert (Customer.objects.count(), Interaction.objects.count()) == (customers, interactions)


def test_the_nesting_limit_is_named_in_the_answer(bot):
    deep = b'{"context": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}"

    body = assert_api_error(
        bot.api.post("/api/v1/escalations/", deep, content_type="application/json"),
        400,
        {"parse_error"},
    )
    assert f"nested deeper than {MAX_JSON_DEPTH} levels" in body["message"]


def test_a_body_over_djangos_upload_limit_is_the_documented_413(json_endpoints, settings):
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB) is a 413 request_too_large,
    not Django's RequestDataTooBig as a 500."""
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 2_621_440
    body = b'{"text": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    for endpoint in json_endpoints:
        response = endpoint.post(body)
        assert_api_error(response, 413, {"request_too_large"})


def test_a_body_between_the_api_limit_and_djangos_is_a_413(json_endpoints):
    body = b'{"text": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    for endpoint in json_endpoints:
        message = assert_api_error(endpoint.post(body), 413, {"request_too_large"})["message"]
        assert "larger than the limit" in message
