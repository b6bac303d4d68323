"""Fixtures for the chat app's tests: a bot client with its token, an API client that
sends it, a valid escalation body; live chats with customer tokens and helpers that
open chat sockets through the real ASGI stack and listen on layer groups."""

from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from chat.events import INTERACTION_HANDLER
from chat.models import BotClient, Channel, CustomerToken, Interaction, InteractionStatus
from chat.tokens import CUSTOMER_TOKEN_PREFIX, token_digest, token_new
from config.asgi import application
from config.celery_app import app as celery_app
from config.users import Role
from tests.factories import bot_client_factory, channel_factory, interaction_factory, user_factory
from tests.layers import PatientReceiver, layer_close
from tests.routing.conftest import HOST_HEADER, ORIGIN_HEADER, login_headers

ESCALATIONS_URL = "/api/v1/escalations/"


@dataclass
class Bot:
    client: BotClient
    token: str
    channel: Channel
    api: APIClient

    def escalate(self, body: dict[str, Any], **headers: str):
        return self.api.post(ESCALATIONS_URL, body, format="json", headers=headers)

    def status_of(self, interaction_id: int):
        return self.api.get(f"{ESCALATIONS_URL}{interaction_id}/")


def make_bot(*, channel: Channel | None = None, active: bool = True) -> Bot:
    channel = channel or channel_factory()
    client, token = bot_client_factory(channels=[channel], active=active)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return Bot(client=client, token=token, channel=channel, api=api)


@pytest.fixture
def bot_factory(db):
    """make_bot: a bot client allowed on a channel, with an API client sending its token."""
    return make_bot


@pytest.fixture
def bot(db) -> Bot:
    """An active bot client allowed on one web-messaging channel (with a default queue)."""
    return make_bot(channel=channel_factory(slug="web"))


@pytest.fixture
def escalation_body():
    """build_escalation_body: a valid escalation body, with any key overridden."""
    return build_escalation_body


def build_escalation_body(channel: str = "web", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": channel,
        "intent": "billing.refund",
        "customer": {
            "external_id": "cust-1001",
            "name": "Dana Reyes",
            "email": "dana@example.com",
            "phone": "+15550100",
            "metadata": {"plan": "gold"},
        },
        "context": {"order": "A-1009"},
        "transcript": [
            {"from": "customer", "text": "I was charged twice.", "at": "2025-03-01T09:30:00Z"},
            {"from": "bot", "text": "Sorry about that. Checking...", "at": "2025-03-01T09:30:05Z"},
            {"from": "customer", "text": "Please hurry."},
        ],
    }
    body.update(overrides)
    return body


@pytest.fixture
def celery_eager():
    """Run Celery tasks in-process when queued, so a test sees the whole chain."""
    conf = celery_app.conf
    saved = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, True
    yield
    conf.task_always_eager, conf.task_eager_propagates = saved


# --- Live chat sockets ----------------------------------------------------------------


CHAT_SOCKET_TIMEOUT = 5


@dataclass
class LiveChat:
    """An interaction with a customer token (clear text) and, unless queued, its CSR."""

    interaction: Interaction
    token: str
    csr: User | None

    @property
    def id(self) -> int:
        return self.interaction.pk

    def customer_path(self, *, last_seq: int | None = None, token: str | None = None) -> str:
        query = f"?token={self.token if token is None else token}"
        if last_seq is not None:
            query += f"&last_seq={last_seq}"
        return f"/ws/customer/{self.id}/{query}"

    def csr_path(self, *, last_seq: int | None = None) -> str:
        query = f"?last_seq={last_seq}" if last_seq is not None else ""
        return f"/ws/chat/{self.id}/{query}"


def customer_token_add(interaction: Interaction) -> str:
    token = token_new(CUSTOMER_TOKEN_PREFIX)
    CustomerToken.objects.create(interaction=interaction, token_hash=token_digest(token))
    return token


def make_live_chat(
    *, status: str = InteractionStatus.ACTIVE, csr: User | None = None, **overrides: Any
) -> LiveChat:
    """An active chat handled by a new CSR (or `csr`); queued/offered ones have no CSR
    unless one is given."""
    if csr is None and status == InteractionStatus.ACTIVE:
        csr = user_factory(role=Role.CSR)
    if status == InteractionStatus.ACTIVE:
        overrides.setdefault("accepted_at", timezone.now())
    if status in (InteractionStatus.ENDED, InteractionStatus.ABANDONED):
        overrides.setdefault("ended_at", timezone.now())
    interaction = interaction_factory(status=status, assigned_csr=csr, **overrides)
    return LiveChat(interaction=interaction, token=customer_token_add(interaction), csr=csr)


@pytest.fixture
def live_chat_factory(transactional_db):
    """make_live_chat (sync: call through sync_to_async from async tests)."""
    return make_live_chat


@pytest.fixture
def chat_headers(transactional_db):
    """login_headers(user): Origin and a session cookie (sync)."""
    return login_headers


CUSTOMER_HEADERS = [ORIGIN_HEADER, HOST_HEADER]


class ChatSocket:
    """A connected chat socket and the frames it got up to `replay.done`.

    Frames skipped by receive_type() are kept, in order, for the next receive()."""

    def __init__(self, communicator: WebsocketCommunicator, opening: list[dict[str, Any]]):
        self.communicator = communicator
        self.opening = opening
        self.skipped: list[dict[str, Any]] = []

    @property
    def hello(self) -> dict[str, Any]:
        return self.opening[0]

    def opening_seqs(self) -> list[int]:
        return [f["seq"] for f in self.opening if f["type"] == "message"]

    async def send(self, **content: Any) -> None:
        await self.communicator.send_json_to(content)

    async def receive(self, timeout: float = CHAT_SOCKET_TIMEOUT) -> dict[str, Any]:
        if self.skipped:
            return self.skipped.pop(0)
        return await self.communicator.receive_json_from(timeout=timeout)

    async def receive_type(self, frame_type: str) -> dict[str, Any]:
        """The next frame of this type; the others before it stay for receive()."""
        for i, frame in enumerate(self.skipped):
            if frame["type"] == frame_type:
                return self.skipped.pop(i)
        while True:
            frame = await self.communicator.receive_json_from(timeout=CHAT_SOCKET_TIMEOUT)
            if frame["type"] == frame_type:
                return frame
            self.skipped.append(frame)

    async def until_seq(self, seq: int) -> list[dict[str, Any]]:
        """Every frame up to and including the message with this seq."""
        frames = []
        while True:
            frame = await self.receive()
            frames.append(frame)
            if frame["type"] == "message" and frame["seq"] >= seq:
                return frames

    async def until_type(self, frame_type: str) -> list[dict[str, Any]]:
        frames = []
        while True:
            frame = await self.receive()
            frames.append(frame)
            if frame["type"] == frame_type:
                return frames

    async def nothing(self, timeout: float = 0.3) -> bool:
        """No frame is waiting and none arrives within `timeout`."""
        return not self.skipped and await self.communicator.receive_nothing(timeout=timeout)

    async def closed_with(self) -> int | None:
        """The close code the server sent next (frames before it are skipped)."""
        self.skipped.clear()
        while True:
            output = await self.communicator.receive_output(timeout=CHAT_SOCKET_TIMEOUT)
            if output["type"] == "websocket.close":
                return output.get("code")


@asynccontextmanager
async def chat_socket(path: str, headers: list[tuple[bytes, bytes]]):
    """Open a chat socket through the real ASGI stack, read through `replay.done`, and
    always disconnect."""
    communicator = WebsocketCommunicator(application, path, headers=headers)
    try:
        connected, _ = await communicator.connect(timeout=CHAT_SOCKET_TIMEOUT)
        assert connected
        socket = ChatSocket(communicator, [])
        socket.opening = await socket.until_type("replay.done")
        yield socket
    finally:
        await communicator.disconnect()


async def send_until_refused(
    socket: ChatSocket, frame_type: str, *, id_prefix: str, text: str, most: int
) -> tuple[int, dict[str, Any]]:
    """Send `frame_type` frames (ids id_prefix-0, -1, …) one at a time, each waiting for
    its answer, until one is refused or `most` were acked: how many were acked, and the
    last answer (the refusal, if any)."""
    acked = 0
    reply: dict[str, Any] = {}
    for n in range(most):
        await socket.send(type=frame_type, client_msg_id=f"{id_prefix}-{n}", text=text)
        reply = await socket.receive()
        while reply["type"] == "message":
            reply = await socket.receive()
        if reply["type"] == "error":
            break
        assert reply["type"] == "ack"
        acked += 1
    return acked, reply


@asynccontextmanager
async def refused_socket(path: str, headers: list[tuple[bytes, bytes]]):
    """Open a socket the server is expected to refuse (accept, then close)."""
    communicator = WebsocketCommunicator(application, path, headers=headers)
    try:
        connected, _ = await communicator.connect(timeout=CHAT_SOCKET_TIMEOUT)
        assert connected  # accepted so that the close code reaches the browser
        yield ChatSocket(communicator, [])
    finally:
        await communicator.disconnect()


@asynccontextmanager
async def group_listener(group: str):
    """Listen on a layer group with a layer of its own (as another process would); yields
    an async function returning the next payload, or None after `timeout` seconds."""
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    receiver = PatientReceiver(layer)

    async def next_payload(timeout: float = CHAT_SOCKET_TIMEOUT) -> dict[str, Any] | None:
        event = await receiver.next(channel, timeout)
        return None if event is None else event["payload"]

    try:
        yield next_payload
    finally:
        receiver.close()
        await layer.group_discard(group, channel)
        await layer_close(layer)


async def publish_to_group(group: str, payload: dict[str, Any]) -> None:
    """Send a layer event from another layer instance, as another process would."""
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    try:
        await layer.group_send(group, {"type": INTERACTION_HANDLER, "payload": payload})
    finally:
        await layer_close(layer)


def assert_shape(payload: dict[str, Any], schema: type) -> None:
    """The payload has exactly the TypedDict's keys (required ones all there)."""
    keys = set(payload)
    assert schema.__required_keys__ <= keys, (schema.__name__, payload)  # type: ignore[attr-defined]
    assert keys <= schema.__required_keys__ | schema.__optional_keys__, (  # type: ignore[attr-defined]
        schema.__name__,
        payload,
    )
