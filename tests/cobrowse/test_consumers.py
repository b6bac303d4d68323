"""The co-browse sockets through the real ASGI stack and real Redis: who may connect,
consent, the relay of the customer's page to the viewers with a catch-up on reconnect,
the pointer, the limits, and the end."""

import json
from contextlib import asynccontextmanager
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from chat.models import Message, SystemEvent
from cobrowse import stream
from cobrowse.models import CobrowseSession, EndReason, SessionStatus
from config.asgi import application
from config.users import Role
from tests.chat.conftest import make_live_chat
from tests.cobrowse.conftest import requested, running
from tests.factories import user_factory
from tests.routing.conftest import HOST_HEADER, ORIGIN_HEADER, login_headers

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

TIMEOUT = 5
BROWSER = [ORIGIN_HEADER, HOST_HEADER]

META = {
    "type": 4,
    "data": {"href": "http://localhost/demo/", "width": 1280, "height": 800},
    "timestamp": 1,
}
SNAPSHOT = {
    "type": 2,
    "data": {
        "node": {"type": 0, "childNodes": [], "id": 1},
        "initialOffset": {"left": 0, "top": 0},
    },
    "timestamp": 2,
}


def incremental(n: int) -> dict[str, Any]:
    return {
        "type": 3,
        "data": {"source": 1, "positions": [{"x": n, "y": n, "id": 1, "timeOffset": 0}]},
        "timestamp": 10 + n,
    }


class Socket:
    def __init__(self, communicator: WebsocketCommunicator):
        self.communicator = communicator

    async def send(self, **content: Any) -> None:
        await self.communicator.send_json_to(content)

    async def receive(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        return await self.communicator.receive_json_from(timeout=timeout)

    async def receive_type(self, kind: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        while True:
            frame = await self.receive(timeout)
            if frame["type"] == kind:
                return frame

    async def nothing(self, timeout: float = 0.5) -> bool:
        return await self.communicator.receive_nothing(timeout=timeout)

    async def closed_with(self) -> tuple[list[dict[str, Any]], int | None]:
        frames = []
        while True:
            output = await self.communicator.receive_output(timeout=TIMEOUT)
            if output["type"] == "websocket.close":
                return frames, output.get("code")
            frames.append(json.loads(output["text"]))


@asynccontextmanager
async def socket(path: str, headers):
    communicator = WebsocketCommunicator(application, path, headers=headers)
    try:
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        yield Socket(communicator)
    finally:
        await communicator.disconnect()


def customer_path(session: CobrowseSession, token: str) -> str:
    return f"/ws/cobrowse/{session.pk}/customer/?token={token}"


def viewer_path(session: CobrowseSession) -> str:
    return f"/ws/cobrowse/{session.pk}/viewer/"


db = sync_to_async


async def test_allow_then_the_page_reaches_the_viewer_and_a_reconnecting_viewer_catches_up():
    chat = await db(make_live_chat)()
    session = await db(requested)(chat)
    headers = await db(login_headers)(chat.csr)
    async with socket(customer_path(session, chat.token), BROWSER) as customer:
        hello = await customer.receive_type("hello")
        assert hello["status"] == "requested"
        assert hello["limits"]["max_snapshot_bytes"] > 0
        # Nothing may be shared before Allow.
        await customer.send(type="events", events=[META, SNAPSHOT])
        assert (await customer.receive_type("error"))["code"] == "not_active"
        await customer.send(type="consent", allow=True)
        await customer.receive_type("started")
        async with socket(viewer_path(session), headers) as viewer:
            hello = await viewer.receive_type("hello")
            assert (hello["role"], hello["status"]) == ("csr", "active")
            assert (await viewer.receive_type("catchup"))["frames"] == []
            await customer.send(type="events", events=[META, SNAPSHOT])
            first = await viewer.receive_type("frame")
            assert (first["n"], first["frame"]["events"]) == (1, [META, SNAPSHOT])
            await customer.send(type="events", events=[incremental(1)])
            second = await viewer.receive_type("frame")
            assert (second["epoch"], second["n"]) == (first["epoch"], 2)
        # A viewer that comes back (a reload) gets the page at once.
        async with socket(viewer_path(session), headers) as viewer:
            catchup = await viewer.receive_type("catchup")
            assert catchup["epoch"] == first["epoch"]
            assert [frame["events"] for frame in catchup["frames"]] == [
                [META, SNAPSHOT],
                [incremental(1)],
            ]
            # A new full snapshot (another page) starts the backlog afresh.
            await customer.send(type="events", events=[META, SNAPSHOT])
            third = await viewer.receive_type("frame")
            assert (third["epoch"], third["n"]) == (first["epoch"] + 1, 1)
    epoch, frames = await stream.frames_read(session.pk)
    assert (epoch, len(frames)) == (first["epoch"] + 1, 1)
    texts = await db(
        lambda: list(Message.objects.filter(interaction_id=chat.id).values_list("text", flat=True))
    )()
    assert "Co-browse started" in texts


async def test_the_pointer_reaches_the_customer_and_a_manager_only_watches():
    chat = await db(make_live_chat)()
    session = await db(running)(chat)
    manager = await db(user_factory)(role=Role.CSR_MANAGER)
    csr_headers = await db(login_headers)(chat.csr)
    manager_headers = await db(login_headers)(manager)
    async with socket(customer_path(session, chat.token), BROWSER) as customer:
        await customer.receive_type("hello")
        async with socket(viewer_path(session), csr_headers) as viewer:
            await viewer.receive_type("catchup")
            await viewer.send(type="pointer", x=120.5, y=340, highlight=True)
            pointer = await customer.receive_type("pointer")
            assert pointer == {
                "type": "pointer",
                "x": 120.5,
                "y": 340.0,
                "highlight": True,
                "visible": True,
            }
            await viewer.send(type="pointer", x="left", y=1)
            assert (await viewer.receive_type("error"))["code"] == "bad_json"
        async with socket(viewer_path(session), manager_headers) as watcher:
            assert (await watcher.receive_type("hello"))["role"] == "observer"
            await watcher.send(type="pointer", x=1, y=1)
            assert (await watcher.receive_type("error"))["code"] == "read_only"
            await watcher.send(type="end")
            assert (await watcher.receive_type("error"))["code"] == "read_only"
            assert await customer.nothing()


@pytest.mark.parametrize("who", ["anonymous", "other_csr", "other_token", "no_token"])
async def test_strangers_are_refused(who):
    chat = await db(make_live_chat)()
    other = await db(make_live_chat)()
    session = await db(running)(chat)
    if who == "anonymous":
        path, headers, code = viewer_path(session), BROWSER, 4401
    elif who == "other_csr":
        stranger = await db(user_factory)(role=Role.CSR)
        path, headers, code = viewer_path(session), await db(login_headers)(stranger), 4403
    elif who == "other_token":
        path, headers, code = customer_path(session, other.token), BROWSER, 4403
    else:
        path, headers, code = f"/ws/cobrowse/{session.pk}/customer/", BROWSER, 4403
    async with socket(path, headers) as refused:
        frames, closed = await refused.closed_with()
    assert closed == code
    assert all(frame["type"] == "error" for frame in frames)


async def test_a_socket_without_origin_is_refused_at_the_handshake():
    chat = await db(make_live_chat)()
    session = await db(running)(chat)
    communicator = WebsocketCommunicator(application, customer_path(session, chat.token))
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert not connected
    await communicator.disconnect()


async def test_either_side_ends_it_and_both_are_told():
    chat = await db(make_live_chat)()
    session = await db(running)(chat)
    headers = await db(login_headers)(chat.csr)
    async with socket(customer_path(session, chat.token), BROWSER) as customer:
        await customer.receive_type("hello")
        async with socket(viewer_path(session), headers) as viewer:
            await viewer.receive_type("catchup")
            await customer.send(type="end")
            frames, code = await viewer.closed_with()
            assert code == 4410
            assert frames[-1]["status"] == SessionStatus.ENDED
            assert frames[-1]["message"] == "Co-browse ended by the customer"
        _, code = await customer.closed_with()
        assert code == 4410
    # The CSR's End, on a new session.
    session = await db(running)(chat)
    async with socket(customer_path(session, chat.token), BROWSER) as customer:
        await customer.receive_type("hello")
        async with socket(viewer_path(session), headers) as viewer:
            await viewer.receive_type("catchup")
            await viewer.send(type="end")
            frames, code = await customer.closed_with()
    assert code == 4410
    assert frames[-1]["ended_by"] == "csr"
    # An ended session's sockets are refused with 4410.
    async with socket(customer_path(session, chat.token), BROWSER) as late:
        _, code = await late.closed_with()
    assert code == 4410


async def test_an_over_large_page_ends_the_session_with_a_clear_message(cobrowse_settings):
    cobrowse_settings["MAX_SNAPSHOT_BYTES"] = 2000
    chat = await db(make_live_chat)()
    session = await db(running)(chat)
    headers = await db(login_headers)(chat.csr)
    big = {**SNAPSHOT, "data": {**SNAPSHOT["data"], "text": "x" * 3000}}
    async with socket(customer_path(session, chat.token), BROWSER) as customer:
        await customer.receive_type("hello")
        async with socket(viewer_path(session), headers) as viewer:
            await viewer.receive_type("catchup")
            await customer.send(type="events", events=[META, big])
            frames, code = await viewer.closed_with()
    assert code == 4410
    assert "too large to share" in frames[-1]["message"]
    assert "the limit is 2 KB" in frames[-1]["message"]
    ended = await db(CobrowseSession.objects.get)(pk=session.pk)
    assert ended.end_reason == EndReason.TOO_LARGE
    said = await db(
        lambda: (
            Message.objects.filter(interaction_id=chat.id, event=SystemEvent.COBROWSE_ENDED)
            .values_list("text", flat=True)
            .get()
        )
    )()
    assert said.startswith("Co-browse ended: the customer's page is too large to share")


async def test_too_many_frames_are_refused_and_a_full_snapshot_is_asked_for(cobrowse_settings):
    cobrowse_settings["FRAMES_PER_10_SECONDS"] = 3
    chat = await db(make_live_chat)()
    session = await db(running)(chat)
    async with socket(customer_path(session, chat.token), BROWSER) as customer:
        await customer.receive_type("hello")
        await customer.send(type="events", events=[META, SNAPSHOT])
        for n in range(2):
            await customer.send(type="events", events=[incremental(n)])
        await customer.send(type="events", events=[incremental(3)])
        error = await customer.receive_type("error")
        assert error["code"] == "rate_limited"
        assert (await customer.receive_type("snapshot.request"))["type"] == "snapshot.request"
    _, frames = await stream.frames_read(session.pk)
    assert len(frames) == 3  # the fourth was not kept


async def test_a_bad_events_frame_is_refused():
    chat = await db(make_live_chat)()
    session = await db(running)(chat)
    async with socket(customer_path(session, chat.token), BROWSER) as customer:
        await customer.receive_type("hello")
        await customer.send(type="events", events="everything")
        assert (await customer.receive_type("error"))["code"] == "bad_json"
        await customer.send(type="consent", allow="yes")
        assert (await customer.receive_type("error"))["code"] == "bad_json"


async def test_a_widget_that_reconnects_learns_the_session_that_stands():
    """The customer moves to another page of the site: their chat socket, after its
    replay, says which session stands, so the new page carries on sharing."""
    chat = await db(make_live_chat)()
    session = await db(running)(chat)
    path = f"/ws/customer/{chat.id}/?token={chat.token}"
    async with socket(path, BROWSER) as customer_chat:
        await customer_chat.receive_type("replay.done")
        state = await customer_chat.receive_type("cobrowse.state")
    assert (state["session_id"], state["status"]) == (session.pk, "active")
    assert state["csr_name"]
