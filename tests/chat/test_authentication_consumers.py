"""Authentication over the live chat sockets, through the real ASGI stack and Redis: the
customer's widget sends `authenticate` with an identity token on /ws/customer/<id>/; the
CSR's /ws/chat/<id>/ sees "Customer authenticated" and the status turn authenticated."""

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from chat import identity, schemas
from chat.models import Interaction, Message, SystemEvent
from chat.services.authentication import interaction_request_authentication
from tests.chat.conftest import CUSTOMER_HEADERS, assert_shape, chat_socket, make_live_chat
from tests.factories import channel_factory, customer_factory
from tests.routing.conftest import login_headers

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

SECRET = "socket-identity-secret"


def _chat():
    channel = channel_factory(identity_secret=SECRET)
    return make_live_chat(channel=channel, customer=customer_factory(external_id="cust-5"))


def token_for(customer_id="cust-5", *, secret=SECRET, **kwargs):
    return identity.sign(secret=secret, customer_id=customer_id, identity="NB-5", **kwargs)


@database_sync_to_async
def state(chat) -> tuple[bool, int]:
    interaction = Interaction.objects.select_related("customer").get(pk=chat.id)
    return interaction.authenticated, interaction.last_seq


async def test_the_customer_authenticates_and_the_csr_sees_it_live():
    """Request → the customer gets the auth_requested message; `authenticate` with a
    valid token → `authenticate.ok` to the customer, and both sides get "Customer
    authenticated" then interaction.status with authenticated=true."""
    chat = await sync_to_async(_chat)()
    csr_headers = await database_sync_to_async(login_headers)(chat.csr)
    async with (
        chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer,
        chat_socket(chat.csr_path(), csr_headers) as csr,
    ):
        assert customer.hello["interaction"]["authenticated"] is False
        await database_sync_to_async(interaction_request_authentication)(
            interaction_id=chat.id, csr=chat.csr
        )
        requests = {}
        for name, socket in (("customer", customer), ("csr", csr)):
            request = (await socket.until_seq(1))[-1]
            assert (request["text"], request["event"]) == (
                "Authentication request is sent to customer",
                "auth_requested",
            )
            requests[name] = request
        assert requests["csr"]["data"]["csr_id"] == chat.csr.pk
        assert requests["customer"]["data"] == {}  # the CSR's id stays in the portal

        await customer.send(type="authenticate", token=token_for())

        ok = await customer.receive_type("authenticate.ok")
        assert_shape(ok, schemas.AuthenticateOkPayload)
        assert ok["interaction_id"] == chat.id
        for socket in (customer, csr):
            message = await socket.receive_type("message")
            assert (message["seq"], message["text"], message["event"]) == (
                2,
                "Customer authenticated",
                "authenticated",
            )
            status = await socket.receive_type("interaction.status")
            assert status["authenticated"] is True
        assert await state(chat) == (True, 2)


@pytest.mark.parametrize(
    ("code", "token"),
    [
        ("bad_signature", lambda: token_for(secret="forged")),
        ("wrong_customer", lambda: token_for("cust-6")),
        ("token_expired", lambda: token_for(now=1_000_000)),
        ("malformed_token", lambda: {"customer_id": "cust-5", "signature": "00"}),
    ],
)
async def test_a_refused_token_gets_a_typed_error_and_changes_nothing(code, token):
    chat = await sync_to_async(_chat)()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await customer.send(type="authenticate", token=token())
        error = await customer.receive()
        assert_shape(error, schemas.ChatErrorPayload)
        assert error["type"] == "error"
        assert error["code"] == code
        assert error["message"]
        assert await customer.nothing()
    assert await state(chat) == (False, 0)


async def test_authenticate_needs_a_token_object():
    chat = await sync_to_async(_chat)()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        for content in ({"type": "authenticate"}, {"type": "authenticate", "token": "abc"}):
            await customer.send(**content)
            error = await customer.receive()
            assert (error["type"], error["code"]) == ("error", "bad_json")
    assert await state(chat) == (False, 0)


async def test_the_csr_socket_cannot_authenticate_the_customer():
    """Only the customer's socket may prove who the customer is: the CSR's does not know
    the message type."""
    chat = await sync_to_async(_chat)()
    headers = await database_sync_to_async(login_headers)(chat.csr)
    async with chat_socket(chat.csr_path(), headers) as csr:
        await csr.send(type="authenticate", token=token_for())
        error = await csr.receive()
        assert (error["type"], error["code"]) == ("error", "unknown_type")
    assert await state(chat) == (False, 0)


async def test_attempts_are_rate_limited_with_retry_after(settings):
    settings.PORTAL = {**settings.PORTAL, "AUTH_ATTEMPTS_PER_MINUTE": 3}
    chat = await sync_to_async(_chat)()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        for _ in range(3):
            await customer.send(type="authenticate", token=token_for(secret="guess"))
            assert (await customer.receive())["code"] == "bad_signature"
        await customer.send(type="authenticate", token=token_for())
        error = await customer.receive()
        assert error["code"] == "rate_limited"
        assert 1 <= error["retry_after"] <= 60
    assert await state(chat) == (False, 0)


async def test_a_second_authentication_is_refused():
    chat = await sync_to_async(_chat)()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await customer.send(type="authenticate", token=token_for())
        await customer.receive_type("authenticate.ok")
        await customer.send(type="authenticate", token=token_for())
        error = await customer.receive_type("error")
        assert error["code"] == "already_authenticated"
    count = await database_sync_to_async(
        Message.objects.filter(interaction_id=chat.id, event=SystemEvent.AUTHENTICATED).count
    )()
    assert count == 1


async def test_a_reconnecting_widget_learns_it_is_authenticated_from_hello():
    chat = await sync_to_async(_chat)()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await customer.send(type="authenticate", token=token_for())
        await customer.receive_type("authenticate.ok")
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        assert customer.hello["interaction"]["authenticated"] is True
        assert customer.opening[-2]["text"] == "Customer authenticated"
