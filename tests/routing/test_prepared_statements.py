"""On PostgreSQL, parameters travel apart from the SQL and a statement a connection runs
again and again is kept planned by the server (config/settings.py), unless an operator
behind a transaction-mode pooler switches it off."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from chat.selectors import interaction_queue_position
from config.rawsql import unprepared
from routing.selectors import queue_members_state

ROOT = Path(__file__).resolve().parents[2]


def _database_options(**env: str) -> dict:
    """The DATABASES options the settings build from this environment (nothing connects)."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, django; django.setup(); from django.conf import settings; "
            "options = settings.DATABASES['default'].get('OPTIONS', {}); "
            "print(json.dumps({k: v for k, v in options.items() if k != 'pool'}))",
        ],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k != "DATABASE_PREPARED_STATEMENTS"},
            "DJANGO_SETTINGS_MODULE": "config.settings",
            **env,
        },
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


POSTGRES_URL = "postgres://portal@db.invalid:5432/portal"


def test_postgresql_binds_on_the_server_and_prepares_repeated_statements_by_default():
    options = _database_options(DATABASE_URL=POSTGRES_URL)
    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] == 5


def test_an_operator_behind_a_transaction_pooler_can_switch_it_off():
    options = _database_options(DATABASE_URL=POSTGRES_URL, DATABASE_PREPARED_STATEMENTS="false")
    assert "server_side_binding" not in options
    assert "prepare_threshold" not in options


def test_sqlite_gets_neither(tmp_path):
    options = _database_options(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert "server_side_binding" not in options


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
@pytest.mark.django_db
def test_a_statement_run_again_is_kept_planned_by_postgresql(make_interaction):
    chat = make_interaction()
    for _ in range(6):
        assert interaction_queue_position(interaction=chat) == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("COUNT(*)" in statement and "queue_id = $1" in statement for statement in prepared)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
@pytest.mark.django_db
def test_the_members_read_is_planned_anew_every_run(queue, make_csr, make_interaction):
    make_csr()
    chat = make_interaction()
    for _ in range(8):
        assert len(queue_members_state(queue_id=queue.pk)) == 1
        interaction_queue_position(interaction=chat)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert not any("has_pending_offer" in statement for statement in prepared)
    # Only inside: the connection goes on preparing the others.
    assert any("COUNT(*)" in statement and "queue_id = $1" in statement for statement in prepared)
    assert connection.connection.prepare_threshold == 5


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
@pytest.mark.django_db
def test_unprepared_gives_the_threshold_back_when_the_statement_fails():
    with pytest.raises(DatabaseError), transaction.atomic(), unprepared():
        assert connection.connection.prepare_threshold is None
        with connection.cursor() as cursor:
            cursor.execute("SELECT no_such_column FROM auth_user")
    assert connection.connection.prepare_threshold == 5
