"""Client code shared by the chat benchmark and the chat fault test: a live-chat client
that follows docs/websocket-protocol.md ("Live chat sockets") to the letter — resume by
seq, retried sends with the same client_msg_id, reconnect with backoff — and the load
generator that measures sender → receiver latency the same way for every system.
"""

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import websockets

# An Origin header with this value is sent as the origin of the page the socket's URL
# belongs to (scheme, host and port), as a browser on the portal's pages sends it: the
# portal accepts only its own origin (config/origins.py).
ORIGIN = "http://127.0.0.1"


def page_origin(url: str) -> str:
    """The origin of the portal's pages for a ws:// or wss:// URL."""
    parts = urlsplit(url)
    return f"{'https' if parts.scheme == 'wss' else 'http'}://{parts.netloc}"


def browser_headers(url: str, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """`headers` with an ("Origin", ORIGIN) made the origin of `url`'s pages."""
    return [
        (name, page_origin(url) if (name, value) == ("Origin", ORIGIN) else value)
        for name, value in headers
    ]


# Close codes after which the protocol says: do not retry.
FATAL_CLOSE_CODES = {4401, 4403, 4410}


@dataclass
class ChatStats:
    """Counters shared by every client of a run."""

    connects: int = 0
    reconnects: int = 0
    connect_failures: int = 0
    duplicates_dropped: int = 0  # `message` frames at or below last_seq, ignored
    gaps: int = 0  # a `message` beyond last_seq + 1 arrived: `resume` sent
    resyncs: int = 0  # resync.required received
    retried_sends: int = 0  # sends repeated after a reconnect (same client_msg_id)
    duplicate_acks: int = 0  # acks with duplicate: true (a retry stored once)
    rate_limited: int = 0
    errors: Counter = field(default_factory=Counter)
    fatal: list[str] = field(default_factory=list)


class ChatClient:
    """One side (customer or CSR) of one conversation.

    Holds every message by seq, sends `to_send` (client_msg_id, text) pairs one every
    `interval` seconds, keeps unacknowledged ones and sends them again (same id) after
    a reconnect, and reconnects with backoff on anything but a refusal."""

    def __init__(
        self,
        *,
        url: str,
        headers: list[tuple[str, str]],
        side: str,
        stats: ChatStats,
        to_send: list[tuple[str, str]],
        interval: float,
        backoff: tuple[float, float] = (0.5, 4.0),
    ):
        self.url = url
        self.headers = headers
        self.side = side
        self.stats = stats
        self.queue: list[tuple[str, str]] = list(to_send)  # not sent yet
        self.pending: dict[str, str] = {}  # sent, not acknowledged: id → text
        self.acked: dict[str, int] = {}  # id → seq
        self.messages: dict[int, dict[str, Any]] = {}  # seq → message frame
        self.last_seq = 0
        self.interval = interval
        self.backoff = backoff
        self.ready = asyncio.Event()  # replay.done seen on the current connection
        self.resuming = False
        self.connected_once = False
        self.closed_for_good = False
        self.ws: Any = None
        self.wanted_seq = 0  # run() ends once last_seq reaches this (set by the caller)
        self.finish = asyncio.Event()

    @property
    def sends_done(self) -> bool:
        return not self.queue and not self.pending

    # --- frames -----------------------------------------------------------------------
    async def on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "message":
            seq = frame["seq"]
            if seq <= self.last_seq:
                self.stats.duplicates_dropped += 1
                return
            if seq > self.last_seq + 1:
                self.stats.gaps += 1
                if not self.resuming:
                    self.resuming = True
                    await self.ws.send(json.dumps({"type": "resume", "last_seq": self.last_seq}))
                return  # the replay that follows brings it, in order
            self.messages[seq] = frame
            self.last_seq = seq
        elif kind == "ack":
            client_msg_id = frame["client_msg_id"]
            self.pending.pop(client_msg_id, None)
            self.acked[client_msg_id] = frame["seq"]
            if frame.get("duplicate"):
                self.stats.duplicate_acks += 1
        elif kind == "replay.done":
            self.resuming = False
            self.ready.set()
        elif kind == "resync.required":
            self.stats.resyncs += 1
            self.messages.clear()
            self.last_seq = 0
        elif kind == "error":
            code = frame.get("code")
            self.stats.errors[code] += 1
            client_msg_id = frame.get("client_msg_id")
            if code == "rate_limited" and client_msg_id in self.pending:
                self.stats.rate_limited += 1
                text = self.pending.pop(client_msg_id)
                self.queue.insert(0, (client_msg_id, text))
                await asyncio.sleep(0)  # the sender waits retry_after (see _sender)
                self._retry_after = frame.get("retry_after", 1)

    _retry_after = 0.0

    # --- one connection ---------------------------------------------------------------
    async def _sender(self) -> None:
        await self.ready.wait()
        # Whatever was sent and not acknowledged before the drop: again, same id.
        for client_msg_id, text in list(self.pending.items()):
            self.stats.retried_sends += 1
            await self.ws.send(
                json.dumps({"type": "send", "client_msg_id": client_msg_id, "text": text})
            )
        while True:
            if self._retry_after:
                delay, self._retry_after = self._retry_after, 0.0
                await asyncio.sleep(delay)
            if self.queue:
                client_msg_id, text = self.queue.pop(0)
                self.pending[client_msg_id] = text
                await self.ws.send(
                    json.dumps({"type": "send", "client_msg_id": client_msg_id, "text": text})
                )
            await asyncio.sleep(self.interval)

    async def _session(self) -> int | None:
        """One connection, until it closes or `finish` is set; returns the close code."""
        url = f"{self.url}{'&' if '?' in self.url else '?'}last_seq={self.last_seq}"
        self.ready.clear()
        self.resuming = False
        async with websockets.connect(
            url,
            additional_headers=browser_headers(url, self.headers),
            max_queue=None,
            open_timeout=10,
        ) as ws:
            self.ws = ws
            self.stats.connects += 1
            if self.connected_once:
                self.stats.reconnects += 1
            self.connected_once = True
            sender = asyncio.create_task(self._sender())
            finisher = asyncio.create_task(self.finish.wait())
            try:
                while True:
                    receive = asyncio.ensure_future(ws.recv())
                    done, _ = await asyncio.wait(
                        {receive, finisher}, return_when=asyncio.FIRST_COMPLETED
                    )
                    if receive not in done:
                        receive.cancel()
                        return None
                    try:
                        raw = receive.result()
                    except websockets.ConnectionClosed as closed:
                        return closed.rcvd.code if closed.rcvd else 1006
                    await self.on_frame(json.loads(raw))
            finally:
                sender.cancel()
                finisher.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await sender
                self.ws = None

    async def run(self, deadline: float) -> None:
        """Connect, reconnect with backoff, until `finish` is set or `deadline`."""
        delay = self.backoff[0]
        while not self.finish.is_set() and time.monotonic() < deadline:
            try:
                code = await self._session()
            except (
                OSError,
                websockets.InvalidHandshake,
                websockets.ConnectionClosed,
                TimeoutError,
            ) as error:
                self.stats.connect_failures += 1
                code = getattr(error, "code", None)
            else:
                if code is None:
                    return  # finished
                delay = self.backoff[0]  # it was up: start the backoff again
            if code in FATAL_CLOSE_CODES:
                self.stats.fatal.append(f"{self.url} closed with {code}")
                self.closed_for_good = True
                return
            await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, self.backoff[1])


# --- latency load generator -----------------------------------------------------------


@dataclass
class Endpoints:
    """How to reach one conversation of one system, and its frame format."""

    sender_url: str
    receiver_url: str
    sender_headers: list[tuple[str, str]]
    receiver_headers: list[tuple[str, str]]
    encode: Callable[[int, float], str]  # (n, sent_at) → frame
    decode: Callable[[str], float | None]  # frame → sent_at, None when not a probe
    ready: Callable[[str], bool] | None = None  # the frame that marks "open", if any


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    # (wall-clock send time, latency) of each timed probe, to line them up with events
    # measured elsewhere (stack.CommitProbe).
    timed: list[tuple[float, float]] = field(default_factory=list)
    sent: int = 0
    received: int = 0
    errors: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    # The measured window in wall-clock time (time.time()), to count what a system
    # stored during it by its rows' timestamps.
    window_wall: tuple[float, float] = (0.0, 0.0)


async def _drain_until_ready(ws, ready: Callable[[str], bool] | None, timeout: float) -> None:
    if ready is None:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        raw = await asyncio.wait_for(ws.recv(), timeout=max(0.1, deadline - time.monotonic()))
        if ready(raw):
            return
    raise TimeoutError("the socket did not become ready")


CONNECT_CONCURRENCY = 20  # sockets opening at once (daphne drops handshakes after 5 s)
_connect_gates: dict[int, asyncio.Semaphore] = {}  # id(loop) → gate


async def connect(url: str, headers: list[tuple[str, str]], *, attempts: int = 5):
    """websockets.connect, at most CONNECT_CONCURRENCY handshakes at a time, retried."""
    gate = _connect_gates.setdefault(
        id(asyncio.get_running_loop()), asyncio.Semaphore(CONNECT_CONCURRENCY)
    )
    headers = browser_headers(url, headers)
    for attempt in range(attempts):
        async with gate:
            try:
                return await websockets.connect(
                    url, additional_headers=headers, max_queue=None, open_timeout=30
                )
            except (OSError, websockets.InvalidHandshake, TimeoutError):
                if attempt == attempts - 1:
                    raise
        await asyncio.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


async def latency_run(
    conversations: list[Endpoints],
    *,
    seconds: float,
    interval: float,
    warmup: float = 2.0,
    drain: float = 3.0,
) -> LoadResult:
    """Every conversation: a sender socket that sends a probe every `interval` seconds
    (staggered) and a receiver socket that timestamps its arrival. Latencies of probes
    sent during the `seconds` after `warmup` count."""
    result = LoadResult()
    start_event = asyncio.Event()
    stop_sending = asyncio.Event()
    stop_all = asyncio.Event()
    window: list[float] = [0.0, 0.0]
    opened = 0

    async def receiver(ws, conv: Endpoints) -> None:
        with contextlib.suppress(websockets.ConnectionClosed, asyncio.CancelledError):
            async for raw in ws:
                now = time.perf_counter()
                sent_at = conv.decode(raw)
                if sent_at is None:
                    continue
                result.received += 1
                if window[0] <= sent_at <= window[1]:
                    latency = now - sent_at
                    result.latencies.append(latency)
                    result.timed.append((time.time() - latency, latency))

    async def drain_socket(ws) -> None:
        with contextlib.suppress(websockets.ConnectionClosed, asyncio.CancelledError):
            async for raw in ws:
                if '"error"' in raw:
                    result.errors[json.loads(raw).get("code")] += 1

    async def one(index: int, conv: Endpoints) -> None:
        nonlocal opened
        rx = await connect(conv.receiver_url, conv.receiver_headers)
        tx = await connect(conv.sender_url, conv.sender_headers)
        async with rx, tx:
            await _drain_until_ready(rx, conv.ready, 60)
            await _drain_until_ready(tx, conv.ready, 60)
            opened += 1
            tasks = [asyncio.create_task(receiver(rx, conv)), asyncio.create_task(drain_socket(tx))]
            await start_event.wait()
            # Stagger the senders over one interval so the load is even.
            await asyncio.sleep(interval * index / len(conversations))
            n = 0
            next_at = time.perf_counter()
            while not stop_sending.is_set():
                now = time.perf_counter()
                await tx.send(conv.encode(n, now))
                result.sent += 1
                n += 1
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            await stop_all.wait()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    tasks = [asyncio.create_task(one(i, c)) for i, c in enumerate(conversations)]
    deadline = time.monotonic() + 120
    while opened < len(conversations) and time.monotonic() < deadline:
        failed = [t for t in tasks if t.done() and t.exception()]
        if failed:
            raise failed[0].exception()
        await asyncio.sleep(0.1)
    if opened < len(conversations):
        raise RuntimeError(f"only {opened}/{len(conversations)} conversations opened")
    start_event.set()
    began = time.perf_counter()
    window[0] = began + warmup
    window[1] = window[0] + seconds
    wall_offset = time.time() - time.perf_counter()
    result.window_wall = (window[0] + wall_offset, window[1] + wall_offset)
    await asyncio.sleep(warmup + seconds)
    stop_sending.set()
    await asyncio.sleep(drain)
    stop_all.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    result.seconds = seconds
    # Throughput over the measured window only.
    result.received = len(result.latencies)
    return result
