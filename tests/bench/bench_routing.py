"""Routing benchmark: 1,000 escalations over 100 CSR sockets that accept, decline or
ignore their offers at random, through a real daphne + Celery + PostgreSQL + Redis.

Run: python tests/bench/bench_routing.py [--escalations 1000] [--csrs 100] [--rate 50]
         [--daphne-processes 2] [--workers 2] [--layer core|pubsub] [--asgi-threads N]

With several daphne processes (each on its own port) the CSR sockets and the POSTs are
spread over them round-robin, as a load balancer would. Every process runs with
DEBUG=false.

Checks: zero double assignments, every interaction ends active, and prints the
escalation → offer latency (p50/p99, measured from the moment the POST is sent to the
moment the offer reaches a CSR's socket), offers/s, and how long after the last
escalation the last one was first offered. Targets (2-core machine): p99 ≤ 100 ms at
50 escalations/s, everything offered within 10 s of the last escalation.
"""

import argparse
import asyncio
import concurrent.futures
import json
import random
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.stack import (
    PRODUCTION_LIKE,
    CommitProbe,
    Stack,
    percentile,
    prepare_database,
    session_cookie,
    setup_django,
)

ACTIONS = ("accept", "decline", "ignore")
WEIGHTS = (0.7, 0.15, 0.15)


def seed(csr_count: int) -> tuple[list, str]:
    from django.contrib.auth.models import Group, User

    from chat.models import Channel, ChannelKind
    from chat.services.bot_clients import bot_client_create
    from config.users import Role
    from routing.models import CSRProfile, CSRStatus, Queue, QueueMembership

    queue = Queue.objects.create(name="Bench", slug="bench", offer_timeout_seconds=5)
    channel = Channel.objects.create(
        name="Bench web", slug="bench-web", kind=ChannelKind.WEB_MESSAGING, default_queue=queue
    )
    _, token = bot_client_create(name="Bench bot", channels=[channel])
    group = Group.objects.get(name=Role.CSR.value)
    users = []
    for n in range(csr_count):
        # No password: the sockets log in with a session cookie (and hashing 100 slows
        # the seed by half a minute).
        user = User.objects.create(username=f"bench{n}")
        user.groups.add(group)
        CSRProfile.objects.create(user=user, status=CSRStatus.AVAILABLE, capacity=20)
        QueueMembership.objects.create(user=user, queue=queue, joined=True)
        users.append(user)
    return users, token


class Recorder:
    def __init__(self) -> None:
        self.sent_at: dict[int, float] = {}  # interaction id → POST sent
        self.first_offer_at: dict[int, float] = {}
        self.accepted_by: dict[int, list[str]] = {}
        self.offers = 0
        self.actions: Counter = Counter()
        self.errors: Counter = Counter()
        self.escalation_failures = 0
        self.post_seconds: list[float] = []


async def csr_client(url: str, cookie: str, name: str, rec: Recorder, stop: asyncio.Event):
    import websockets

    headers = [("Origin", "http://127.0.0.1"), ("Cookie", cookie)]
    async with websockets.connect(url, additional_headers=headers, max_queue=None) as ws:
        last_beat = time.monotonic()
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=1)
            except TimeoutError:
                raw = None
            now = time.monotonic()
            if now - last_beat > 10:
                await ws.send(json.dumps({"type": "heartbeat"}))
                last_beat = now
            if raw is None:
                continue
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "offer":
                rec.offers += 1
                rec.first_offer_at.setdefault(message["interaction_id"], now)
                action = random.choices(ACTIONS, WEIGHTS)[0]
                rec.actions[action] += 1
                if action != "ignore":
                    await ws.send(json.dumps({"type": action, "offer_id": message["offer_id"]}))
            elif kind == "accepted":
                rec.accepted_by.setdefault(message["interaction_id"], []).append(name)
            elif kind == "error":
                rec.errors[message.get("code")] += 1


def escalation_body(n: int) -> bytes:
    """The benchmark's n-th escalation: a new customer, an intent, two transcript lines."""
    return json.dumps(
        {
            "channel": "bench-web",
            "customer": {"external_id": f"bench-customer-{n}", "name": f"Customer {n}"},
            "intent": "general",
            "transcript": [{"from": "customer", "text": "Hello"}, {"from": "bot", "text": "Hi"}],
        }
    ).encode()


def escalate(base_url: str, token: str, n: int) -> int:
    body = escalation_body(n)
    request = urllib.request.Request(
        f"{base_url}/api/v1/escalations/",
        data=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": f"bench-{n}",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())["id"]


async def traffic(args, stack: Stack, users, cookies, token: str, rec: Recorder) -> tuple:
    """Drive the sockets and the escalations; returns (started, last escalation, settled)."""
    # The default executor (6 threads here) would queue the POSTs on the client side.
    asyncio.get_running_loop().set_default_executor(
        concurrent.futures.ThreadPoolExecutor(max_workers=128)
    )
    ports = stack.ports
    stop = asyncio.Event()
    clients = [
        asyncio.create_task(
            csr_client(
                f"ws://127.0.0.1:{ports[n % len(ports)]}/ws/agent/",
                cookie,
                user.username,
                rec,
                stop,
            )
        )
        for n, (user, cookie) in enumerate(zip(users, cookies, strict=True))
    ]
    await asyncio.sleep(3)  # every socket connected and heartbeating

    started = time.monotonic()
    interval = 1 / args.rate

    async def one(n: int) -> None:
        await asyncio.sleep(max(0, started + n * interval - time.monotonic()))
        sent = time.monotonic()
        try:
            base_url = f"http://127.0.0.1:{ports[n % len(ports)]}"
            interaction_id = await asyncio.to_thread(escalate, base_url, token, n)
        except Exception as error:
            rec.escalation_failures += 1
            print("escalation failed:", error, file=sys.stderr)
            return
        rec.sent_at[interaction_id] = sent
        rec.post_seconds.append(time.monotonic() - sent)

    await asyncio.gather(*(one(n) for n in range(args.escalations)))
    last_escalation = time.monotonic()
    deadline = last_escalation + args.settle
    while time.monotonic() < deadline and len(rec.accepted_by) < len(rec.sent_at):
        await asyncio.sleep(0.2)
    settled = time.monotonic()
    stop.set()
    await asyncio.gather(*clients, return_exceptions=True)
    return started, last_escalation, settled


def run(args) -> int:
    env = {**PRODUCTION_LIKE, "CHANNEL_LAYER_BACKEND": args.layer}
    if args.asgi_threads:
        env["ASGI_THREADS"] = str(args.asgi_threads)
    prepare_database()
    setup_django(**env)  # the same SECRET_KEY as the stack, or the cookies will not match
    users, token = seed(args.csrs)
    cookies = [session_cookie(user) for user in users]
    rec = Recorder()
    with (
        Stack(workers=args.workers, daphne_processes=args.daphne_processes, env=env) as stack,
        CommitProbe() as probe,
    ):
        started, last_escalation, settled = asyncio.run(
            traffic(args, stack, users, cookies, token, rec)
        )

    from django.db.models import Count

    from chat.models import Interaction, InteractionStatus
    from routing.models import Offer, OfferStatus

    statuses = Counter(Interaction.objects.values_list("status", flat=True))
    doubles = (
        Offer.objects.filter(status=OfferStatus.ACCEPTED)
        .values("interaction")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    socket_doubles = sum(1 for names in rec.accepted_by.values() if len(names) > 1)
    latencies = [
        rec.first_offer_at[i] - rec.sent_at[i] for i in rec.sent_at if i in rec.first_offer_at
    ]
    last_first_offer = max(rec.first_offer_at.values(), default=started)
    duration = settled - started
    print()
    print(
        f"stack                   {args.daphne_processes} daphne(s), {args.workers} Celery "
        f"worker process(es), layer {args.layer}, ASGI_THREADS {args.asgi_threads or 'default'}"
    )
    print(f"escalations sent        {len(rec.sent_at)} (failed: {rec.escalation_failures})")
    print(f"CSR sockets             {args.csrs}, actions {dict(rec.actions)}")
    print(f"offers delivered        {rec.offers} ({rec.offers / duration:.1f} offers/s)")
    print(
        f"escalation → offer      p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms "
        f"(n={len(latencies)})"
    )
    print(
        f"escalation POST         p50 {percentile(rec.post_seconds, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(rec.post_seconds, 0.99) * 1000:.1f} ms"
    )
    print(
        f"last first offer        {last_first_offer - last_escalation:+.2f} s after the last "
        "escalation"
    )
    print(f"final statuses          {dict(statuses)}")
    print(f"double assignments      {doubles} in the database, {socket_doubles} on the sockets")
    print(f"socket errors           {dict(rec.errors)}")
    print(f"{probe.report()} (every 20 ms during the run)")
    ok = (
        doubles == 0
        and socket_doubles == 0
        and rec.escalation_failures == 0
        and len(latencies) == args.escalations
        and statuses.get(InteractionStatus.ACTIVE, 0) == args.escalations
    )
    print("RESULT", "PASS" if ok else "FAIL")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--escalations", type=int, default=1000)
    parser.add_argument("--csrs", type=int, default=100)
    parser.add_argument("--rate", type=float, default=50.0, help="escalations per second")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--daphne-processes", type=int, default=2)
    parser.add_argument("--layer", choices=("core", "pubsub"), default="pubsub")
    parser.add_argument("--asgi-threads", type=int, default=0, help="0: daphne's default")
    parser.add_argument("--settle", type=float, default=60.0, help="seconds to wait at the end")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
