"""Times in an escalation's bot transcript are checked on the way in: from 2000-01-01
to five minutes past the server's clock. Anything else is a 400 on the entry's `at`, and
nothing is stored."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import Message
from tests.chat.test_api import assert_error, nothing_written

pytestmark = pytest.mark.django_db


def _in(minutes: int) -> str:
    return (timezone.now() + timedelta(minutes=minutes)).isoformat()


@pytest.mark.parametrize(
    "at",
    [
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
        "0001-01-01T00:00:00+05:00",
        pytest.param(None, id="ten-minutes-ahead"),
    ],
)
def test_a_transcript_time_outside_the_window_is_a_400_on_its_field(bot, escalation_body, at):
    """The entry's `at` is refused with a message naming the window; nothing is written."""
    at = at or _in(10)
    transcript = [
        {"from": "customer", "text": "hi", "at": "2025-03-01T09:30:00Z"},
        {"from": "bot", "text": "hello", "at": at},
    ]

    response = bot.escalate(escalation_body(transcript=transcript))

    body = assert_error(response, 400, "invalid", "transcript.1.at")
    [error] = [e for e in body["errors"] if e["field"] == "transcript.1.at"]
    assert error["code"] == "out_of_range", error
    assert (
        "Give a time from 2000-01-01T00:00:00Z to 5 minutes after this server's clock"
        in (error["message"])
    )
    assert nothing_written()


def test_transcript_times_inside_the_window_are_stored(bot, escalation_body):
    """The first moment of 2000, a time a minute ahead (another host's clock) and no time
    at all (now) are accepted and stored as sent."""
    transcript = [
        {"from": "customer", "text": "a", "at": "2000-01-01T00:00:00Z"},
        {"from": "bot", "text": "b", "at": _in(1)},
        {"from": "customer", "text": "c", "at": None},
    ]

    response = bot.escalate(escalation_body(transcript=transcript))

    assert response.status_code == 201, response.content
    stored = Message.objects.filter(pre_escalation=True).order_by("seq")
    assert stored[0].created_at.isoformat() == "2000-01-01T00:00:00+00:00"
    assert [m.text for m in stored] == ["a", "b", "c"]
