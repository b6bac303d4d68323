"""The text layout's rules on awkward input, without a database: line breaks of every
kind, control characters, names with line breaks, UTC offsets of odd zones, and a JSON
document that stays valid whatever the text holds."""

import json
import zoneinfo
from datetime import UTC, datetime

import pytest

from chat.models import SenderKind, SystemEvent
from transcripts.formats import (
    Phase,
    Transcript,
    TranscriptEntry,
    TranscriptHeader,
    entry_text,
    render_json,
    render_text,
    text_time,
)

AT = datetime(2026, 7, 1, 12, 0, 0, tzinfo=UTC)
UTC_ZONE = zoneinfo.ZoneInfo("UTC")


def entry(text: str, *, kind=SenderKind.CUSTOMER, sender="Dana", **extra) -> TranscriptEntry:
    return TranscriptEntry(
        seq=1, at=AT, phase=Phase.LIVE, sender_kind=kind, sender=sender, text=text, **extra
    )


def header(**overrides) -> TranscriptHeader:
    fields = {
        "interaction_id": 7,
        "status": "active",
        "status_label": "Active",
        "customer_name": "Dana",
        "customer_external_id": "",
        "channel": "Web",
        "queue": "Billing",
        "csrs": (),
        "started_at": AT,
        "ended_at": None,
        "authenticated": False,
    }
    fields.update(overrides)
    return TranscriptHeader(**fields)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r", "\u2028", "\u2029", "\x85", "\x0b"])
def test_every_kind_of_line_break_starts_an_indented_line(newline):
    """Whatever line break was typed, the next line starts with four spaces and the
    file uses \\n only."""
    text = entry_text(entry(f"first{newline}second"), UTC_ZONE)
    assert text == "[2026-07-01 12:00:00 +00:00] Dana (customer): first\n    second\n"


def test_blank_lines_inside_a_message_stay_indented():
    text = entry_text(entry("a\n\nb\n"), UTC_ZONE)
    assert text == "[2026-07-01 12:00:00 +00:00] Dana (customer): a\n    \n    b\n"


def test_control_characters_become_replacement_characters_and_tabs_stay():
    """A terminal escape or a NUL cannot reach the file; a tab is kept."""
    text = entry_text(entry("red \x1b[31mtext\x00 and\ttab \x7f\x9b"), UTC_ZONE)
    assert "\x1b" not in text and "\x00" not in text and "\x7f" not in text
    assert "red \ufffd[31mtext\ufffd and\ttab \ufffd\ufffd" in text


def test_names_with_line_breaks_are_folded_into_one_line():
    """A sender or customer name cannot start a line of its own."""
    line = entry_text(entry("hi", sender="Dana\n[2026-01-01] *** Fake"), UTC_ZONE)
    assert line == "[2026-07-01 12:00:00 +00:00] Dana [2026-01-01] *** Fake (customer): hi\n"
    transcript = Transcript(
        header=header(customer_name="Dana\r\nReyes", csrs=("Alex\nMorgan",)),
        entries=[],
        time_zone=UTC_ZONE,
        time_zone_name="UTC",
    )
    text = "".join(render_text(transcript))
    assert "Customer: Dana Reyes\n" in text
    assert "CSRs: Alex Morgan\n" in text


def test_system_events_without_text_show_their_label():
    line = entry_text(
        entry("", kind=SenderKind.SYSTEM, sender="", event=SystemEvent.REQUEUED), UTC_ZONE
    )
    assert line == "[2026-07-01 12:00:00 +00:00] *** Re-queued\n"


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("UTC", "2026-07-01 12:00:00 +00:00"),
        ("Europe/Paris", "2026-07-01 14:00:00 +02:00"),
        ("America/St_Johns", "2026-07-01 09:30:00 -02:30"),
        ("Asia/Kathmandu", "2026-07-01 17:45:00 +05:45"),
        ("Pacific/Kiritimati", "2026-07-02 02:00:00 +14:00"),
    ],
)
def test_times_carry_the_zones_offset(zone, expected):
    assert text_time(AT, zoneinfo.ZoneInfo(zone)) == expected


def test_json_stays_valid_whatever_the_text_holds():
    """Quotes, backslashes, line separators and control characters in a message still
    give one valid JSON document that returns the text unchanged."""
    nasty = 'He said "hi" \\ \u2028 \x00 </script> \ud83d\ude00'.encode("utf-16", "surrogatepass")
    text = nasty.decode("utf-16")
    transcript = Transcript(
        header=header(),
        entries=[entry(text, attachments=('a "b".pdf',))],
        time_zone=UTC_ZONE,
        time_zone_name="UTC",
    )
    document = json.loads("".join(render_json(transcript)))
    assert document["messages"][0]["text"] == text
    assert document["messages"][0]["attachments"] == ['a "b".pdf']
    assert document["message_count"] == 1
