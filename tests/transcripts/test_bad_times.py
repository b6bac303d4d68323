"""A time at the edge of what a datetime holds (9999-12-31T23:59:59Z, 0001-01-01T00:00Z)
never breaks a transcript: shown in the contact center's zone it would leave the years
1–9999, so it is shown in UTC, exactly, and the rest of the transcript as usual."""

import json
import zoneinfo
from datetime import UTC, datetime

import pytest

from chat.models import Message, SenderKind
from tests.factories import interaction_factory
from tests.transcripts.conftest import login, set_time_zone
from transcripts.formats import (
    Phase,
    Transcript,
    TranscriptEntry,
    TranscriptHeader,
    json_time,
    render_json,
    render_text,
    text_time,
)

LAST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
FIRST = datetime(1, 1, 1, 0, 0, 0, tzinfo=UTC)
NORMAL = datetime(2026, 7, 1, 12, 0, 0, tzinfo=UTC)
PARIS = zoneinfo.ZoneInfo("Europe/Paris")  # east of UTC: 9999-12-31 overflows
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")  # west of UTC: 0001-01-01 overflows


@pytest.mark.parametrize(
    ("moment", "zone", "text", "iso"),
    [
        (LAST, PARIS, "9999-12-31 23:59:59 +00:00", "9999-12-31T23:59:59.000+00:00"),
        (FIRST, NEW_YORK, "0001-01-01 00:00:00 +00:00", "0001-01-01T00:00:00.000+00:00"),
        (LAST, NEW_YORK, "9999-12-31 18:59:59 -05:00", "9999-12-31T18:59:59.000-05:00"),
        (NORMAL, PARIS, "2026-07-01 14:00:00 +02:00", "2026-07-01T14:00:00.000+02:00"),
    ],
)
def test_a_time_the_zone_cannot_hold_is_shown_in_utc(moment, zone, text, iso):
    """Only a time the zone's offset would carry out of range falls back to UTC."""
    assert text_time(moment, zone) == text
    assert json_time(moment, zone) == iso


def test_both_formats_render_every_entry_around_a_bad_time():
    """With entries at both ends of the range in a zone east of UTC and one west of it,
    both formats render to the end, the good entries in the zone."""
    header = TranscriptHeader(
        interaction_id=7,
        status="ended",
        status_label="Ended",
        customer_name="Dana",
        customer_external_id="",
        channel="Web",
        queue="Billing",
        csrs=(),
        started_at=NORMAL,
        ended_at=NORMAL,
        authenticated=False,
    )
    entries = [
        TranscriptEntry(
            seq=n, at=at, phase=Phase.BOT, sender_kind=SenderKind.CUSTOMER, sender="Dana", text=t
        )
        for n, (at, t) in enumerate(((LAST, "far future"), (FIRST, "far past"), (NORMAL, "ok")), 1)
    ]
    for zone in (PARIS, NEW_YORK):
        transcript = Transcript(
            header=header, entries=entries, time_zone=zone, time_zone_name=str(zone)
        )
        text = "".join(render_text(transcript))
        assert "End of transcript: 3 messages." in text
        document = json.loads("".join(render_json(transcript)))
        assert document["message_count"] == 3
        assert document["messages"][2]["at"] == json_time(NORMAL, zone)


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York"])
def test_a_stored_bad_time_does_not_break_the_download(roles, manager, zone):
    """A chat holding bot lines stamped 9999-12-31T23:59:59Z and 0001-01-01T00:00:00Z
    (stored before times were checked on the way in) downloads in full, in both formats,
    whatever the App Studio time zone."""
    set_time_zone(zone)
    interaction = interaction_factory(ended_at=NORMAL)
    Message.objects.bulk_create(
        Message(
            interaction=interaction,
            seq=seq,
            sender_kind=SenderKind.CUSTOMER,
            author_name="Dana",
            text=text,
            pre_escalation=True,
            created_at=at,
        )
        for seq, (at, text) in enumerate(((LAST, "future"), (FIRST, "past"), (NORMAL, "ok")), 1)
    )
    client = login(manager)
    text = client.get(f"/interactions/{interaction.pk}/ChatTranscript.txt")
    assert text.status_code == 200
    body = b"".join(text.streaming_content).decode()
    assert "[9999-12-31 23:59:59 +00:00] Dana (customer): future" in body or (
        "[9999-12-31 18:59:59 -05:00] Dana (customer): future" in body
    )
    assert "End of transcript: 3 messages." in body
    data = client.get(f"/interactions/{interaction.pk}/ChatTranscript.json")
    document = json.loads(b"".join(data.streaming_content))
    assert [m["text"] for m in document["messages"]] == ["future", "past", "ok"]
