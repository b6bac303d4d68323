"""The one hand-written SQL of chat (STYLE.md 11): the retention purge's set-based
deletes on PostgreSQL, one statement per table for a whole batch of interactions,
where Django's deletion collector reads every row's id back and deletes in chunks of a
hundred (docs/benchmarks.md#retention-purge-testsbenchbench_purgepy: about five times
faster). tests/chat/test_retention.py holds them to the collector's QuerySet.delete().

Table and column names come from the models' metadata, never from input; the rows are
those that point, through a chain of foreign keys, at a list of interaction ids."""

from dataclasses import dataclass

from django.db import connection, models


@dataclass(frozen=True)
class Link:
    """Rows of `model` whose `column` holds a value of `target` (a column) of the rows
    `parent` selects; no parent: whose `column` is one of the ids."""

    model: type[models.Model]
    column: str
    target: str = ""
    parent: "Link | None" = None


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def _where(link: Link) -> str:
    column = _quoted(link.column)
    parent = link.parent
    if parent is None or (parent.parent is None and link.target == parent.column):
        return f"{column} = ANY(%s)"
    parent_table = _quoted(parent.model._meta.db_table)
    select = f"SELECT {_quoted(link.target)} FROM {parent_table}"  # noqa: S608 -- metadata
    return f"{column} IN ({select} WHERE {_where(parent)})"


def rows_delete(link: Link, ids: list[int]) -> int:
    """Delete the rows `link` selects for these interaction ids; how many."""
    table = _quoted(link.model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE {_where(link)}", [ids])  # noqa: S608
        return cursor.rowcount


def rows_unlink(link: Link, ids: list[int]) -> int:
    """Set the link's column to NULL in the rows it selects (on_delete=SET_NULL)."""
    table = _quoted(link.model._meta.db_table)
    column = _quoted(link.column)
    with connection.cursor() as cursor:
        statement = f"UPDATE {table} SET {column} = NULL WHERE {_where(link)}"  # noqa: S608
        cursor.execute(statement, [ids])
        return cursor.rowcount
