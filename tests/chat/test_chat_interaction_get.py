"""chat.chat_interaction_get reads, in one plain statement, what a chat socket
shows: the same interaction and names the ORM's select_related would give."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat import events
from chat.models import Interaction, InteractionStatus
from chat.schemas import ChatRole
from chat.selectors.interactions import chat_interaction_get
from config.users import Role
from tests.factories import interaction_factory, user_factory

pytestmark = pytest.mark.django_db


def _via_orm(interaction_id: int) -> Interaction:
    return Interaction.objects.select_related("assigned_csr", "channel", "queue").get(
        pk=interaction_id
    )


@pytest.mark.parametrize("names", [("Alex", "Morgan"), ("", "")])
def test_the_hello_is_the_one_the_orm_would_give_in_one_query(names):
    first, last = names
    csr = user_factory(role=Role.CSR, first_name=first, last_name=last)
    chat = interaction_factory(
        status=InteractionStatus.ACTIVE,
        assigned_csr=csr,
        context={"order": "A-1"},
        accepted_at=timezone.now(),
        last_seq=7,
        customer_read_seq=3,
    )

    with CaptureQueriesContext(connection) as queries:
        got = chat_interaction_get(interaction_id=chat.pk)
        hello = events.hello_payload(got, ChatRole.CSR)
    assert len(queries.captured_queries) == 1

    expected = _via_orm(chat.pk)
    assert hello == events.hello_payload(expected, ChatRole.CSR)
    assert hello["interaction"]["assigned_csr"] == (f"{first} {last}" if first else csr.username)
    # Every column of the interaction itself, converted as the ORM converts it.
    for field in Interaction._meta.concrete_fields:
        assert getattr(got, field.attname) == getattr(expected, field.attname), field.name
    # A related field that was not read is loaded when asked for.
    assert got.channel.slug == expected.channel.slug


def test_a_chat_without_csr_and_an_unknown_one():
    chat = interaction_factory()
    got = chat_interaction_get(interaction_id=chat.pk)
    assert got is not None and got.assigned_csr is None
    assert events.hello_payload(got, ChatRole.CUSTOMER)["interaction"]["assigned_csr"] is None
    assert chat_interaction_get(interaction_id=chat.pk + 1000) is None
