"""config.inserts stores new rows exactly as Model.save() would, one row (insert) or
several (insert_many) per statement, and fails the same way on a constraint."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from chat.models import Message, SenderKind
from config.inserts import insert, insert_many, insert_unless_conflict
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


def test_insert_unless_conflict_stores_a_new_row_and_skips_a_taken_one():
    """A free unique value: stored like insert(). A taken one: None, nothing written,
    and the transaction still usable (no savepoint needed)."""
    from chat.models import Customer

    first = insert_unless_conflict(Customer(external_id="crm-1", name="Ada"))
    assert first is not None and first.pk is not None and not first._state.adding
    with transaction.atomic():
        assert insert_unless_conflict(Customer(external_id="crm-1", name="Impostor")) is None
        assert Customer.objects.filter(external_id="crm-1").count() == 1  # still usable
    assert Customer.objects.get(external_id="crm-1").name == "Ada"


def test_many_rows_are_stored_as_save_would_in_one_statement_keys_in_order():
    chat = make_live_chat()
    messages = [
        Message(
            interaction=chat.interaction,
            seq=seq,
            sender_kind=SenderKind.CUSTOMER,
            author_name="Dana",
            text=f"line {seq} <i>as typed</i>",
            data={"n": seq},
        )
        for seq in range(1, 6)
    ]
    twin = Message(
        interaction=chat.interaction,
        seq=99,
        sender_kind=SenderKind.CUSTOMER,
        author_name="Dana",
        text="line 3 <i>as typed</i>",
        data={"n": 3},
    )
    twin.save()

    with CaptureQueriesContext(connection) as queries:
        stored = insert_many(messages)

    assert len(queries.captured_queries) == 1
    assert stored is messages
    assert all(not m._state.adding and m.pk is not None for m in stored)
    for message in stored:  # each key is its own row's
        assert Message.objects.get(pk=message.pk).seq == message.seq
    expected = {**_fields(twin), "seq": 3}
    got = _fields(stored[2])
    assert abs((got.pop("created_at") - expected.pop("created_at")).total_seconds()) < 60
    assert got == expected


def test_many_rows_beyond_one_batch_are_split_and_all_stored(monkeypatch):
    chat = make_live_chat()
    monkeypatch.setattr(connection.ops, "bulk_batch_size", lambda fields, objs: 2)
    messages = [
        Message(interaction=chat.interaction, seq=seq, sender_kind=SenderKind.SYSTEM)
        for seq in range(1, 6)
    ]
    with CaptureQueriesContext(connection) as queries:
        insert_many(messages)
    assert len(queries.captured_queries) == 3
    assert sorted(
        Message.objects.filter(interaction=chat.interaction).values_list("seq", flat=True)
    ) == [1, 2, 3, 4, 5]
    assert [m.pk for m in messages] == sorted(m.pk for m in messages)


def test_many_rows_violating_a_constraint_store_none():
    chat = make_live_chat()
    rows = [
        Message(interaction=chat.interaction, seq=seq, sender_kind=SenderKind.SYSTEM)
        for seq in (1, 2, 1)
    ]
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_many(rows)
    assert not Message.objects.filter(interaction=chat.interaction).exists()


def test_update_fields_writes_what_save_with_update_fields_would_and_nothing_else():
    """Two twins changed alike, one saved with update_fields and one through
    update_fields: the stored rows match, a foreign key and a datetime among the fields,
    and a field changed but not named is not written."""
    from django.utils import timezone

    from chat.models import Interaction, InteractionStatus
    from config.inserts import update_fields

    first, second = make_live_chat(), make_live_chat()
    now = timezone.now()
    rows = []
    for chat, write in (
        (first, lambda i: i.save(update_fields=["status", "assigned_csr", "accepted_at"])),
        (second, lambda i: update_fields(i, "status", "assigned_csr", "accepted_at")),
    ):
        interaction = Interaction.objects.get(pk=chat.interaction.pk)
        interaction.status = InteractionStatus.ENDED
        interaction.assigned_csr = second.csr
        interaction.accepted_at = now
        interaction.intent = "not written"
        write(interaction)
        rows.append(Interaction.objects.get(pk=interaction.pk))

    saved, updated = rows
    for row in rows:
        assert (row.status, row.assigned_csr_id, row.accepted_at) == (
            InteractionStatus.ENDED,
            second.csr.pk,
            now,
        )
        assert row.intent != "not written"
    assert updated.intent == second.interaction.intent and saved.intent == first.interaction.intent
    with CaptureQueriesContext(connection) as queries:
        assert update_fields(updated, "status") == 1
    assert len(queries.captured_queries) == 1


def test_insert_unless_conflict_then_runs_the_updates_only_when_the_row_went_in():
    """A free unique value: the row and both updates written, in one statement on
    PostgreSQL (one each elsewhere). A taken one: None, and neither update written."""
    from chat.models import Customer
    from config.inserts import insert_unless_conflict_then, update_fields_statement

    ada = insert_unless_conflict(Customer(external_id="crm-1", name="Ada"))
    grace = insert_unless_conflict(Customer(external_id="crm-2", name="Grace"))
    ada.name, grace.name = "Ada L.", "Grace H."
    updates = (update_fields_statement(ada, "name"), update_fields_statement(grace, "name"))

    with CaptureQueriesContext(connection) as queries:
        stored = insert_unless_conflict_then(Customer(external_id="crm-3", name="Alan"), *updates)
    assert stored is not None and stored.pk is not None and not stored._state.adding
    assert Customer.objects.get(pk=stored.pk).name == "Alan"
    assert set(Customer.objects.values_list("name", flat=True)) == {"Ada L.", "Grace H.", "Alan"}
    assert len(queries.captured_queries) == (1 if connection.vendor == "postgresql" else 3)

    ada.name, grace.name = "Not Ada", "Not Grace"
    updates = (update_fields_statement(ada, "name"), update_fields_statement(grace, "name"))
    with transaction.atomic():
        impostor = Customer(external_id="crm-3", name="Impostor")
        assert insert_unless_conflict_then(impostor, *updates) is None
        assert Customer.objects.count() == 3  # the transaction is still usable
    assert set(Customer.objects.values_list("name", flat=True)) == {"Ada L.", "Grace H.", "Alan"}


def test_execute_together_writes_each_statement_in_one_on_postgresql():
    """Updates of rows of two tables, each with its own parameters: all written, in one
    statement on PostgreSQL (one each elsewhere); nothing to run, nothing run."""
    from chat.models import Customer, Interaction
    from config.inserts import execute_together, update_fields_statement

    first, second = make_live_chat(), make_live_chat()
    customer = Customer.objects.get(pk=first.interaction.customer_id)
    customer.name = "Ada L."
    interactions = [Interaction.objects.get(pk=c.interaction.pk) for c in (first, second)]
    interactions[0].intent, interactions[1].intent = "billing", "shipping"

    with CaptureQueriesContext(connection) as queries:
        execute_together(
            update_fields_statement(interactions[0], "intent"),
            update_fields_statement(customer, "name"),
            update_fields_statement(interactions[1], "intent"),
        )
        execute_together()
    assert len(queries.captured_queries) == (1 if connection.vendor == "postgresql" else 3)
    assert Customer.objects.get(pk=customer.pk).name == "Ada L."
    assert [Interaction.objects.get(pk=i.pk).intent for i in interactions] == [
        "billing",
        "shipping",
    ]


def test_insert_many_unless_conflict_stores_the_free_rows_and_skips_the_taken():
    """One statement; the rows stored come back with their keys, told apart by `key`;
    a row a unique constraint already holds is skipped, and nothing else is lost."""
    from chat.models import Customer
    from config.inserts import insert_many_unless_conflict

    taken = insert_unless_conflict(Customer(external_id="crm-2", name="Grace"))
    rows = [Customer(external_id=f"crm-{n}", name=f"Customer {n}") for n in range(1, 5)]
    with CaptureQueriesContext(connection) as queries:
        stored = insert_many_unless_conflict(rows, key="external_id")
    assert len(queries.captured_queries) == 1

    assert sorted(c.external_id for c in stored) == ["crm-1", "crm-3", "crm-4"]
    for customer in stored:
        assert not customer._state.adding
        assert Customer.objects.get(pk=customer.pk).name == customer.name
    assert rows[1].pk is None  # the taken one
    assert Customer.objects.get(external_id="crm-2").pk == taken.pk
    assert Customer.objects.count() == 4
    assert insert_many_unless_conflict([], key="external_id") == []
