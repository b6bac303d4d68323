"""Routing benchmark: 1,000 escalations over 100 CSR sockets that accept, decline or
ignore their offers at random, through a real daphne + Celery + PostgreSQL + Redis.

Run: python tests/bench/bench_routing.py [--escalations 1000] [--csrs 100] [--rate 50]
         [--daphne-processes 2] [--workers 2] [--layer core|pubsub] [--asgi-threads N]
         [--code DIR] [--against DIR --runs 3]

With several daphne processes (each on its own port) the CSR sockets and the POSTs are
spread over them round-robin, as a load balancer would. Every process runs with
DEBUG=false. Ignored offers expire after the queue's offer timeout (5 s) by whatever
mechanism the measured code has (a per-offer Celery timer now, a beat poll before).

Checks: zero double assignments, every interaction ends active, every escalation first
offered within --offer-deadline (10 s) of the last one; prints the escalation → offer
latency (p50/p99, measured from the moment the POST is sent to the moment the offer
reaches a CSR's socket), offers/s, and how long after the last escalation the last one
was first offered. Target (2-core machine): p99 ≤ 150 ms at 50 escalations/s.

--code DIR measures another checkout (default: this repository). --against DIR --runs N
runs N times each, alternating --code and DIR (each run a fresh database, Redis and
stack in a process of its own), and prints each checkout's medians. Uses its own
database (BENCH_DATABASE_URL, default portal_bench) and a private redis-server.
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

from tests.bench import compat
from tests.bench import stack as bench_stack
from tests.bench.chat_clients import page_origin
from tests.bench.stack import (
    PRODUCTION_LIKE,
    CommitProbe,
    RedisServer,
    Stack,
    add_compare_arguments,
    alternate,
    code_label,
    median_of,
    percentile,
    prepare_database,
    session_cookie,
    setup_django,
)

ACTIONS = ("accept", "decline", "ignore")
WEIGHTS = (0.7, 0.15, 0.15)
TARGET_P99_MS = 150.0
LOGS = bench_stack.ROOT / "var" / "bench-logs"


def seed(csr_count: int) -> tuple[list, str]:
    from django.contrib.auth.models import Group, User

    from chat.models import Channel, ChannelKind
    from routing.models import CSRProfile, CSRStatus, Queue, QueueMembership

    queue = Queue.objects.create(name="Bench", slug="bench", offer_timeout_seconds=5)
    channel = Channel.objects.create(
        name="Bench web", slug="bench-web", kind=ChannelKind.WEB_MESSAGING, default_queue=queue
    )
    _, token = compat.bot_client_create(name="Bench bot", channels=[channel])
    group = Group.objects.get(name=compat.csr_role_name())
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

    headers = [("Origin", page_origin(url)), ("Cookie", cookie)]
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
    with RedisServer(logs=LOGS) as redis:
        bench_stack.configure(redis_url=redis.url, code=args.code)
        prepare_database()
        setup_django(**env)  # the same SECRET_KEY as the stack, or the cookies will not match
        users, token = seed(args.csrs)
        cookies = [session_cookie(user) for user in users]
        rec = Recorder()
        with (
            Stack(
                workers=args.workers,
                daphne_processes=args.daphne_processes,
                env=env,
                logs=LOGS,
            ) as stack,
            CommitProbe() as probe,
        ):
            started, last_escalation, settled = asyncio.run(
                traffic(args, stack, users, cookies, token, rec)
            )
        return report(args, rec, probe, started, last_escalation, settled)


def report(args, rec: Recorder, probe: CommitProbe, started, last_escalation, settled) -> int:
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
    offered_after = last_first_offer - last_escalation
    duration = settled - started
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    print()
    print(f"code                    {code_label()}")
    print(
        f"stack                   {args.daphne_processes} daphne(s), {args.workers} Celery "
        f"worker process(es), layer {args.layer}, ASGI_THREADS {args.asgi_threads or 'default'}"
    )
    print(f"escalations sent        {len(rec.sent_at)} (failed: {rec.escalation_failures})")
    print(f"CSR sockets             {args.csrs}, actions {dict(rec.actions)}")
    print(f"offers delivered        {rec.offers} ({rec.offers / duration:.1f} offers/s)")
    print(
        f"escalation → offer      p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {max(latencies, default=float('nan')) * 1000:.1f} ms (n={len(latencies)})"
    )
    print(
        f"escalation POST         p50 {percentile(rec.post_seconds, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(rec.post_seconds, 0.99) * 1000:.1f} ms"
    )
    print(f"last first offer        {offered_after:+.2f} s after the last escalation")
    print(f"final statuses          {dict(statuses)}")
    print(f"double assignments      {doubles} in the database, {socket_doubles} on the sockets")
    print(f"socket errors           {dict(rec.errors)}")
    print(f"{probe.report()} (every 20 ms during the run)")
    all_offered = len(latencies) == args.escalations and offered_after <= args.offer_deadline
    problems = [
        problem
        for problem, found in (
            ("double assignments", doubles or socket_doubles),
            ("failed escalations", rec.escalation_failures),
            ("not all offered in time", not all_offered),
            ("not all active", statuses.get(InteractionStatus.ACTIVE, 0) != args.escalations),
        )
        if found
    ]
    ok = not problems
    target_met = ok and p99 <= args.target_p99_ms
    print(
        f"all offered within {args.offer_deadline:g} s  {'yes' if all_offered else 'NO'}; "
        f"target p99 ≤ {args.target_p99_ms:g} ms: {'MET' if target_met else 'MISSED'}"
    )
    print("RESULT", "PASS" if ok else f"FAIL ({', '.join(problems)})")
    if args.json_out:
        took = [seconds for _, seconds in probe.commits]
        Path(args.json_out).write_text(
            json.dumps(
                {
                    "code": str(args.code),
                    "pass": ok,
                    "offer_p50_ms": p50,
                    "offer_p99_ms": p99,
                    "offer_max_ms": max(latencies, default=0) * 1000,
                    "post_p99_ms": percentile(rec.post_seconds, 0.99) * 1000,
                    "offered": len(latencies),
                    "last_first_offer_s": offered_after,
                    "doubles": doubles + socket_doubles,
                    "failures": rec.escalation_failures,
                    "active": statuses.get(InteractionStatus.ACTIVE, 0),
                    "disk_p99_ms": percentile(took, 0.99) * 1000,
                    "disk_stalls": len(probe.stalls()),
                }
            )
        )
    return 0 if ok else 1


def compare(args, argv: list[str]) -> int:
    """--against: alternate the two checkouts, --runs each; print both medians."""
    codes = [args.code, args.against]
    results = alternate(Path(__file__), argv, codes, args.runs)
    print()
    print(
        f"{'run':>3}  {'checkout':40} {'offer p50':>9} {'p99':>8} {'max':>8} {'POST p99':>8} "
        f"{'last offer':>10} {'doubles':>7} {'result':>6}"
    )
    for n, (code, r) in enumerate(results, 1):
        if not r:
            print(f"{n:>3}  {code!s:40} (no result: the run failed, see its output)")
            continue
        print(
            f"{n:>3}  {code!s:40} {r['offer_p50_ms']:9.1f} {r['offer_p99_ms']:8.1f} "
            f"{r['offer_max_ms']:8.1f} {r['post_p99_ms']:8.1f} "
            f"{r['last_first_offer_s']:+9.2f}s {r['doubles']:7d} "
            f"{'PASS' if r['pass'] else 'FAIL':>6}"
        )
    print()
    for code in codes:
        mine = [r for c, r in results if c == code and r]
        passed = len(mine) == args.runs and all(r["pass"] for r in mine)
        p99 = median_of(mine, "offer_p99_ms")
        print(
            f"median of {len(mine)}  {code_label(code)}: offer p50 "
            f"{median_of(mine, 'offer_p50_ms'):.1f} ms, p99 {p99:.1f} ms (target ≤ "
            f"{args.target_p99_ms:g}: {'MET' if p99 <= args.target_p99_ms else 'MISSED'}), "
            f"POST p99 {median_of(mine, 'post_p99_ms'):.1f} ms, last first offer "
            f"{median_of(mine, 'last_first_offer_s'):+.2f} s; double assignments "
            f"{sum(r['doubles'] for r in mine)}; runs {'all PASS' if passed else 'NOT all PASS'}"
        )
    mine = [r for c, r in results if c == args.code]
    return 0 if all(r and r["pass"] for r in mine) else 1


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
    parser.add_argument(
        "--offer-deadline",
        type=float,
        default=10.0,
        help="every escalation first offered within this many seconds of the last one",
    )
    parser.add_argument("--target-p99-ms", type=float, default=TARGET_P99_MS)
    add_compare_arguments(parser)
    args = parser.parse_args()
    if args.against:
        return compare(args, child_argv(args))
    return run(args)


def child_argv(args) -> list[str]:
    """The options of one run of an alternating comparison (without --code/--against)."""
    argv = [
        f"--escalations={args.escalations}",
        f"--csrs={args.csrs}",
        f"--rate={args.rate}",
        f"--workers={args.workers}",
        f"--daphne-processes={args.daphne_processes}",
        f"--layer={args.layer}",
        f"--asgi-threads={args.asgi_threads}",
        f"--settle={args.settle}",
        f"--offer-deadline={args.offer_deadline}",
        f"--target-p99-ms={args.target_p99_ms}",
    ]
    return argv


if __name__ == "__main__":
    sys.exit(main())
