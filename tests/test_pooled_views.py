"""config.pooled_views: under ASGI a pooled view runs on the thread pool, so one slow
request does not hold up the next (Django runs plain sync views one at a time on one
thread per process); outside ASGI it stays on the caller's thread."""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.http import HttpResponse
from django.test import AsyncClient, Client
from django.urls import path

from chat.models import Interaction, Message
from config.pooled_views import pooled_view
from tests.chat.conftest import ESCALATIONS_URL, build_escalation_body, make_bot
from tests.factories import channel_factory

entered = threading.Event()
gate = threading.Event()


def slow(request):
    entered.set()
    gate.wait(10)
    return HttpResponse("slow")


def quick(request):
    return HttpResponse(threading.current_thread().name)


urlpatterns = [path("slow/", pooled_view(slow)), path("quick/", pooled_view(quick))]


@pytest.mark.asyncio
@pytest.mark.urls(__name__)
async def test_a_request_is_served_while_another_waits():
    entered.clear()
    gate.clear()
    client = AsyncClient()
    slow_request = asyncio.create_task(client.get("/slow/"))
    try:
        assert await asyncio.to_thread(entered.wait, 5)
        # A plain sync view would queue behind the blocked one on the process's one
        # sync thread, and this would time out.
        reply = await asyncio.wait_for(client.get("/quick/"), 5)
        assert reply.status_code == 200
        assert not slow_request.done()
    finally:
        gate.set()
    assert (await slow_request).content == b"slow"


@pytest.mark.urls(__name__)
def test_outside_asgi_the_view_runs_on_the_callers_thread():
    reply = Client().get("/quick/")
    assert reply.content.decode() == threading.current_thread().name


def test_the_wrapper_keeps_the_drf_view_attributes():
    from chat.api.views import EscalationCreateApi

    view = EscalationCreateApi.as_view()
    assert view.cls is EscalationCreateApi
    assert view.csrf_exempt is True
    assert asyncio.iscoroutinefunction(view)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_an_escalation_under_asgi_is_stored_from_the_pool():
    def setup():
        return make_bot(channel=channel_factory(slug="web")).token

    token = await sync_to_async(setup)()
    reply = await AsyncClient().post(
        ESCALATIONS_URL,
        build_escalation_body(),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status_code == 201, reply.content
    interaction_id = reply.json()["id"]

    def stored():
        connection.close()  # see the pool thread's commit on a fresh connection
        return (
            Interaction.objects.filter(pk=interaction_id).exists(),
            Message.objects.filter(interaction_id=interaction_id).count(),
        )

    assert await sync_to_async(stored)() == (True, 4)
