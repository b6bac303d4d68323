"""Plain statements for the hottest reads, where building the query through the ORM
costs more CPU than the database spends running it.

A queryset is compiled anew on every call: a `select_related` of three models with
`FOR UPDATE OF` took ~1.9 ms of CPU to build here, against ~0.5 ms for the same row read
by a prebuilt statement through `raw()`. Callers keep their SQL in a cached function
(the table and column names come from the models' metadata) and use these helpers to
run it and to attach the few related fields they read.
"""

import contextlib
import functools
from collections.abc import Iterator
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection
from django.db.models import Model
from django.utils import timezone

M = TypeVar("M", bound=Model)


def raw_first(model: type[M], sql: str, params: list[Any]) -> M | None:
    """The first row of `sql` as a `model` instance, or None. Columns named as the
    model's become its fields (those left out are read if ever asked for, as with
    `only()`; the primary key must be there); any other column becomes a plain
    attribute."""
    return next(iter(_instances(model, sql, params, limit=1)), None)


def raw_all(model: type[M], sql: str, params: list[Any]) -> list[M]:
    """Every row of `sql` as a `model` instance, as raw_first makes them."""
    return _instances(model, sql, params)


def _instances(model: type[M], sql: str, params: list[Any], *, limit: int = 0) -> list[M]:
    """The rows of `sql` (the first `limit` of them, when given) as `model` instances."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchmany(limit) if limit else cursor.fetchall()
        if not rows:
            return []
        plan = _row_plan(model, tuple(column[0] for column in cursor.description))
    return [plan.instance(row) for row in rows]


class _RowPlan:
    """How the rows of one statement become instances: `raw()`'s work, done once per
    model and column list instead of for every statement (matching the columns to the
    fields and gathering each field's converters was half the CPU of a one-row read)."""

    def __init__(self, model: type[Model], columns: tuple[str, ...]) -> None:
        by_column = {str(field.column): field for field in model._meta.concrete_fields}
        if model._meta.pk is None or str(model._meta.pk.column) not in columns:
            raise ValueError(f"A {model.__name__} row needs its primary key column.")
        self.model = model
        # In the model's field order, as from_db takes them.
        loaded = [f for f in model._meta.concrete_fields if str(f.column) in columns]
        self.field_names = [field.attname for field in loaded]
        self.field_positions = [columns.index(str(field.column)) for field in loaded]
        self.extras = [(c, i) for i, c in enumerate(columns) if c not in by_column]
        self.converters: list[tuple[int, list[Any], Any]] = []
        for position, column in enumerate(columns):
            field = by_column.get(column)
            if field is None:
                continue
            expression = field.get_col(model._meta.db_table)
            found = connection.ops.get_db_converters(expression) + expression.get_db_converters(
                connection
            )
            if found:
                self.converters.append((position, found, expression))

    def instance(self, row: tuple[Any, ...]) -> Any:
        values = list(row)
        for position, converters, expression in self.converters:
            for converter in converters:
                values[position] = converter(values[position], expression, connection)
        instance = self.model.from_db(
            connection.alias, self.field_names, [values[i] for i in self.field_positions]
        )
        for column, position in self.extras:
            setattr(instance, column, values[position])
        return instance


@functools.lru_cache(maxsize=256)
def _plan_for(vendor: str, model: type[Model], columns: tuple[str, ...]) -> _RowPlan:
    return _RowPlan(model, columns)


def _row_plan(model: type[Model], columns: tuple[str, ...]) -> _RowPlan:
    return _plan_for(connection.vendor, model, columns)


@contextlib.contextmanager
def unprepared() -> Iterator[None]:
    """Statements run inside are planned anew on every run on PostgreSQL, never kept
    prepared (config/settings.py prepares the others after five runs).

    For a statement whose best plan changes as its tables grow: a prepared statement's
    generic plan is made once per connection, from the table statistics of that moment,
    and kept until the next ANALYZE. Made while the tables were nearly empty, the
    routing members' read kept scanning every active chat once per member: 14 ms a
    run, against 1.1 ms planned anew, under the routing benchmark."""
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    driver = connection.connection
    threshold = driver.prepare_threshold
    driver.prepare_threshold = None
    try:
        yield
    finally:
        driver.prepare_threshold = threshold


def for_update(*, skip_locked: bool = False) -> str:
    """ " FOR UPDATE" where the database locks rows (SQLite locks the whole file); with
    `skip_locked`, rows another transaction holds are left out instead of waited for."""
    if not connection.features.has_select_for_update:
        return ""
    if skip_locked and connection.features.has_select_for_update_skip_locked:
        return " FOR UPDATE SKIP LOCKED"
    return " FOR UPDATE"


def partial_instance(model: type[M], **values: Any) -> M:
    """An instance with only these fields loaded (`id` among them); any other field is
    read from the database if ever asked for, as with `only()`."""
    return model.from_db(connection.alias, list(values), list(values.values()))


def placeholders(count: int) -> str:
    """ "%s, %s, …": `count` parameter placeholders, for an IN list or a VALUES row."""
    return ", ".join(["%s"] * count)


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def related_value(model: type[Model], fk: str, column: str = "name") -> str:
    """For the select list of a statement on `model`'s table: a subquery reading one
    column of the row its foreign key `fk` points to (NULL when the key is)."""
    field = model._meta.get_field(fk)
    target = field.related_model._meta  # type: ignore[union-attr]
    table, other = quote(model._meta.db_table), quote(target.db_table)
    key = quote(str(field.column))  # type: ignore[union-attr]
    target_key = quote(str(field.target_field.column))  # type: ignore[union-attr]
    return (
        f"(SELECT {other}.{quote(column)} FROM {other} "  # noqa: S608 - names from model metadata
        f"WHERE {other}.{target_key} = {table}.{key})"
    )


def db_datetime(value: Any) -> Any:
    """A datetime column read by a plain cursor, as the ORM would return it: SQLite gives
    naive datetimes (the ORM's converters make them aware), PostgreSQL aware ones."""
    if value is not None and settings.USE_TZ and timezone.is_naive(value):
        return timezone.make_aware(value, connection.timezone)
    return value
