"""The typing preview: on a channel that turned it on, the customer's unsent text goes
to the handling CSR's panel, throttled, and nowhere else; it is never stored."""

import asyncio
import time

import pytest
import redis
from asgiref.sync import sync_to_async
from django.conf import settings

from chat import schemas
from chat.consumers import TYPING_PREVIEW_INTERVAL_SECONDS
from chat.models import Channel, Message
from chat.services.messages import MAX_MESSAGE_CHARS
from config.users import Role
from tests.chat.conftest import CUSTOMER_HEADERS, assert_shape, chat_socket, make_live_chat
from tests.chat.test_csat_consumers import drain
from tests.factories import channel_factory, user_factory
from tests.routing.conftest import login_headers

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

SECRET_DRAFT = "my card number is 4111"


def preview_chat(*, on: bool):
    return make_live_chat(channel=channel_factory(typing_preview=on))


async def sockets(chat):
    csr_headers = await sync_to_async(login_headers)(chat.csr)
    return (
        chat_socket(chat.customer_path(), CUSTOMER_HEADERS),
        chat_socket(chat.csr_path(), csr_headers),
    )


def previews(frames):
    return [frame for frame in frames if frame["type"] == "typing.preview"]


async def test_the_preview_is_off_by_default_and_its_text_dropped():
    """A new channel has the preview off; hello says so; a `typing` with text still
    shows the typing indicator, but the text reaches no one."""
    assert Channel._meta.get_field("typing_preview").default is False
    chat = await sync_to_async(preview_chat)(on=False)
    customer_socket, csr_socket = await sockets(chat)
    async with customer_socket as customer, csr_socket as csr:
        assert customer.hello["interaction"]["typing_preview"] is False
        await customer.send(type="typing", active=True, text=SECRET_DRAFT)
        frames = await drain(csr)
        assert [f["type"] for f in frames if f["type"] == "typing"] == ["typing"]
        assert previews(frames) == []
        assert SECRET_DRAFT not in str(frames)


async def test_the_csr_sees_the_text_and_the_customer_side_never_does():
    """With the preview on: the handling CSR's panel gets `typing.preview` with the text
    (and "" when the customer stops); the customer's sockets and a manager watching get
    nothing of it; no message is stored."""
    chat = await sync_to_async(preview_chat)(on=True)
    manager = await sync_to_async(user_factory)(role=Role.CSR_MANAGER)
    manager_headers = await sync_to_async(login_headers)(manager)
    customer_socket, csr_socket = await sockets(chat)
    async with (
        customer_socket as customer,
        csr_socket as csr,
        chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as other_tab,
        chat_socket(chat.csr_path(), manager_headers) as watcher,
    ):
        assert customer.hello["interaction"]["typing_preview"] is True
        await customer.send(type="typing", active=True, text=SECRET_DRAFT)
        preview = await csr.receive_type("typing.preview")
        assert_shape(preview, schemas.TypingPreviewFrame)
        assert preview == {
            "type": "typing.preview",
            "interaction_id": chat.id,
            "name": chat.interaction.customer_name,
            "text": SECRET_DRAFT,
        }
        await asyncio.sleep(TYPING_PREVIEW_INTERVAL_SECONDS)
        await customer.send(type="typing", active=False, text="")
        assert (await csr.receive_type("typing.preview"))["text"] == ""
        for socket in (customer, other_tab, watcher):
            frames = await drain(socket)
            assert previews(frames) == [] and SECRET_DRAFT not in str(frames)
    assert not await sync_to_async(
        Message.objects.filter(interaction_id=chat.id, text__contains="card").exists
    )()


async def test_nothing_of_the_preview_stays_in_redis():
    """No Redis key (name or string value) holds the text once it was relayed."""
    chat = await sync_to_async(preview_chat)(on=True)
    customer_socket, csr_socket = await sockets(chat)
    async with customer_socket as customer, csr_socket as csr:
        await customer.send(type="typing", active=True, text=SECRET_DRAFT)
        await csr.receive_type("typing.preview")
        client = redis.Redis.from_url(settings.REDIS_URL)
        try:
            for key in client.scan_iter(count=1000):
                assert b"4111" not in key
                if client.type(key) == b"string":
                    assert b"4111" not in (client.get(key) or b"")
        finally:
            client.close()


async def test_previews_are_throttled_and_the_newest_text_wins():
    """A burst of 20 previews within a moment reaches the CSR as a few frames (one per
    interval at most), the last one the newest text; text is cut to a message's length."""
    chat = await sync_to_async(preview_chat)(on=True)
    customer_socket, csr_socket = await sockets(chat)
    async with customer_socket as customer, csr_socket as csr:
        started = time.monotonic()
        for n in range(1, 21):
            await customer.send(type="typing", active=True, text="x" * n)
        await asyncio.sleep(0.05)
        frames = previews(await drain(csr, 0.6))
        elapsed = time.monotonic() - started
        assert 1 <= len(frames) <= 1 + elapsed / TYPING_PREVIEW_INTERVAL_SECONDS
        assert len(frames) < 5
        assert frames[-1]["text"] == "x" * 20
        await customer.send(type="typing", active=True, text="y" * (MAX_MESSAGE_CHARS + 50))
        frame = await csr.receive_type("typing.preview")
        assert frame["text"] == "y" * MAX_MESSAGE_CHARS


async def test_a_text_that_is_not_a_string_is_refused():
    chat = await sync_to_async(preview_chat)(on=True)
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await customer.send(type="typing", active=True, text=["a"])
        assert (await customer.receive_type("error"))["code"] == "bad_json"
