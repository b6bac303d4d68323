"""The CSR's /ws/agent/ socket carries offers to the right CSR only, and takes accept,
decline and status changes."""

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from chat.models import Interaction, InteractionStatus
from config.asgi import application
from config.sockets import LIVE_DELAYED_MESSAGE, LIVE_RESTORED_MESSAGE
from routing.events import queue_state_publish
from routing.models import CSRProfile, CSRStatus, Offer, OfferStatus
from routing.services.answers import offers_expire
from tests.factories import route_chat
from tests.reliability.redis_server import OUTAGE_SECONDS
from tests.routing.conftest import login_headers

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

PATH = "/ws/agent/"


async def _open(user) -> tuple[WebsocketCommunicator, dict]:
    headers = await database_sync_to_async(login_headers)(user)
    communicator = WebsocketCommunicator(application, PATH, headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    state = await communicator.receive_json_from(timeout=5)
    assert state["type"] == "state"
    return communicator, state


async def _next_of_type(communicator, kind: str, timeout: float = 5) -> dict:
    """The next message of one type, skipping others (queue counts arrive any time)."""
    while True:
        message = await communicator.receive_json_from(timeout=timeout)
        if message["type"] == kind:
            return message


async def test_an_offer_reaches_the_chosen_csr_and_no_one_else(make_csr, make_interaction):
    chosen = await database_sync_to_async(make_csr)(username="chosen")
    other = await database_sync_to_async(make_csr)(username="other", status=CSRStatus.AWAY)
    chosen_socket, _ = await _open(chosen)
    other_socket, _ = await _open(other)
    try:
        interaction = await database_sync_to_async(make_interaction)(intent="billing")
        await database_sync_to_async(route_chat)(interaction_id=interaction.pk)
        offer = await _next_of_type(chosen_socket, "offer")
        assert offer["interaction_id"] == interaction.pk
        assert offer["intent"] == "billing"
        assert offer["customer_name"] == interaction.customer.name
        assert 25 <= offer["expires_in_seconds"] <= 30
        while not await other_socket.receive_nothing(timeout=0.5):
            assert (await other_socket.receive_json_from())["type"] != "offer"
    finally:
        await chosen_socket.disconnect()
        await other_socket.disconnect()


async def test_the_state_on_connect_carries_the_pending_offer(make_csr, make_interaction):
    csr = await database_sync_to_async(make_csr)()
    interaction = await database_sync_to_async(make_interaction)()
    await database_sync_to_async(route_chat)(interaction_id=interaction.pk)
    socket, state = await _open(csr)
    try:
        assert state["status"] == "available"
        assert state["pending_offer"]["interaction_id"] == interaction.pk
        assert [q["slug"] for q in state["queues"]] == ["general"]
        assert state["queues"][0]["waiting"] == 1
    finally:
        await socket.disconnect()


async def test_accepting_over_the_socket_makes_the_chat_active(make_csr, make_interaction):
    csr = await database_sync_to_async(make_csr)()
    socket, _ = await _open(csr)
    try:
        interaction = await database_sync_to_async(make_interaction)()
        await database_sync_to_async(route_chat)(interaction_id=interaction.pk)
        offer = await _next_of_type(socket, "offer")
        await socket.send_json_to({"type": "accept", "offer_id": offer["offer_id"]})
        accepted = await _next_of_type(socket, "accepted")
        assert accepted["interaction_id"] == interaction.pk
        refreshed = await database_sync_to_async(Interaction.objects.get)(pk=interaction.pk)
        assert refreshed.status == InteractionStatus.ACTIVE
        # A second accept of the same offer is refused with the product's words.
        await socket.send_json_to({"type": "accept", "offer_id": offer["offer_id"]})
        error = await _next_of_type(socket, "error")
        assert error["message"] == "This chat is no longer available."
    finally:
        await socket.disconnect()


async def test_declining_over_the_socket_offers_the_chat_to_the_next_csr(
    make_csr, make_interaction
):
    first = await database_sync_to_async(make_csr)(username="first")
    second = await database_sync_to_async(make_csr)(username="second")
    await database_sync_to_async(CSRProfile.objects.filter(user=second).update)(
        status=CSRStatus.OFFLINE
    )
    first_socket, _ = await _open(first)
    second_socket, _ = await _open(second)
    try:
        interaction = await database_sync_to_async(make_interaction)()
        await database_sync_to_async(route_chat)(interaction_id=interaction.pk)
        offer = await _next_of_type(first_socket, "offer")
        await second_socket.send_json_to({"type": "set_status", "status": "available"})
        status = await _next_of_type(second_socket, "status")
        assert status["status"] == "available"
        await first_socket.send_json_to(
            {"type": "decline", "offer_id": offer["offer_id"], "reason": "Not my area"}
        )
        await _next_of_type(first_socket, "declined")
        closed = await _next_of_type(first_socket, "offer.closed")
        assert closed["reason"] == "declined"
        next_offer = await _next_of_type(second_socket, "offer")
        assert next_offer["interaction_id"] == interaction.pk
    finally:
        await first_socket.disconnect()
        await second_socket.disconnect()


async def test_an_expired_offer_is_closed_on_the_csrs_screen(make_csr, make_interaction):
    csr = await database_sync_to_async(make_csr)()
    socket, _ = await _open(csr)
    try:
        interaction = await database_sync_to_async(make_interaction)()
        offer = await database_sync_to_async(route_chat)(interaction_id=interaction.pk)
        await _next_of_type(socket, "offer")
        await database_sync_to_async(Offer.objects.filter(pk=offer.pk).update)(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        await database_sync_to_async(offers_expire)(offer_ids=[offer.pk])
        closed = await _next_of_type(socket, "offer.closed")
        assert closed == {
            "type": "offer.closed",
            "offer_id": offer.pk,
            "interaction_id": interaction.pk,
            "reason": "expired",
            "message": "The offer expired before it was accepted.",
        }
        stored = await database_sync_to_async(Offer.objects.get)(pk=offer.pk)
        assert stored.status == OfferStatus.EXPIRED
    finally:
        await socket.disconnect()


async def test_bad_requests_get_typed_errors(make_csr):
    csr = await database_sync_to_async(make_csr)()
    socket, _ = await _open(csr)
    try:
        await socket.send_json_to({"type": "accept", "offer_id": "seven"})
        assert (await _next_of_type(socket, "error"))["code"] == "bad_offer_id"
        await socket.send_json_to({"type": "accept", "offer_id": 999999})
        assert (await _next_of_type(socket, "error"))["code"] == "offer_unavailable"
        await socket.send_json_to({"type": "set_status", "status": "away"})
        assert (await _next_of_type(socket, "error"))["code"] == "reason_required"
    finally:
        await socket.disconnect()


async def test_queue_counts_reach_members_of_the_queue(make_csr, make_interaction):
    csr = await database_sync_to_async(make_csr)(status=CSRStatus.AWAY)
    socket, _ = await _open(csr)
    try:
        interaction = await database_sync_to_async(make_interaction)()
        await database_sync_to_async(queue_state_publish)(queue_id=interaction.queue_id)
        counts = await _next_of_type(socket, "queue.counts")
        assert counts["queue"]["waiting"] == 1
        assert counts["queue"]["csrs_available"] == 0
    finally:
        await socket.disconnect()


# --- While Redis is down --------------------------------------------------------------
# The fixture layer_redis (tests/conftest.py): a private Redis for the channel layer,
# killed and started again on the same port; both channels_redis layers.


async def test_the_socket_opens_while_redis_is_down_and_catches_up_when_it_is_back(
    make_csr, make_interaction, layer_redis
):
    """With the channel layer unreachable the socket still opens with its `state`, then
    says `live.delayed`; heartbeats are answered and keep the CSR present. Once Redis is
    back: `live.restored`, a fresh `state` with the offer made meanwhile, and live
    events again."""
    csr = await database_sync_to_async(make_csr)()
    socket, _ = await _open(csr)
    try:
        delayed = await socket.receive_json_from(timeout=5)
        assert delayed == {"type": "live.delayed", "message": LIVE_DELAYED_MESSAGE}
        before = timezone.now()
        await socket.send_json_to({"type": "heartbeat"})
        await _next_of_type(socket, "heartbeat.ack")
        profile = await database_sync_to_async(CSRProfile.objects.get)(user=csr)
        assert profile.last_heartbeat_at >= before
        interaction = await database_sync_to_async(make_interaction)()
        offer = await database_sync_to_async(route_chat)(interaction_id=interaction.pk)
        assert await socket.receive_nothing(timeout=0.5)  # its event was lost

        await database_sync_to_async(layer_redis.start)()
        restored = await _next_of_type(socket, "live.restored", timeout=OUTAGE_SECONDS)
        assert restored == {"type": "live.restored", "message": LIVE_RESTORED_MESSAGE}
        state = await socket.receive_json_from(timeout=5)
        assert state["type"] == "state"
        assert state["pending_offer"]["offer_id"] == offer.pk
        await database_sync_to_async(queue_state_publish)(queue_id=interaction.queue_id)
        assert (await _next_of_type(socket, "queue.counts"))["queue"]["waiting"] == 1
    finally:
        await socket.disconnect()


async def test_a_redis_restart_under_the_open_socket_is_no_server_error(
    make_csr, make_interaction, layer_redis
):
    """Redis killed under the open socket: heartbeats are answered (no 1011), the socket
    says `live.delayed` when its layer notices (the core layer's receive fails), live
    events come back after the restart, and closing while Redis is down is clean."""
    await database_sync_to_async(layer_redis.start)()
    csr = await database_sync_to_async(make_csr)()
    interaction = await database_sync_to_async(make_interaction)()
    socket, _ = await _open(csr)
    try:
        await database_sync_to_async(layer_redis.kill)()
        await socket.send_json_to({"type": "heartbeat"})
        seen = [(await socket.receive_json_from(timeout=5))["type"]]
        while "heartbeat.ack" not in seen:
            seen.append((await socket.receive_json_from(timeout=5))["type"])
        core_layer = get_channel_layer().__class__.__name__ == "RedisChannelLayer"
        if core_layer and "live.delayed" not in seen:
            await _next_of_type(socket, "live.delayed")

        await database_sync_to_async(layer_redis.start)()
        deadline = asyncio.get_running_loop().time() + OUTAGE_SECONDS
        while True:  # until the layer has re-subscribed the socket
            assert asyncio.get_running_loop().time() < deadline, "no live event came"
            await database_sync_to_async(queue_state_publish)(queue_id=interaction.queue_id)
            arrived = not await socket.receive_nothing(timeout=1)
            if arrived and (await socket.receive_json_from())["type"] == "queue.counts":
                break
        await database_sync_to_async(layer_redis.kill)()
    finally:
        await socket.disconnect()  # re-raises what the consumer raised on the way out
