"""Sentiment benchmark: customer message → `sentiment` frame at the CSR's socket, with
--conversations live chats (default 200) at once, on the real stack (daphne, Celery
worker, Redis, PostgreSQL; tests/bench/stack.py).

Run: python tests/bench/bench_sentiment.py [--conversations 200] [--messages 5]
         [--interval-ms 5000] [--workers 2] [--code DIR]

Per conversation a customer socket and the CSR's panel socket (/ws/chat/<id>/). Each
customer sends --messages chat lines (angry, neutral, happy… in turn), one every
--interval-ms (default 5 s, a brisk customer: 40 scorings/s over 200 chats), the
conversations staggered over the interval; the first message leaves once all the
sockets are open (their opening, a reconnect storm, is timed and printed on its own).
A message's latency is from
just before the customer's `send` to the CSR's first `sentiment` frame whose `seq`
covers it (its ack tells its seq). Target: p95 ≤ 250 ms. Uses its own database
(portal_bench_sentiment) and a private redis-server. Print the load average with the
figure: on a shared machine it moves the tail. --code DIR measures another checkout
(default: this repository).
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import stack as bench_stack
from tests.bench.chat_clients import ORIGIN, connect
from tests.bench.stack import ROOT, RedisServer, Stack, add_code_argument, code_label, percentile

SENTIMENT_DATABASE_URL = os.environ.get(
    "SENTIMENT_BENCH_DATABASE_URL",
    urlunsplit((*urlsplit(bench_stack.BENCH_DATABASE_URL)[:2], "/portal_bench_sentiment", "", "")),
)
PRODUCTION_LIKE = {"DEBUG": "false", "SECRET_KEY": "bench-only-" + "s" * 50}
LOGS = ROOT / "var" / "bench-sentiment-logs"
TARGET_P95_SECONDS = 0.250
LINES = [
    "This is ridiculous, I've been charged twice 😡",
    "My order number is A-1009",
    "ok thanks, that helps :)",
    "still not working, this app is useless!!",
    "Perfect, all fixed. Thank you so much! 👍",
]


async def conversation(
    index: int,
    chat: dict,
    base: str,
    *,
    messages: int,
    interval: float,
    stagger: float,
    latencies: list[float],
    errors: dict[str, int],
    connected: "Barrier",
) -> None:
    ws_base = base.replace("http://", "ws://")
    iid = chat["interaction_id"]
    customer = await connect(
        f"{ws_base}/ws/customer/{iid}/?token={chat['customer_token']}&last_seq={chat['last_seq']}",
        [("Origin", ORIGIN)],
    )
    csr = await connect(
        f"{ws_base}/ws/chat/{iid}/?last_seq={chat['last_seq']}",
        [("Origin", ORIGIN), ("Cookie", chat["csr_cookie"])],
    )
    # Timing starts once every socket is open: 400 sockets connecting (session lookup,
    # replay) are a reconnect storm, measured on its own, not the steady state.
    await connected.wait()
    sent_at: dict[str, float] = {}  # client_msg_id → send time
    seq_sent_at: dict[int, float] = {}  # seq → send time, once acked
    done = asyncio.Event()
    timed = 0
    covered = 0  # the highest seq a `sentiment` frame at the CSR covered

    def settle(now: float) -> None:
        nonlocal timed
        for seq in [s for s in seq_sent_at if s <= covered]:
            latencies.append(now - seq_sent_at.pop(seq))
            timed += 1
        if timed >= messages:
            done.set()

    async def read_customer() -> None:
        async for raw in customer:
            frame = json.loads(raw)
            if frame["type"] == "ack" and frame["client_msg_id"] in sent_at:
                seq_sent_at[frame["seq"]] = sent_at.pop(frame["client_msg_id"])
                # Under load the sentiment can beat the ack: settle here too.
                settle(time.perf_counter())
            elif frame["type"] == "sentiment":
                errors["sentiment reached the customer"] += 1
            elif frame["type"] == "error":
                errors[f"customer error {frame.get('code')}"] += 1

    async def read_csr() -> None:
        nonlocal covered
        async for raw in csr:
            frame = json.loads(raw)
            if frame["type"] == "sentiment":
                covered = max(covered, frame["seq"])
                settle(time.perf_counter())

    readers = [asyncio.create_task(read_customer()), asyncio.create_task(read_csr())]
    try:
        await asyncio.sleep(stagger)
        for n in range(messages):
            client_msg_id = f"bench-{iid}-{n}"
            sent_at[client_msg_id] = time.perf_counter()
            text = LINES[(index + n) % len(LINES)]
            await customer.send(
                json.dumps({"type": "send", "client_msg_id": client_msg_id, "text": text})
            )
            await asyncio.sleep(interval)
        try:
            await asyncio.wait_for(done.wait(), timeout=30)
        except TimeoutError:
            errors["no sentiment within 30 s"] += messages - timed
    finally:
        for task in readers:
            task.cancel()
        await customer.close()
        await csr.close()


class Barrier:
    """Every conversation's sockets open: then the timed traffic starts."""

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.opened = asyncio.Event()
        self.started = time.monotonic()
        self.seconds = 0.0

    async def wait(self) -> None:
        self.parties -= 1
        if self.parties == 0:
            self.seconds = time.monotonic() - self.started
            self.opened.set()
        await self.opened.wait()


async def run(chats: list[dict], base: str, args) -> tuple[list[float], dict[str, int], float]:
    """Returns the latencies, the errors, and how long all the sockets took to open."""
    from collections import Counter

    latencies: list[float] = []
    errors: Counter = Counter()
    interval = args.interval_ms / 1000
    connected = Barrier(len(chats))
    await asyncio.gather(
        *(
            conversation(
                index,
                chat,
                base,
                messages=args.messages,
                interval=interval,
                stagger=interval * index / len(chats),
                latencies=latencies,
                errors=errors,
                connected=connected,
            )
            for index, chat in enumerate(chats)
        )
    )
    return latencies, dict(errors), connected.seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--messages", type=int, default=5, help="per conversation")
    parser.add_argument("--interval-ms", type=float, default=5000.0, help="per customer")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker concurrency")
    add_code_argument(parser)
    args = parser.parse_args()

    with RedisServer(logs=LOGS) as redis:
        bench_stack.configure(
            database_url=SENTIMENT_DATABASE_URL, redis_url=redis.url, code=args.code
        )
        bench_stack.prepare_database()
        bench_stack.setup_django(**PRODUCTION_LIKE)
        started = time.monotonic()
        warm_up_count = 2 * args.workers
        chats = bench_stack.live_chats_create(args.conversations + warm_up_count)
        chats, warm_up_chats = chats[: args.conversations], chats[args.conversations :]
        print(f"created {len(chats)} live chats in {time.monotonic() - started:.1f} s")
        from django.db import connections

        connections.close_all()
        with Stack(workers=args.workers, beat=False, env=PRODUCTION_LIKE, logs=LOGS) as portal:
            # Untimed: until the worker processes answer (they boot slowly on a busy box).
            warm = argparse.Namespace(messages=2, interval_ms=200.0)
            _, warm_errors, _ = asyncio.run(run(warm_up_chats, portal.base_url, warm))
            if warm_errors:
                print(f"warm-up errors: {warm_errors}")
            load_before = os.getloadavg()
            started = time.monotonic()
            latencies, errors, connect_seconds = asyncio.run(run(chats, portal.base_url, args))
            elapsed = time.monotonic() - started
            load_after = os.getloadavg()

    expected = args.conversations * args.messages
    print(f"code: {code_label()}")
    p50, p95, p99 = (percentile(latencies, f) * 1000 for f in (0.50, 0.95, 0.99))
    print(
        f"{args.conversations} conversations, {args.messages} customer messages each, one "
        f"every {args.interval_ms:.0f} ms; Celery concurrency {args.workers}; "
        f"{os.cpu_count()} CPUs; {elapsed:.0f} s"
    )
    print(f"{2 * args.conversations} sockets opened in {connect_seconds:.1f} s (untimed)")
    print(
        f"message → sentiment at the CSR: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
        f"p99 {p99:.1f} ms, max {max(latencies, default=0) * 1000:.1f} ms, "
        f"mean {statistics.fmean(latencies or [0]) * 1000:.1f} ms "
        f"({len(latencies)} of {expected} timed)"
    )
    print(
        "load average (1, 5, 15 min): before "
        + ", ".join(f"{v:.2f}" for v in load_before)
        + "; after "
        + ", ".join(f"{v:.2f}" for v in load_after)
    )
    if errors:
        print(f"errors: {errors}")
    ok = len(latencies) == expected and not errors and p95 <= TARGET_P95_SECONDS * 1000
    print(f"target p95 ≤ {TARGET_P95_SECONDS * 1000:.0f} ms: {'MET' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
