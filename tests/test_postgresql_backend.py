"""config.postgresql: Django's PostgreSQL backend, with psycopg's C loader reading
timestamps where the connection's time zone is UTC."""

import copy
import datetime

import pytest
from django.db import connection

from chat.models import Interaction
from config.postgresql import base
from tests.factories import interaction_factory

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the PostgreSQL backend"
)


def _wrapper(**settings) -> base.DatabaseWrapper:
    settings_dict = copy.deepcopy(connection.settings_dict)
    settings_dict.update(settings)
    settings_dict.get("OPTIONS", {}).pop("pool", None)
    return base.DatabaseWrapper(settings_dict, alias="backend-test")


@postgresql_only
def test_the_portal_runs_on_it():
    assert connection.settings_dict["ENGINE"] == "config.postgresql"


@postgresql_only
@pytest.mark.django_db
def test_timestamps_come_back_aware_in_utc_as_the_orm_wrote_them():
    written = datetime.datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=datetime.UTC)
    chat = interaction_factory(queued_at=written)
    with connection.cursor() as cursor:
        cursor.execute("SELECT queued_at FROM chat_interaction WHERE id = %s", [chat.pk])
        (read,) = cursor.fetchone()
        loader = cursor.cursor.adapters.get_loader(cursor.description[0].type_code, 0)
    assert loader is base._UtcTimestamptzLoader
    assert read == written
    assert read.tzinfo is datetime.UTC
    assert Interaction.objects.get(pk=chat.pk).queued_at == written


@postgresql_only
def test_a_connection_in_another_time_zone_keeps_djangos_loader():
    utc = _wrapper(TIME_ZONE=None).get_connection_params()["context"]
    paris = _wrapper(TIME_ZONE="Europe/Paris").get_connection_params()["context"]
    assert utc.get_loader(1184, 0) is base._UtcTimestamptzLoader
    assert paris.get_loader(1184, 0) is not base._UtcTimestamptzLoader
