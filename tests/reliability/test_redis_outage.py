"""A Redis outage takes nothing down: the portal's real processes (runportal: daphne, a
Celery worker, Celery beat) on a private Redis that is killed (SIGKILL) twice under a
live chat and restarted on the same port.

Checked: every process is still running afterwards; sockets opened while Redis is down
(customer, CSR chat, CSR agent) open with their hello/state and replay from the
database, then say `live.delayed`, never an HTTP 500; once Redis is back they say
`live.restored` and live messages flow again; every message sent across the outages
arrives exactly once on every socket of the other side; an escalation made while Redis
was down is answered and later offered (the worker and beat work again); the CSR is
never set Offline. CHANNEL_LAYER_BACKEND from the environment picks the layer (default:
the pub/sub one, as in production).
"""

import asyncio
import os
import time
import uuid
from collections import Counter
from typing import Any

import pytest

from tests.reliability.portal_process import Portal, Socket, own_database
from tests.reliability.redis_server import RedisProcess

pytestmark = pytest.mark.slow

OUTAGES = 2
DOWN_SECONDS = 2.5  # from the kill to the restart
RESTORE_TIMEOUT_SECONDS = 15.0  # subscriptions retried up to every 5 s
LIVE_SECONDS = 5.0  # a message "arrives live" within this (heartbeats come every 10 s)
ROUTED_TIMEOUT_SECONDS = 40.0  # the sweep (3 s) once the worker has reconnected

SETUP = """
import json
from django.contrib.auth.models import Group, User
from django.test import Client
from chat.models import Channel, ChannelKind
from chat.services.bot_clients import bot_client_create
from config.users import Role
from routing.models import Queue, QueueMembership
from routing.services.presence import csr_status_set

queue = Queue.objects.create(name="Outage", slug="outage")
channel = Channel.objects.create(
    name="Outage web", slug="outage-web", kind=ChannelKind.WEB_MESSAGING, default_queue=queue
)
csr = User.objects.create(username="olive", first_name="Olive", last_name="Outage")
csr.groups.add(Group.objects.get_or_create(name=Role.CSR.value)[0])
QueueMembership.objects.create(user=csr, queue=queue, joined=True)
csr_status_set(user=csr, status="available")
_, token = bot_client_create(name="Outage bot", channels=[channel])
browser = Client()
browser.force_login(csr)
cookie = browser.cookies["sessionid"].value
print(json.dumps({"bot_token": token, "cookie": f"sessionid={cookie}"}))
"""

STORED = """
import json, os
from chat.models import Message
from routing.models import CSRProfile
ids = json.loads(os.environ["OUTAGE_INTERACTIONS"])
rows = Message.objects.filter(interaction_id__in=ids).order_by("interaction_id", "seq")
print(json.dumps({
    "messages": [[m.interaction_id, m.seq, m.text, m.client_msg_id] for m in rows],
    "statuses": list(CSRProfile.objects.values_list("status", flat=True)),
}))
"""


def escalation(name: str) -> dict[str, Any]:
    return {
        "channel": "outage-web",
        "intent": "billing.refund",
        "customer": {"external_id": f"outage-{uuid.uuid4().hex[:8]}", "name": name},
        "transcript": [{"from": "customer", "text": "My card was charged twice."}],
    }


class Scenario:
    """The clients of one live chat (customer, CSR chat panel, CSR agent tab) and what
    they sent, against one running portal."""

    def __init__(self, portal: Portal, redis: RedisProcess, setup: dict[str, str]) -> None:
        self.portal = portal
        self.redis = redis
        self.bot = {"Authorization": f"Bearer {setup['bot_token']}"}
        self.origin = ("Origin", portal.url)
        self.cookie = ("Cookie", setup["cookie"])
        self.customers: list[Socket] = []
        self.panels: list[Socket] = []
        self.agents: list[Socket] = []
        self.sent: dict[str, str] = {}  # client_msg_id → side
        self.timings: list[str] = []
        self.t0 = time.monotonic()

    def note(self, text: str) -> None:
        self.timings.append(f"{time.monotonic() - self.t0:6.1f} s  {text}")

    def check_alive(self) -> None:
        """runportal stops everything when one of its servers dies: say which died."""
        dead = self.portal.dead()
        assert not dead, f"{dead} exited:\n{self.portal.deaths()}"

    async def escalate(self, name: str) -> tuple[dict[str, Any], float]:
        started = time.monotonic()
        status, reply = await asyncio.to_thread(
            self.portal.http, "POST", "/api/v1/escalations/", escalation(name), self.bot
        )
        assert status == 201, (status, reply)
        return reply, time.monotonic() - started

    async def agent(self) -> Socket:
        socket = Socket(f"agent{len(self.agents)}", f"{self.portal.ws_url}/ws/agent/", [])
        socket.headers = [self.origin, self.cookie]
        await socket.open()
        _, state = await socket.wait_type("state")
        assert state["status"] == "available", state
        self.agents.append(socket)
        return socket

    async def chat_sockets(self, last_seq: int) -> tuple[Socket, Socket]:
        """A customer socket and a CSR chat socket, through `replay.done`."""
        query = f"?token={self.token}&last_seq={last_seq}"
        customer = Socket(
            f"customer{len(self.customers)}",
            f"{self.portal.ws_url}/ws/customer/{self.chat_id}/{query}",
            [self.origin],
        )
        panel = Socket(
            f"panel{len(self.panels)}",
            f"{self.portal.ws_url}/ws/chat/{self.chat_id}/?last_seq={last_seq}",
            [self.origin, self.cookie],
        )
        for socket, role in ((customer, "customer"), (panel, "csr")):
            await socket.open()
            _, hello = await socket.wait_type("hello")
            assert hello["role"] == role, hello
            await socket.wait_type("replay.done")
        self.customers.append(customer)
        self.panels.append(panel)
        return customer, panel

    async def say(self, socket: Socket, side: str, label: str) -> str:
        """Send one message; wait for its ack (it is stored, Redis or not)."""
        client_msg_id = f"{side}-{label}"
        self.sent[client_msg_id] = side
        await socket.send(type="send", client_msg_id=client_msg_id, text=f"{side} says {label}")
        await socket.wait_for(
            lambda f: f["type"] == "ack" and f["client_msg_id"] == client_msg_id,
            f"ack of {client_msg_id}",
        )
        return client_msg_id

    async def arrives(self, client_msg_id: str, sockets: list[Socket], timeout: float) -> None:
        for socket in sockets:
            await socket.wait_for(
                lambda f: f["type"] == "message" and f["client_msg_id"] == client_msg_id,
                f"message {client_msg_id}",
                timeout=timeout,
            )

    async def start(self) -> None:
        agent = await self.agent()
        reply, _ = await self.escalate("Casey Live")
        self.chat_id, self.token = reply["id"], reply["customer_token"]
        _, offer = await agent.wait_for(
            lambda f: f["type"] == "offer" and f["interaction_id"] == self.chat_id, "offer"
        )
        await agent.send(type="accept", offer_id=offer["offer_id"])
        await agent.wait_type("accepted")
        customer, panel = await self.chat_sockets(last_seq=0)
        await self.arrives(await self.say(customer, "customer", "hello"), [panel], LIVE_SECONDS)
        await self.arrives(await self.say(panel, "csr", "hi"), [customer], LIVE_SECONDS)
        self.note(f"chat {self.chat_id} live; Redis on :{self.redis.port}")

    async def outage(self, number: int) -> None:
        customer, panel = self.customers[0], self.panels[0]
        await asyncio.to_thread(self.redis.kill)
        killed = time.monotonic()
        self.note(f"outage {number}: Redis killed (SIGKILL)")
        await asyncio.sleep(0.5)  # what a lost connection does to a process, it has done
        self.check_alive()
        # Open sockets still send: stored and acknowledged.
        down = [
            await self.say(customer, "customer", f"down{number}"),
            await self.say(panel, "csr", f"down{number}"),
        ]
        # New sockets open all the same: hello/state, replay, then live.delayed.
        last_seq = max(f["seq"] for f in customer.messages())
        new_customer, new_panel = await self.chat_sockets(last_seq=last_seq)
        new_agent = await self.agent()
        for socket in (new_customer, new_panel, new_agent):
            await socket.wait_type("live.delayed")
        self.note(f"outage {number}: 3 sockets opened while down, each live.delayed")
        if number == 1:
            reply, took = await self.escalate("Dana Down")
            self.waiting_id = reply["id"]
            self.note(f"outage {number}: escalation answered 201 in {took:.2f} s")
        await asyncio.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - killed)))
        await asyncio.to_thread(self.redis.start)
        self.note(f"outage {number}: Redis started again on the same port")
        self.check_alive()
        for socket in (new_customer, new_panel, new_agent):
            await socket.wait_type("live.restored", timeout=RESTORE_TIMEOUT_SECONDS)
        await new_agent.wait_type("state", after=new_agent.types().index("live.restored"))
        self.note(f"outage {number}: live.restored on each")
        # What was sent while down reached the other side (live, by the catch-up after
        # live.restored, or before a heartbeat's ack) …
        await self.arrives(down[0], self.panels, RESTORE_TIMEOUT_SECONDS)
        await self.arrives(down[1], self.customers, RESTORE_TIMEOUT_SECONDS)
        # … and live messages flow again, to every socket.
        after = [
            await self.say(customer, "customer", f"back{number}"),
            await self.say(new_panel, "csr", f"back{number}"),
        ]
        await self.arrives(after[0], self.panels, LIVE_SECONDS)
        await self.arrives(after[1], self.customers, LIVE_SECONDS)
        self.note(f"outage {number}: messages after it arrived live on all sockets")
        self.check_alive()

    async def close(self) -> None:
        for socket in (*self.customers, *self.panels, *self.agents):
            await socket.close()


async def run(portal: Portal, redis: RedisProcess, setup: dict[str, str]) -> Scenario:
    scenario = Scenario(portal, redis, setup)
    try:
        await scenario.start()
        for number in range(1, OUTAGES + 1):
            await scenario.outage(number)
        # The escalation made while Redis was down lost its routing request: the sweep
        # (beat + worker, both back) routes it.
        await scenario.agents[0].wait_for(
            lambda f: f["type"] == "offer" and f["interaction_id"] == scenario.waiting_id,
            "offer of the escalation made while Redis was down",
            timeout=ROUTED_TIMEOUT_SECONDS,
        )
        scenario.note("escalation made while down offered to the CSR")
        # Nobody was set Offline, on any tab.
        for socket in scenario.agents:
            offline = [f for f in socket.frames if f.get("status") == "offline"]
            assert not offline, (socket.name, offline)
        await asyncio.sleep(1)  # let the last frames arrive before comparing
    finally:
        await scenario.close()
    return scenario


def test_a_redis_outage_takes_nothing_down(tmp_path):
    started = time.monotonic()
    layer = os.environ.get("CHANNEL_LAYER_BACKEND", "pubsub")
    with (
        RedisProcess(log=tmp_path / "redis.log") as redis,
        own_database(tmp_path) as database_url,
    ):
        redis.start()
        env = {"DATABASE_URL": database_url, "REDIS_URL": redis.url, "CACHE_URL": redis.url}
        env["CHANNEL_LAYER_BACKEND"] = layer
        with Portal(tmp_path=tmp_path, env=env) as portal:
            up = time.monotonic() - started
            setup = portal.shell_json(SETUP)
            try:
                scenario = asyncio.run(run(portal, redis, setup))
            except BaseException as failure:
                # runportal stops every server when one dies: report the death itself.
                if portal.dead():
                    raise AssertionError(f"a process died:\n{portal.deaths()}") from failure
                print(portal.log_tail())
                raise
            assert portal.dead() == [], portal.deaths()
            cookie = {"Cookie": setup["cookie"]}
            status, state = portal.http("GET", "/api/v1/agent/state/", None, cookie)
            assert (status, state["status"]) == (200, "available"), state
            stored = portal.shell_json(
                STORED, OUTAGE_INTERACTIONS=f"[{scenario.chat_id}, {scenario.waiting_id}]"
            )
    assert stored["statuses"] == ["available"]
    chat = [row for row in stored["messages"] if row[0] == scenario.chat_id]
    assert [row[1] for row in chat] == list(range(1, len(chat) + 1))
    by_seq = {seq: (text, client_msg_id) for _, seq, text, client_msg_id in chat}
    # Every send was stored exactly once …
    ids = Counter(client_msg_id for _, _, _, client_msg_id in chat if client_msg_id)
    assert ids == Counter(scenario.sent.keys()), ids
    # … and every chat socket got each message from its opening on exactly once, in
    # order, as stored.
    for socket in (*scenario.customers, *scenario.panels):
        seqs = [frame["seq"] for frame in socket.messages()]
        first = seqs[0] if seqs else len(chat) + 1
        assert seqs == list(range(first, len(chat) + 1)), (socket.name, seqs, len(chat))
        for frame in socket.messages():
            assert (frame["text"], frame["client_msg_id"]) == by_seq[frame["seq"]]
    took = time.monotonic() - started
    print(f"\nlayer {layer}; portal up after {up:.1f} s; whole test {took:.1f} s")
    print("\n".join(scenario.timings))
