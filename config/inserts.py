"""Inserting one new row on the hottest paths (a chat message, an offer) in one
statement, without Model.save()'s per-call machinery.

Model.save() decides between UPDATE and INSERT, sends pre/post-save signals and builds
its SQL through the query compiler on every call: about a millisecond per message here,
as much as the database spent storing it. For a row known to be new, `insert` runs one
prebuilt INSERT … RETURNING with the values Django itself would send (each field's
pre_save and get_db_prep_save), and leaves the instance as save() would: primary key
set, no longer `adding`. No signal is sent: only use it for models nobody listens to.
"""

from typing import TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)

_statements: dict[tuple[str, type[Model], bool], tuple[str, list]] = {}


def _statement(model: type[Model], *, ignore_conflicts: bool) -> tuple[str, list]:
    key = (connection.vendor, model, ignore_conflicts)
    if key not in _statements:
        meta = model._meta
        fields = [field for field in meta.concrete_fields if not field.primary_key]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(str(field.column)) for field in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        pk_column = quote(str(meta.pk.column))  # type: ignore[union-attr]
        table = quote(meta.db_table)
        # PostgreSQL and SQLite ≥ 3.24 both know ON CONFLICT DO NOTHING.
        on_conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
        _statements[key] = (
            # Names from the model's own metadata, quoted; every value is a parameter.
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders}){on_conflict} "  # noqa: S608
            f"RETURNING {pk_column}",
            fields,
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


def _insert(instance: M, *, ignore_conflicts: bool) -> M | None:
    sql, fields = _statement(type(instance), ignore_conflicts=ignore_conflicts)
    values = [
        field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return None
    (instance.pk,) = row
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance
