"""Manager tools at scale: the Queues page's first load (bytes and server time) and how
soon an escalation reaches an open Queues page while escalations flow.

Seeds `manage.py seed_load`'s data (500 CSRs, 50 queues, 2,000 active chats) into a
fresh PostgreSQL database, starts daphne, a Celery worker and a private Redis
(tests/bench/stack.py), then:

1. GETs /supervision/ as a CSR manager `--loads` times: the page's size, and the time
   from sending the request to the last byte (loopback: server time);
2. opens /ws/supervision/?view=queues and POSTs escalations to the load queues at
   `--rate` per second for `--seconds`; an escalation is seen when an update shows its
   queue waiting at least as many chats as had been sent to it by then. Reports send →
   seen, and POST reply (the escalation committed) → seen, which the target is about,
   and the POSTs' own time.

Targets (issue #22): first load ≤ 300 KB and ≤ 500 ms; update p95 ≤ 1 s at 20/s.

    python tests/bench/bench_supervision.py [--rate 20] [--seconds 30] [--loads 20]
"""

import argparse
import asyncio
import concurrent.futures
import json
import math
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import compat
from tests.bench import stack as bench_stack
from tests.bench.chat_clients import page_origin
from tests.bench.stack import (
    PRODUCTION_LIKE,
    RedisServer,
    Stack,
    code_label,
    percentile,
    prepare_database,
    session_cookie,
    setup_django,
)

LOGS = bench_stack.ROOT / "var" / "bench-logs"
TARGET_KB = 300
TARGET_LOAD_MS = 500
TARGET_UPDATE_P95_MS = 1000
SETTINGS = """from config.settings import *  # noqa: F403
from config.settings import STORAGES

STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
"""


def seed(args) -> tuple[str, str, list[str]]:
    from django.contrib.auth.models import Group, User

    from chat.models import Channel, ChannelKind
    from config.users import Role
    from routing.models import Queue
    from supervision.loadseed import load_seed

    load_seed(csrs=args.csrs, queues=args.queues, active=args.chats)
    queues = list(Queue.objects.filter(slug__startswith="load-").values_list("slug", flat=True))
    channel = Channel.objects.create(
        name="Bench web",
        slug="bench-web",
        kind=ChannelKind.WEB_MESSAGING,
        default_queue=Queue.objects.get(slug=queues[0]),
    )
    _, token = compat.bot_client_create(name="Bench bot", channels=[channel])
    manager = User.objects.create(username="bench-manager", first_name="Bench", last_name="Manager")
    manager.groups.add(Group.objects.get_or_create(name=Role.CSR_MANAGER.value)[0])
    return session_cookie(manager), token, queues


def first_loads(base_url: str, cookie: str, count: int) -> tuple[int, list[float]]:
    sizes, times = 0, []
    for _ in range(count):
        request = urllib.request.Request(f"{base_url}/supervision/", headers={"Cookie": cookie})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as reply:
            body = reply.read()
        times.append(time.perf_counter() - started)
        sizes = len(body)
    return sizes, times


def escalate(base_url: str, token: str, n: int, queue: str) -> float:
    body = json.dumps(
        {
            "channel": "bench-web",
            "queue": queue,
            "customer": {"external_id": f"bench-customer-{n}", "name": f"Customer {n}"},
            "intent": "general",
            "transcript": [{"from": "customer", "text": "Hello"}, {"from": "bot", "text": "Hi"}],
        }
    ).encode()
    request = urllib.request.Request(
        f"{base_url}/api/v1/escalations/",
        data=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": f"bench-{n}",
        },
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as reply:
        reply.read()
    return time.perf_counter() - started


async def updates(args, stack: Stack, cookie: str, token: str, queues: list[str]) -> dict:
    loop = asyncio.get_running_loop()
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(max_workers=64))
    url = f"ws://127.0.0.1:{stack.port}/ws/supervision/?view=queues"
    headers = [("Origin", page_origin(url)), ("Cookie", cookie)]
    sent: dict[str, list[float]] = defaultdict(list)  # queue slug → send times, in order
    replied: dict[str, list[float]] = defaultdict(list)  # … → when the POST's reply came
    seen: dict[str, int] = defaultdict(int)  # queue slug → escalations seen
    seen_at: list[tuple[str, int, float]] = []
    frames = frame_bytes = 0
    names: dict[int, str] = {}
    async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:
        snapshot = json.loads(await ws.recv())
        assert snapshot["type"] == "supervision.snapshot", snapshot
        slug_by_name = {f"Load queue {slug[-2:]}": slug for slug in queues}
        baseline = {}
        for row in snapshot["queues"]:
            names[row["id"]] = slug_by_name.get(row["name"], "")
            baseline[names[row["id"]]] = row["waiting"]
        done = asyncio.Event()

        async def read() -> None:
            nonlocal frames, frame_bytes
            last_beat = time.monotonic()
            while not done.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=1)
                except TimeoutError:
                    raw = None
                now = time.perf_counter()
                if time.monotonic() - last_beat > 5:
                    await ws.send(json.dumps({"type": "heartbeat"}))
                    last_beat = time.monotonic()
                if raw is None:
                    continue
                frames += 1
                frame_bytes += len(raw)
                frame = json.loads(raw)
                for row in frame.get("queues", []):
                    slug = names.get(row["id"], "")
                    count = row["waiting"] - baseline.get(slug, 0)
                    while seen[slug] < min(count, len(sent[slug])):
                        seen_at.append((slug, seen[slug], now))
                        seen[slug] += 1

        async def post(queue: str, index: int, n: int) -> float:
            took = await loop.run_in_executor(None, escalate, stack.base_url, token, n, queue)
            replied[queue][index] = time.perf_counter()
            return took

        reader = asyncio.create_task(read())
        total = int(args.rate * args.seconds)
        started = time.perf_counter()
        posts = []
        for n in range(total):
            due = started + n / args.rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            queue = queues[n % len(queues)]
            sent[queue].append(time.perf_counter())
            replied[queue].append(math.inf)
            posts.append(asyncio.create_task(post(queue, len(sent[queue]) - 1, n)))
        post_times = await asyncio.gather(*posts)
        deadline = time.perf_counter() + args.settle
        while sum(seen.values()) < total and time.perf_counter() < deadline:
            await asyncio.sleep(0.2)
        done.set()
        await reader
    return {
        "sent": total,
        "seen": sum(seen.values()),
        "latencies": [at - sent[slug][index] for slug, index, at in seen_at],
        # From the POST's reply (the escalation committed) to the page; an update seen
        # before the reply reached the client counts as 0.
        "after_reply": [max(0.0, at - replied[slug][index]) for slug, index, at in seen_at],
        "frames": frames,
        "frame_bytes": frame_bytes,
        "seconds": args.seconds,
        "posts": list(post_times),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csrs", type=int, default=500)
    parser.add_argument("--queues", type=int, default=50)
    parser.add_argument("--chats", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=20.0, help="escalations per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--loads", type=int, default=20, help="first loads of the Queues page")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--settle", type=float, default=15.0)
    bench_stack.add_code_argument(parser)
    args = parser.parse_args()
    # Production settings, except that static URLs need no collected manifest (the page
    # is measured, not its static files).
    LOGS.mkdir(parents=True, exist_ok=True)
    (LOGS / "bench_supervision_settings.py").write_text(SETTINGS)
    env = {
        **PRODUCTION_LIKE,
        "DJANGO_SETTINGS_MODULE": "bench_supervision_settings",
        "PYTHONPATH": str(LOGS),
    }
    sys.path.insert(0, str(LOGS))
    with RedisServer(logs=LOGS) as redis:
        bench_stack.configure(redis_url=redis.url, code=args.code)
        prepare_database()
        setup_django(**env)
        cookie, token, queues = seed(args)
        with Stack(workers=args.workers, env=env, logs=LOGS, beat=False) as stack:
            size, times = first_loads(stack.base_url, cookie, args.loads)
            result = asyncio.run(updates(args, stack, cookie, token, queues))
    load_p50, load_p95 = percentile(times, 0.5) * 1000, percentile(times, 0.95) * 1000
    lat = result["latencies"]
    p50, p95 = percentile(lat, 0.5) * 1000, percentile(lat, 0.95) * 1000
    print()
    print(f"code                      {code_label()}")
    data = f"{args.csrs} CSRs, {args.queues} queues, {args.chats} active chats"
    print(f"data                      {data}")
    load = f"p50 {load_p50:.0f} ms, p95 {load_p95:.0f} ms (n={len(times)})"
    print(f"Queues page first load    {size / 1024:.1f} KB, {load}")
    sent = f"{result['sent']} at {args.rate}/s, seen on the page: {result['seen']}"
    print(f"escalations               {sent}")
    worst = max(lat, default=float("nan")) * 1000
    print(f"POST sent → page update   p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {worst:.0f} ms")
    after = result["after_reply"]
    r50, r95 = percentile(after, 0.5) * 1000, percentile(after, 0.95) * 1000
    print(f"POST reply → page update  p50 {r50:.0f} ms, p95 {r95:.0f} ms")
    posts = result["posts"]
    post50, post95 = percentile(posts, 0.5) * 1000, percentile(posts, 0.95) * 1000
    print(f"escalation POST           p50 {post50:.0f} ms, p95 {post95:.0f} ms")
    kb = result["frame_bytes"] / 1024
    print(f"socket frames             {result['frames']} ({kb:.1f} KB) in {args.seconds:.0f} s")
    ok = (
        size / 1024 <= TARGET_KB
        and load_p95 <= TARGET_LOAD_MS
        and r95 <= TARGET_UPDATE_P95_MS
        and result["seen"] == result["sent"]
    )
    print(
        "targets                   "
        + ("met" if ok else "NOT met")
        + f" (≤ {TARGET_KB} KB, ≤ {TARGET_LOAD_MS} ms, p95 ≤ {TARGET_UPDATE_P95_MS} ms)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
