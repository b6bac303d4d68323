"""Helpers for tests that start server processes against the test's PostgreSQL
database and count the connections those processes hold."""

from django.db import connection


def subprocess_database_url() -> str:
    """The URL of the database this test runs on, for a subprocess's DATABASE_URL."""
    settings = connection.settings_dict
    return (
        f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )


def connections_named(application_name: str) -> int:
    """Open connections whose libpq application name (PGAPPNAME) is this one."""
    with connection.cursor() as cursor:
        # Statistics are a snapshot per transaction, and a test may run in one.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            [application_name],
        )
        return cursor.fetchone()[0]
