"""config.rawsql's readers turn a plain statement's rows into model instances as the
ORM would: converted values, the columns left out read on demand, extra columns as
attributes."""

import datetime

import pytest

from chat.models import Interaction
from config.rawsql import quote, raw_all, raw_first
from tests.factories import interaction_factory

pytestmark = pytest.mark.django_db

TABLE = quote(Interaction._meta.db_table)


def test_every_column_read_comes_back_as_the_orm_gives_it():
    chat = interaction_factory(context={"order": "A-1", "items": [1, 2]}, priority=4)
    found = raw_first(Interaction, f"SELECT * FROM {TABLE} WHERE id = %s", [chat.pk])  # noqa: S608
    expected = Interaction.objects.get(pk=chat.pk)
    assert found is not None
    assert found.pk == chat.pk
    assert found.context == {"order": "A-1", "items": [1, 2]}  # JSON decoded
    assert found.created_at == expected.created_at
    assert found.created_at.tzinfo is not None  # aware, on SQLite too
    assert found.priority == 4
    assert found.status == expected.status
    assert found._state.adding is False


def test_columns_left_out_are_read_when_asked_for_and_extras_become_attributes():
    chat = interaction_factory(intent="billing.refund", priority=2)
    sql = f"SELECT id, priority, 7 AS lucky FROM {TABLE} WHERE id = %s"  # noqa: S608
    found = raw_first(Interaction, sql, [chat.pk])
    assert found is not None
    assert found.get_deferred_fields() >= {"intent", "status"}
    assert found.priority == 2
    assert found.lucky == 7
    assert found.intent == "billing.refund"  # a query of its own, as with only()


def test_no_row_is_none_and_every_row_is_a_list():
    first, second = interaction_factory(), interaction_factory()
    assert raw_first(Interaction, f"SELECT * FROM {TABLE} WHERE id = %s", [-1]) is None  # noqa: S608
    rows = raw_all(Interaction, f"SELECT id, queue_id FROM {TABLE} ORDER BY id", [])  # noqa: S608
    assert [(row.pk, row.queue_id) for row in rows] == [
        (first.pk, first.queue_id),
        (second.pk, second.queue_id),
    ]
    assert raw_all(Interaction, f"SELECT * FROM {TABLE} WHERE id < 0", []) == []  # noqa: S608


def test_a_row_without_its_primary_key_is_refused():
    interaction_factory()
    with pytest.raises(ValueError, match="primary key"):
        raw_first(Interaction, f"SELECT priority FROM {TABLE}", [])  # noqa: S608


def test_datetimes_match_the_databases_own_type():
    chat = interaction_factory()
    found = raw_first(Interaction, f"SELECT id, queued_at FROM {TABLE} WHERE id = %s", [chat.pk])  # noqa: S608
    assert isinstance(found.queued_at, datetime.datetime)
    assert found.queued_at == Interaction.objects.get(pk=chat.pk).queued_at
