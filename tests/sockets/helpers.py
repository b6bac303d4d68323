"""Opening the portal's sockets through the real ASGI stack for the tests of this
package, with a browser's headers (Origin, Host, the session cookie)."""

import json
from contextlib import asynccontextmanager
from typing import Any

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from config.asgi import application
from tests.routing.conftest import HOST_HEADER, ORIGIN_HEADER

TIMEOUT = 5

Headers = list[tuple[bytes, bytes]]


def browser_login(user: User) -> tuple[Client, Headers]:
    """A browser logged in as `user` (its own session) and the headers its sockets send.
    Sync: call through sync_to_async."""
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return client, [ORIGIN_HEADER, HOST_HEADER, (b"cookie", cookie.encode())]


class Socket:
    """A connected socket; frames read past while looking for one type are kept."""

    def __init__(self, communicator: WebsocketCommunicator):
        self.communicator = communicator
        self.kept: list[dict[str, Any]] = []

    async def send(self, **content: Any) -> None:
        await self.communicator.send_json_to(content)

    async def send_raw(self, text: str) -> None:
        await self.communicator.send_to(text_data=text)

    async def receive(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        if self.kept:
            return self.kept.pop(0)
        return await self.communicator.receive_json_from(timeout=timeout)

    async def receive_type(self, kind: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        for i, frame in enumerate(self.kept):
            if frame["type"] == kind:
                return self.kept.pop(i)
        while True:
            frame = await self.communicator.receive_json_from(timeout=timeout)
            if frame["type"] == kind:
                return frame
            self.kept.append(frame)

    async def alive(self) -> bool:
        """The socket still answers a heartbeat."""
        await self.send(type="heartbeat")
        return (await self.receive_type("heartbeat.ack"))["type"] == "heartbeat.ack"

    async def closed_with(self) -> tuple[list[dict[str, Any]], int | None]:
        """The frames sent before the close, and the close code."""
        frames, self.kept = self.kept, []
        while True:
            output = await self.communicator.receive_output(timeout=TIMEOUT)
            if output["type"] == "websocket.close":
                return frames, output.get("code")
            frames.append(json.loads(output["text"]))


@asynccontextmanager
async def open_socket(path: str, headers: Headers, *, until: str):
    """Connect, read up to the first frame of type `until` (the opening is then over),
    and always disconnect."""
    communicator = WebsocketCommunicator(application, path, headers=headers)
    try:
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        socket = Socket(communicator)
        await socket.receive_type(until)
        socket.kept.clear()
        yield socket
    finally:
        await communicator.disconnect()


async def logged_in(user: User) -> tuple[Client, Headers]:
    return await sync_to_async(browser_login)(user)
