"""The one hand-written SQL of reports (STYLE.md 11): PostgreSQL's COPY, which
`seed_history` uses to write a million rows (docs/benchmarks.md: about 1,600 chats a
second). tests/reports/test_seed.py holds the rows it writes to those bulk_create writes
on SQLite."""

from collections.abc import Iterable
from typing import Any

from django.db import connection, models


def copy_rows(model: type[models.Model], columns: list[str], rows: Iterable[list[Any]]) -> None:
    """Write `rows` (values in `columns` order) into the model's table with COPY. Table
    and column names come from the model's own metadata, never from input."""
    names = ", ".join(f'"{column}"' for column in columns)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for its copy API
        with raw.copy(f'COPY "{model._meta.db_table}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
