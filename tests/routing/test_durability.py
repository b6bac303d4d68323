"""Routing transactions commit without waiting for the disk flush; every other write
keeps durable commits (config/durability.py)."""

import pytest
from django.db import connection, transaction

from chat.services import message_create
from routing import services
from tests.chat.conftest import make_live_chat

pytestmark = [
    # Real transactions: in a test's own transaction the setting would last to its end.
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="synchronous_commit is PostgreSQL's"
    ),
]


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def test_a_routing_transaction_commits_without_waiting_and_only_it(queue, make_interaction):
    chat = make_interaction()
    assert _synchronous_commit() == "on"
    with transaction.atomic():
        assert services._lock_waiting_page([chat.pk], queue=queue)[0]
        assert _synchronous_commit() == "off"
    # Transaction-local: the next transaction on this connection is durable again.
    with transaction.atomic():
        assert _synchronous_commit() == "on"


def test_a_routing_run_sets_it_for_each_chat_and_messages_stay_durable(
    queue, make_csr, make_interaction
):
    make_csr()
    make_interaction()
    assert services.route_queue(queue_id=queue.pk) == 1
    with transaction.atomic():
        assert _synchronous_commit() == "on"
    live = make_live_chat()
    with transaction.atomic():
        message_create(interaction=live.interaction, sender_kind="system", text="Hello")
        assert _synchronous_commit() == "on"
