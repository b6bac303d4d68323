"""config.inserts.insert stores a new row exactly as Model.save() would, in one
statement, and fails the same way on a constraint."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from chat.models import Message, SenderKind
from config.inserts import insert
from tests.chat.conftest import make_live_chat

pytestmark = pytest.mark.django_db


def _fields(message: Message) -> dict:
    row = model_to_dict(Message.objects.get(pk=message.pk))
    row.pop("id")
    return row


def test_the_row_is_the_one_save_would_store():
    """Every column (defaults, JSON, nulls, the author) matches a save()d twin's."""
    chat = make_live_chat()
    common = {
        "interaction": chat.interaction,
        "sender_kind": SenderKind.CSR,
        "author": chat.csr,
        "author_name": "Ada",
        "text": "Ünïcode & <b>markup</b> stays as typed",
        "data": {"nested": {"list": [1, "two", None]}},
    }
    saved = Message(seq=1, client_msg_id="saved", **common)
    saved.save()
    inserted = insert(Message(seq=2, client_msg_id="inserted", **common))

    assert inserted.pk is not None and inserted.pk != saved.pk
    assert not inserted._state.adding and inserted._state.db == "default"
    expected = {**_fields(saved), "seq": 2, "client_msg_id": "inserted"}
    got = _fields(inserted)
    assert abs((got.pop("created_at") - expected.pop("created_at")).total_seconds()) < 60
    assert got == expected
    assert Message.objects.get(pk=inserted.pk).created_at == inserted.created_at


def test_one_statement_per_row():
    chat = make_live_chat()
    with CaptureQueriesContext(connection) as queries:
        insert(Message(interaction=chat.interaction, seq=1, sender_kind=SenderKind.SYSTEM))
    assert len(queries.captured_queries) == 1
    assert queries.captured_queries[0]["sql"].startswith("INSERT INTO")


def test_a_constraint_violation_is_an_integrity_error_and_stores_nothing():
    chat = make_live_chat()
    insert(Message(interaction=chat.interaction, seq=1, sender_kind=SenderKind.SYSTEM))
    with pytest.raises(IntegrityError), transaction.atomic():
        insert(Message(interaction=chat.interaction, seq=1, sender_kind=SenderKind.SYSTEM))
    assert Message.objects.filter(interaction=chat.interaction).count() == 1
