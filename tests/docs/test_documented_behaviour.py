"""Behaviours the docs state and no other test pinned: a client_msg_id one side reuses
from the other (docs/websocket-protocol.md, docs/api.md), a socket retry after the chat
ended (websocket-protocol.md), the capacity cap of 20 (docs/routing.md) and the login
URL (README.md, docs/portal.md)."""

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.contrib import admin
from django.test import RequestFactory

from chat.models import AppStudioSettings, Interaction, InteractionStatus, Message, SenderKind
from chat.services.interactions import interaction_end
from config.users import Role
from routing.models import CSRProfile
from routing.services.presence import csr_profile_ensure
from tests.chat.conftest import CUSTOMER_HEADERS, chat_socket, make_live_chat
from tests.factories import user_factory
from tests.routing.conftest import login_headers

SHARED_ID = "b7e0c1d2-shared"


async def _sockets(chat):
    csr_headers = await database_sync_to_async(login_headers)(chat.csr)
    return (
        chat_socket(chat.customer_path(), CUSTOMER_HEADERS),
        chat_socket(chat.csr_path(), csr_headers),
    )


def _stored(chat, client_msg_id):
    return list(
        Message.objects.filter(interaction_id=chat.id, client_msg_id=client_msg_id).values_list(
            "sender_kind", "text"
        )
    )


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("ended", [False, True], ids=["open chat", "ended chat"])
async def test_a_client_msg_id_the_other_side_used_gets_bad_client_msg_id(ended):
    """The customer sending with the id of the CSR's message gets `error`
    `bad_client_msg_id` (with its client_msg_id), never the CSR's message acked as its
    own, and nothing is stored — while the chat is open and after it ended."""
    chat = await sync_to_async(make_live_chat)()
    customer_socket, csr_socket = await _sockets(chat)
    async with customer_socket as customer, csr_socket as csr:
        await csr.send(type="send", client_msg_id=SHARED_ID, text="From the CSR")
        assert (await csr.receive_type("ack"))["duplicate"] is False
        if ended:
            await database_sync_to_async(interaction_end)(
                interaction_id=chat.id, by=SenderKind.CSR, user=chat.csr
            )
        await customer.send(type="send", client_msg_id=SHARED_ID, text="From the customer")
        error = await customer.receive_type("error")
        assert error["code"] == "bad_client_msg_id"
        assert error["client_msg_id"] == SHARED_ID
        assert error["message"] == "This client_msg_id is already used by another sender."
    stored = await database_sync_to_async(_stored)(chat, SHARED_ID)
    assert stored == [(SenderKind.CSR, "From the CSR")]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("side", ["customer", "csr"])
async def test_a_retry_after_the_chat_ended_is_acked_and_a_new_message_is_refused(side):
    """After the end, a socket's retry of a message stored before gets its `ack` with
    the original seq and created_at and `duplicate: true`; a new client_msg_id gets
    `chat_ended` and nothing is stored."""
    chat = await sync_to_async(make_live_chat)()
    customer_socket, csr_socket = await _sockets(chat)
    async with customer_socket as customer, csr_socket as csr:
        sender = customer if side == "customer" else csr
        await sender.send(type="send", client_msg_id="before-end", text="Are you there?")
        first = await sender.receive_type("ack")
        await database_sync_to_async(interaction_end)(
            interaction_id=chat.id, by=SenderKind.CUSTOMER
        )
        await sender.send(type="send", client_msg_id="before-end", text="Are you there?")
        retry = await sender.receive_type("ack")
        assert retry == {**first, "duplicate": True}
        await sender.send(type="send", client_msg_id="after-end", text="Hello?")
        error = await sender.receive_type("error")
        assert (error["code"], error["client_msg_id"]) == ("chat_ended", "after-end")
    assert await database_sync_to_async(_stored)(chat, "after-end") == []
    interaction = await database_sync_to_async(Interaction.objects.get)(pk=chat.id)
    assert interaction.status == InteractionStatus.ENDED


def _admin_form(model, instance, **changes):
    """The admin's change form for `instance`, bound to its current values and `changes`."""
    request = RequestFactory().post("/")
    request.user = user_factory(role=Role.ADMINISTRATOR, is_superuser=True)
    model_admin = admin.site.get_model_admin(model)
    form_class = model_admin.get_form(request, instance, change=True)
    unbound = form_class(instance=instance)
    data = {name: unbound[name].value() for name in unbound.fields}
    data = {name: value for name, value in data.items() if value is not None}
    data.update(changes)
    return form_class(data, instance=instance)


@pytest.mark.django_db
@pytest.mark.parametrize(("capacity", "valid"), [(1, True), (20, True), (21, False), (0, False)])
def test_a_csr_capacity_is_1_to_20_in_the_admin(capacity, valid):
    profile = csr_profile_ensure(user=user_factory(role=Role.CSR))
    form = _admin_form(CSRProfile, profile, capacity=capacity)
    assert form.is_valid() is valid, form.errors
    if not valid:
        assert list(form.errors) == ["capacity"]


@pytest.mark.django_db
@pytest.mark.parametrize(("capacity", "valid"), [(1, True), (20, True), (21, False), (0, False)])
def test_the_default_capacity_is_1_to_20_in_the_admin(capacity, valid):
    settings_row, _ = AppStudioSettings.objects.get_or_create(pk=AppStudioSettings.SINGLETON_ID)
    form = _admin_form(AppStudioSettings, settings_row, default_csr_capacity=capacity)
    assert form.is_valid() is valid, form.errors
    if not valid:
        assert list(form.errors) == ["default_csr_capacity"]


@pytest.mark.django_db
def test_the_portal_sends_a_visitor_without_a_login_to_accounts_login(client):
    """README and docs/portal.md: the login page is /accounts/login/; the portal's pages
    send a visitor there and come back after the login."""
    response = client.get("/recent/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/recent/"
    assert client.get("/accounts/login/").status_code == 200
