"""Inserting one new row on the hottest paths (a chat message, an offer) in one
statement, without Model.save()'s per-call machinery.

Model.save() decides between UPDATE and INSERT, sends pre/post-save signals and builds
its SQL through the query compiler on every call: about a millisecond per message here,
as much as the database spent storing it. For a row known to be new, `insert` runs one
prebuilt INSERT … RETURNING with the values Django itself would send (each field's
pre_save and get_db_prep_save), and leaves the instance as save() would: primary key
set, no longer `adding`. No signal is sent: only use it for models nobody listens to.

`insert_many` does the same for several new rows of one model in one statement, and
`update_fields` is save(update_fields=...) for a stored row, as one prebuilt UPDATE.
bulk_create does that too, but on PostgreSQL it sends each column as an array for
UNNEST, and psycopg inspects every array element to choose its type: that was ~5% of a
daphne's CPU under the routing benchmark (the bot transcript of each escalation).
"""

import functools
from typing import NamedTuple, TypeVar

from django.db import connection
from django.db.models import Model

from config.rawsql import placeholders

M = TypeVar("M", bound=Model)

_statements: dict[tuple[str, type[Model], bool], "_Statement"] = {}


class _Statement(NamedTuple):
    head: str  # INSERT INTO table (columns) VALUES
    row: str  # (%s, %s, …): one row's placeholders
    tail: str  # [ON CONFLICT DO NOTHING] RETURNING pk
    fields: list

    def sql(self, rows: int = 1) -> str:
        return f"{self.head} {', '.join([self.row] * rows)}{self.tail}"


def _statement(model: type[Model], *, ignore_conflicts: bool) -> _Statement:
    key = (connection.vendor, model, ignore_conflicts)
    if key not in _statements:
        meta = model._meta
        fields = [field for field in meta.concrete_fields if not field.primary_key]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(str(field.column)) for field in fields)
        pk_column = quote(str(meta.pk.column))  # type: ignore[union-attr]
        # PostgreSQL and SQLite ≥ 3.24 both know ON CONFLICT DO NOTHING.
        on_conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
        _statements[key] = _Statement(
            # Names from the model's own metadata, quoted; every value is a parameter.
            head=f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES",
            row=f"({placeholders(len(fields))})",
            tail=f"{on_conflict} RETURNING {pk_column}",
            fields=fields,
        )
    return _statements[key]


def insert(instance: M) -> M:
    """INSERT `instance` (new, with a database-generated primary key) and return it."""
    if instance.pk is not None or not connection.features.can_return_columns_from_insert:
        instance.save(force_insert=True)
        return instance
    stored = _insert(instance, ignore_conflicts=False)
    assert stored is not None  # a conflict raised IntegrityError
    return stored


def insert_unless_conflict(instance: M) -> M | None:
    """INSERT `instance` unless a unique constraint already holds a row like it: the
    stored instance, or None (and nothing written) on a conflict. No savepoint is needed
    around it, unlike catching the IntegrityError of a plain insert."""
    assert instance.pk is None, "only rows with a database-generated primary key"
    return _insert(instance, ignore_conflicts=True)


def insert_unless_conflict_then(instance: M, *updates: tuple[str, list]) -> M | None:
    """insert_unless_conflict, and, only when the row went in, these UPDATEs (each an
    `(sql, params)` pair of one `UPDATE … WHERE …`, e.g. from update_fields_statement).

    On PostgreSQL it is one statement: the insert and the updates as data-modifying
    WITH clauses, each update guarded by the insert's RETURNING row. A routing run makes
    one offer per chat, and every statement costs a round trip and ~0.3 ms of CPU in
    Django and psycopg. Elsewhere the statements run one after another."""
    assert instance.pk is None, "only rows with a database-generated primary key"
    if connection.vendor != "postgresql":
        stored = _insert(instance, ignore_conflicts=True)
        if stored is not None:
            execute_together(*updates)  # one by one here
        return stored
    statement = _statement(type(instance), ignore_conflicts=True)
    clauses = [f"inserted AS ({statement.sql()})"]
    params = _db_values(instance, statement.fields)
    for n, (sql, update_params) in enumerate(updates):
        # Statements prebuilt from model metadata; every value is a parameter.
        clauses.append(f"update_{n} AS ({sql} AND EXISTS (SELECT 1 FROM inserted))")  # noqa: S608
        params.extend(update_params)
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(clauses)} SELECT * FROM inserted", params)  # noqa: S608
        row = cursor.fetchone()
    return None if row is None else _stored(instance, row[0])


def execute_together(*statements: tuple[str, list]) -> None:
    """Run these data-modifying statements (`(sql, params)` pairs, each an UPDATE,
    INSERT or DELETE without RETURNING, e.g. from update_fields_statement) as one
    statement on PostgreSQL: all but the last as WITH clauses. Only for statements that
    touch different rows, as each sees the database as it was before the statement
    began. Elsewhere they run one after another. Saves a round trip and ~0.3 ms of CPU
    in Django and psycopg per statement joined."""
    if not statements:
        return
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            for sql, params in statements:
                cursor.execute(sql, params)
            return
        *first, (last_sql, last_params) = statements
        clauses = [f"together_{n} AS ({sql})" for n, (sql, _) in enumerate(first)]
        params = [value for _, statement_params in first for value in statement_params]
        sql = f"WITH {', '.join(clauses)} {last_sql}" if clauses else last_sql
        cursor.execute(sql, [*params, *last_params])


def insert_many_unless_conflict(instances: list[M], *, key: str) -> list[M]:
    """INSERT new rows of one model in one statement, skipping those a unique constraint
    already holds a row like; returns the rows stored, keys set. `key` names a field
    whose value differs from row to row of the call: it tells which rows went in."""
    if not instances:
        return []
    model = type(instances[0])
    assert all(type(i) is model and i.pk is None for i in instances), "new rows of one model"
    if not connection.features.can_return_rows_from_bulk_insert:
        return [row for i in instances if (row := _insert(i, ignore_conflicts=True)) is not None]
    field = model._meta.get_field(key)
    by_key = {getattr(i, field.attname): i for i in instances}  # type: ignore[union-attr]
    assert len(by_key) == len(instances), f"{key} must differ from row to row"
    statement = _statement(model, ignore_conflicts=True)
    column = connection.ops.quote_name(str(field.column))  # type: ignore[union-attr]
    size = max(1, connection.ops.bulk_batch_size(statement.fields, instances))
    inserted: list[M] = []
    with connection.cursor() as cursor:
        for start in range(0, len(instances), size):
            batch = instances[start : start + size]
            values = [v for instance in batch for v in _db_values(instance, statement.fields)]
            # Statement prebuilt from model metadata; every value is a parameter.
            cursor.execute(f"{statement.sql(rows=len(batch))}, {column}", values)
            inserted.extend(_stored(by_key[value], pk) for pk, value in cursor.fetchall())
    return inserted


def insert_many(instances: list[M]) -> list[M]:
    """INSERT new rows of one model (database-generated primary keys) in one statement,
    and return them with their keys set, in order."""
    if not instances:
        return instances
    model = type(instances[0])
    assert all(type(i) is model and i.pk is None for i in instances), "new rows of one model"
    if not connection.features.can_return_rows_from_bulk_insert:
        return model._default_manager.bulk_create(instances)
    statement = _statement(model, ignore_conflicts=False)
    size = max(1, connection.ops.bulk_batch_size(statement.fields, instances))
    with connection.cursor() as cursor:
        for start in range(0, len(instances), size):
            batch = instances[start : start + size]
            values = [v for instance in batch for v in _db_values(instance, statement.fields)]
            cursor.execute(statement.sql(rows=len(batch)), values)
            # The VALUES rows come back in their order (bulk_create relies on it too).
            for instance, (pk,) in zip(batch, cursor.fetchall(), strict=True):
                _stored(instance, pk)
    return instances


def _db_values(instance: Model, fields: list) -> list:
    return [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]


def _stored(instance: M, pk: object) -> M:
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def _insert(instance: M, *, ignore_conflicts: bool) -> M | None:
    statement = _statement(type(instance), ignore_conflicts=ignore_conflicts)
    with connection.cursor() as cursor:
        cursor.execute(statement.sql(), _db_values(instance, statement.fields))
        row = cursor.fetchone()
    return None if row is None else _stored(instance, row[0])


@functools.cache
def _update_sql(vendor: str, model: type[Model], names: tuple[str, ...]) -> tuple[str, list]:
    meta = model._meta
    fields = [meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(str(field.column))} = %s" for field in fields)  # type: ignore[union-attr]
    pk_column = quote(str(meta.pk.column))  # type: ignore[union-attr]
    # Names from the model's own metadata, quoted; every value is a parameter.
    return f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {pk_column} = %s", fields  # noqa: S608


def update_fields(instance: Model, *names: str) -> int:
    """Write these fields of a stored row, as save(update_fields=names) would (each
    field's pre_save and get_db_prep_save), in one prebuilt UPDATE; the rows updated.
    No signal is sent."""
    sql, params = update_fields_statement(instance, *names)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def update_fields_statement(instance: Model, *names: str) -> tuple[str, list]:
    """The `(sql, params)` update_fields would run: one `UPDATE … WHERE pk = …`."""
    sql, fields = _update_sql(connection.vendor, type(instance), names)
    values = [
        field.get_db_prep_save(field.pre_save(instance, False), connection) for field in fields
    ]
    return sql, [*values, instance.pk]
