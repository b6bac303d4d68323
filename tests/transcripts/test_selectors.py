"""The transcript builder: the golden ChatTranscript.txt and ChatTranscript.json of a
conversation with every kind of event, the CSRs it names, what a bot client's copy
leaves out, the contact center's time zone, and the constant number of queries.

Set UPDATE_GOLDEN=1 to rewrite the golden files after an intended change of format (and
read the diff)."""

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chat.models import SenderKind, SystemEvent
from chat.services.interactions import interaction_end
from chat.services.messages import message_create
from tests.factories import interaction_factory
from tests.transcripts.conftest import (
    SCRIPT,
    T0,
    TRANSFER_NOTE,
    add_messages,
    set_time_zone,
)
from transcripts.formats import render_json, render_text
from transcripts.selectors import (
    Audience,
    attachment_names,
    transcript_build,
    transcript_csr_names,
    transcript_interaction_get,
)

GOLDEN = Path(__file__).parent / "golden"
# The interaction id differs from run to run; the golden files hold this one.
GOLDEN_ID = 1001


def _text(interaction, audience=Audience.CONTACT_CENTER) -> str:
    fetched = transcript_interaction_get(interaction_id=interaction.pk)
    return "".join(render_text(transcript_build(interaction=fetched, audience=audience)))


def _json(interaction, audience=Audience.CONTACT_CENTER) -> str:
    fetched = transcript_interaction_get(interaction_id=interaction.pk)
    return "".join(render_json(transcript_build(interaction=fetched, audience=audience)))


def _check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(actual, encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{name} differs from {path} (UPDATE_GOLDEN=1 rewrites it)"


def test_text_transcript_matches_the_golden_file(conversation):
    """Header, bot conversation, live conversation with every event, in Paris time with
    the offset: byte for byte the golden ChatTranscript.txt."""
    interaction = conversation.interaction
    text = _text(interaction).replace(
        f"Interaction ID: {interaction.pk}\n", f"Interaction ID: {GOLDEN_ID}\n"
    )
    _check_golden("ChatTranscript.txt", text)


def test_json_transcript_matches_the_golden_file(conversation):
    """The JSON form, field for field: the golden ChatTranscript.json."""
    interaction = conversation.interaction
    document = json.loads(_json(interaction))
    assert document["interaction"]["id"] == interaction.pk
    document["interaction"]["id"] = GOLDEN_ID
    _check_golden("ChatTranscript.json", json.dumps(document, ensure_ascii=False, indent=2) + "\n")


def test_text_keeps_what_was_typed_and_nothing_breaks_the_layout(conversation):
    """Text is written as typed (no HTML escaping); every line of a message after the
    first is indented, so a customer cannot forge an entry or an attachment line."""
    text = _text(conversation.interaction)
    assert f"(customer): {SCRIPT}\n" in text
    assert "&lt;" not in text
    assert "(customer): [2026-01-01 00:00:00 +00:00] *** Chat ended\n" in text
    assert "\n      + Attachment: invoice.exe\n" in text
    assert "\n  + Attachment: invoice.exe" not in text
    entries = [line for line in text.splitlines() if line.startswith("[")]
    assert len(entries) == conversation.interaction.last_seq
    assert "\r" not in text


def test_csrs_are_everyone_who_handled_the_chat_in_order(conversation):
    """Alex (joined, then transferred it) and Casey (joined after the re-queue); Blake,
    who declined the transfer, is not one of them."""
    interaction = transcript_interaction_get(interaction_id=conversation.interaction.pk)
    assert transcript_csr_names(interaction=interaction) == ("Alex Morgan", "Casey Diaz")


def test_bot_clients_copy_leaves_out_the_transfer_note(conversation):
    """Transfer notes are for the contact center: the bot client's transcript shows the
    transfer but not its note, in both formats."""
    interaction = conversation.interaction
    assert "Refund of the double charge." in _text(interaction)
    text = _text(interaction, Audience.BOT_CLIENT)
    assert "Transfer to Blake Chen requested by Alex Morgan" in text
    assert "Note:" not in text
    assert TRANSFER_NOTE.splitlines()[0] not in text
    document = json.loads(_json(interaction, Audience.BOT_CLIENT))
    assert all(message["note"] is None for message in document["messages"])


def test_times_are_in_the_contact_centers_zone_with_the_offset_across_dst(db):
    """Europe/Paris: +01:00 in winter, +02:00 from the spring change on (01:59:59 is
    followed by 03:00:00); New York shows the same instants at -05:00/-04:00."""
    interaction = interaction_factory(created_at=datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC))
    for seq, at in enumerate(
        (datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        start=1,
    ):
        interaction.messages.create(
            seq=seq, sender_kind=SenderKind.CUSTOMER, author_name="Dana", text="Hi", created_at=at
        )
    set_time_zone("Europe/Paris")
    text = _text(interaction)
    assert "Started: 2026-03-29 01:59:59 +01:00\n" in text
    assert "[2026-03-29 01:59:59 +01:00] Dana (customer): Hi\n" in text
    assert "[2026-03-29 03:00:00 +02:00] Dana (customer): Hi\n" in text
    assert "Time zone: Europe/Paris\n" in text
    document = json.loads(_json(interaction))
    assert [m["at"] for m in document["messages"]] == [
        "2026-03-29T01:59:59.000+01:00",
        "2026-03-29T03:00:00.000+02:00",
    ]
    set_time_zone("America/New_York")
    text = _text(interaction)
    assert "[2026-03-28 20:59:59 -04:00] Dana (customer): Hi\n" in text
    assert "Time zone: America/New_York\n" in text
    set_time_zone("Asia/Kathmandu")
    assert "[2026-03-29 06:44:59 +05:45] Dana (customer): Hi\n" in _text(interaction)


def test_an_abandoned_chat_without_bot_conversation(db):
    """No bot conversation and a customer who left before anyone joined: both sections
    say so plainly, the header has no CSR and the end is the abandonment."""
    interaction = interaction_factory(created_at=T0)
    message_create(
        interaction=interaction,
        sender_kind=SenderKind.SYSTEM,
        text="Customer escalated to the General queue",
        event=SystemEvent.ESCALATED,
    )
    assert interaction_end(interaction_id=interaction.pk, by=SenderKind.CUSTOMER)
    text = _text(interaction)
    assert "CSRs: -\n" in text
    assert "Status: Abandoned\n" in text
    assert "\n(No bot conversation before the escalation.)\n\nLive conversation\n" in text
    assert "*** The customer left before a CSR joined.\n" in text
    assert text.endswith("\nEnd of transcript: 2 messages.\n")


def test_an_open_chat_has_no_end_yet(db):
    """During the chat the transcript says Ended: - and lists what there is so far."""
    interaction = interaction_factory(created_at=T0)
    text = _text(interaction)
    assert "Ended: -\n" in text
    assert "(No messages after the escalation.)" in text
    assert text.endswith("\nEnd of transcript: 0 messages.\n")
    document = json.loads(_json(interaction))
    assert document["interaction"]["ended_at"] is None
    assert document["messages"] == []
    assert document["message_count"] == 0


@pytest.mark.parametrize(
    ("data", "names"),
    [
        (
            {"attachments": [{"name": "a.pdf"}, {"filename": "b.png"}, "c.txt"]},
            ("a.pdf", "b.png", "c.txt"),
        ),
        ({"attachments": [{"size": 3}, 7, None, " ", {"name": ""}]}, ()),
        ({"attachments": "a.pdf"}, ()),
        ({}, ()),
        ([], ()),
    ],
)
def test_attachment_names_come_from_message_data(data, names):
    """Names come from data["attachments"]: strings, or objects with a name (or
    filename); anything else is skipped rather than guessed."""
    assert attachment_names(data) == names


def test_messages_are_read_in_chunks_with_a_constant_number_of_queries(
    conversation, django_assert_num_queries
):
    """Reading the interaction, the CSRs' names and every message takes three queries,
    however many messages there are and however small the chunks (settings cached)."""
    interaction = conversation.interaction

    def build_and_render() -> str:
        fetched = transcript_interaction_get(interaction_id=interaction.pk)
        transcript = transcript_build(
            interaction=fetched, audience=Audience.CONTACT_CENTER, chunk_size=7
        )
        return "".join(render_text(transcript))

    build_and_render()  # the App Studio settings are now cached
    with django_assert_num_queries(3):
        short = build_and_render()
    add_messages(interaction, 200)
    with django_assert_num_queries(3):
        long = build_and_render()
    assert long.count("\n[") == short.count("\n[") + 200
