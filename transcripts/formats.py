"""The two transcript formats, as pure functions over a `Transcript`: plain text
(`ChatTranscript.txt`) for people and JSON (`ChatTranscript.json`) for integrations.

Both are produced piece by piece (generators of `str`), so a long conversation is
written out as it is read from the database. The layouts are documented, and kept
stable, in docs/transcripts.md.

Text layout rules that keep the file unambiguous whatever anyone typed:
- every entry starts at column 0 with `[<time>]`; nothing else in the body does;
- continuation lines of a multi-line text start with four spaces (`INDENT`);
- lines that annotate an entry (transfer note, attachment) start with `  + `;
- control characters other than tab are replaced with U+FFFD, names and other one-line
  fields have their line breaks folded into spaces.
"""

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from functools import lru_cache

from chat.models import SenderKind, SystemEvent

FORMAT_NAME = "chat-transcript"
FORMAT_VERSION = 1

INDENT = "    "
ANNOTATION = "  + "
SYSTEM_MARK = "***"
INTERNAL_MARK = "Internal: not shown to the customer"
NOTE_MARK = "Internal note: not shown to the customer"
# A CSR's message that carried a card to the customer (the assist app).
CARD_MARKS = {"article_shared": "Shared a knowledge article", "page_pushed": "Pushed a page"}
NO_VALUE = "-"

TEXT_TITLE = "Chat transcript"
BOT_SECTION = "Bot conversation before escalation"
LIVE_SECTION = "Live conversation"
NO_BOT_CONVERSATION = "(No bot conversation before the escalation.)"
NO_LIVE_CONVERSATION = "(No messages after the escalation.)"

# The role shown after a sender's name, so a customer who calls themselves "Alex
# Morgan" is still told apart from the CSR of that name.
ROLE_LABELS = {
    SenderKind.CUSTOMER: "customer",
    SenderKind.CSR: "CSR",
    SenderKind.BOT: "bot",
}

# C0 and C1 control characters except tab (line breaks are split off before this runs).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


class Phase(StrEnum):
    """Where a message belongs: the bot conversation sent with the escalation, or the
    conversation after it (live chat and system events)."""

    BOT = "bot"
    LIVE = "live"


@dataclass(frozen=True)
class TranscriptHeader:
    interaction_id: int
    status: str
    status_label: str
    customer_name: str
    customer_external_id: str
    channel: str
    queue: str
    csrs: tuple[str, ...]
    started_at: datetime
    ended_at: datetime | None
    authenticated: bool


@dataclass(frozen=True)
class TranscriptEntry:
    """One message as the transcript shows it."""

    seq: int
    at: datetime
    phase: Phase
    sender_kind: str
    sender: str  # display name; empty for system messages
    text: str
    event: str = ""  # SystemEvent value for system messages, else ""
    note: str | None = None  # a transfer note, when the audience may see it
    attachments: tuple[str, ...] = field(default_factory=tuple)
    # The files with their links (JSON only): name, content_type, size, url.
    files: tuple[dict, ...] = field(default_factory=tuple)
    internal: bool = False  # a whisper or internal note: the contact center's only


@dataclass(frozen=True)
class Transcript:
    """A header and the entries, oldest first; `entries` may be a lazy iterator (read
    once)."""

    header: TranscriptHeader
    entries: Iterable[TranscriptEntry]
    time_zone: tzinfo
    time_zone_name: str


# --- Small helpers ---------------------------------------------------------------------


@lru_cache(maxsize=1024)
def one_line(value: str) -> str:
    """A value for a one-line field: line breaks and runs of white space become one
    space, control characters U+FFFD."""
    return _CONTROL.sub("\ufffd", " ".join(str(value).split()))


def text_lines(text: str) -> list[str]:
    """A text's lines (any line break: \\n, \\r\\n, \\r, U+2028…), control characters
    replaced; at least one (possibly empty) line."""
    lines = [_CONTROL.sub("\ufffd", line) for line in text.splitlines()]
    return lines or [""]


@lru_cache(maxsize=64)
def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def utc_offset(moment: datetime) -> str:
    """`+01:00`, `-05:00`, `+05:45`, `+00:00` (Python 3.11 has no `%:z`)."""
    offset = moment.utcoffset()
    assert offset is not None, "transcript times are aware"
    return _offset_text(offset)


def in_zone(moment: datetime, zone: tzinfo) -> datetime:
    """The moment in the contact center's zone; in UTC (offset +00:00, so still exact)
    when the zone's offset would carry it past what a datetime holds (years 1–9999),
    as 9999-12-31T23:59:59Z east of UTC does. One odd time never stops a download."""
    try:
        return moment.astimezone(zone)
    except (OverflowError, ValueError):
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        try:
            return moment.astimezone(UTC)
        except (OverflowError, ValueError):
            return moment


def text_time(moment: datetime, zone: tzinfo) -> str:
    """`2026-11-23 14:05:09 +01:00`: the time in the contact center's zone, with its
    offset from UTC."""
    t = in_zone(moment, zone)
    return (
        f"{t.year:04d}-{t.month:02d}-{t.day:02d} "
        f"{t.hour:02d}:{t.minute:02d}:{t.second:02d} {utc_offset(t)}"
    )


def json_time(moment: datetime | None, zone: tzinfo) -> str | None:
    """ISO 8601 in the contact center's zone, to the millisecond:
    `2026-11-23T14:05:09.250+01:00`."""
    if moment is None:
        return None
    return in_zone(moment, zone).isoformat(timespec="milliseconds")


def system_text(entry: TranscriptEntry) -> str:
    """A system message's text; its event's label when it has none."""
    if entry.text.strip():
        return entry.text
    try:
        return str(SystemEvent(entry.event).label)
    except ValueError:
        return entry.event or "System event"


# --- Plain text ----------------------------------------------------------------------------


def _header_text(transcript: Transcript) -> str:
    header, zone = transcript.header, transcript.time_zone
    customer = one_line(header.customer_name)
    if header.customer_external_id:
        customer = f"{customer} (customer ID {one_line(header.customer_external_id)})"
    rows = [
        ("Interaction ID", str(header.interaction_id)),
        ("Status", header.status_label),
        ("Customer", customer),
        ("Channel", one_line(header.channel)),
        ("Queue", one_line(header.queue)),
        ("CSRs", ", ".join(one_line(name) for name in header.csrs) or NO_VALUE),
        ("Started", text_time(header.started_at, zone)),
        ("Ended", text_time(header.ended_at, zone) if header.ended_at else NO_VALUE),
        ("Authenticated", "Yes" if header.authenticated else "No"),
        ("Time zone", transcript.time_zone_name),
    ]
    lines = [TEXT_TITLE, "=" * len(TEXT_TITLE)]
    lines += [f"{label}: {value}" for label, value in rows]
    return "\n".join(lines) + "\n"


def _section(title: str) -> str:
    return f"\n{title}\n{'-' * len(title)}\n"


def entry_text(entry: TranscriptEntry, zone: tzinfo) -> str:
    """One entry: its first line, the text's continuation lines, then its annotations."""
    stamp = f"[{text_time(entry.at, zone)}]"
    if entry.sender_kind == SenderKind.SYSTEM:
        lines = text_lines(system_text(entry))
        out = [f"{stamp} {SYSTEM_MARK} {lines[0]}"]
    else:
        lines = text_lines(entry.text)
        role = ROLE_LABELS.get(entry.sender_kind, one_line(entry.sender_kind))  # type: ignore[call-overload]
        out = [f"{stamp} {one_line(entry.sender)} ({role}): {lines[0]}"]
    out += [INDENT + line for line in lines[1:]]
    if entry.internal:
        mark = NOTE_MARK if entry.event == SystemEvent.NOTE else INTERNAL_MARK
        out.append(f"{ANNOTATION}{mark}")
    if entry.sender_kind != SenderKind.SYSTEM and entry.event in CARD_MARKS:
        out.append(f"{ANNOTATION}{CARD_MARKS[entry.event]}")
    if entry.note:
        note = text_lines(entry.note)
        out.append(f"{ANNOTATION}Note: {note[0]}")
        out += [INDENT + line for line in note[1:]]
    out += [f"{ANNOTATION}Attachment: {one_line(name)}" for name in entry.attachments]
    return "\n".join(out) + "\n"


def render_text(transcript: Transcript) -> Iterator[str]:
    """ChatTranscript.txt, piece by piece: the header, the bot conversation before the
    escalation, the live conversation, and a closing line with the message count (a
    download cut short lacks it)."""
    zone = transcript.time_zone
    yield _header_text(transcript)
    yield _section(BOT_SECTION)
    count = 0
    live = False
    for entry in transcript.entries:
        if entry.phase is Phase.LIVE and not live:
            if count == 0:
                yield NO_BOT_CONVERSATION + "\n"
            yield _section(LIVE_SECTION)
            live = True
        count += 1
        yield entry_text(entry, zone)
    if not live:
        if count == 0:
            yield NO_BOT_CONVERSATION + "\n"
        yield _section(LIVE_SECTION)
        yield NO_LIVE_CONVERSATION + "\n"
    noun = "message" if count == 1 else "messages"
    yield f"\nEnd of transcript: {count} {noun}.\n"


# --- JSON --------------------------------------------------------------------------------


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def interaction_json(transcript: Transcript) -> dict:
    header, zone = transcript.header, transcript.time_zone
    return {
        "id": header.interaction_id,
        "status": header.status,
        "customer": {"name": header.customer_name, "external_id": header.customer_external_id},
        "channel": header.channel,
        "queue": header.queue,
        "csrs": list(header.csrs),
        "started_at": json_time(header.started_at, zone),
        "ended_at": json_time(header.ended_at, zone),
        "authenticated": header.authenticated,
    }


def entry_json(entry: TranscriptEntry, zone: tzinfo) -> dict:
    extra: dict = {"internal": True} if entry.internal else {}
    if entry.files:
        extra["files"] = list(entry.files)
    return {
        "seq": entry.seq,
        "at": json_time(entry.at, zone),
        "phase": entry.phase.value,
        "sender_kind": entry.sender_kind,
        "sender": entry.sender,
        "text": entry.text,
        "event": entry.event,
        "note": entry.note,
        "attachments": list(entry.attachments),
        **extra,
    }


def render_json(transcript: Transcript) -> Iterator[str]:
    """ChatTranscript.json, piece by piece: one JSON object, one message per line."""
    zone = transcript.time_zone
    yield (
        "{"
        f'"format": {_dumps(FORMAT_NAME)}, "version": {FORMAT_VERSION}, '
        f'"time_zone": {_dumps(transcript.time_zone_name)},\n'
        f'"interaction": {_dumps(interaction_json(transcript))},\n'
        '"messages": ['
    )
    count = 0
    for entry in transcript.entries:
        yield ("\n" if count == 0 else ",\n") + _dumps(entry_json(entry, zone))
        count += 1
    yield f'\n],\n"message_count": {count}}}\n'
