"""Idle customer sockets on one daphne process: memory per socket, and how fast a message
still reaches one of them.

Run: python tests/bench/bench_idle_sockets.py [--sockets 10000] [--idle 60]
         [--sample 200] [--batch 100] [--client-heartbeat 0]

Raises this process's open-file limit to its hard limit (resource module; daphne, a
child, gets the same through preexec_fn), starts one daphne (a Celery worker too, which
this benchmark does not use; no beat) on a fresh PostgreSQL database
(BENCH_DATABASE_URL) and a private Redis, creates --sockets active chats in bulk through
the ORM (customer tokens through the chat services), measures daphne's memory (RSS and
USS, /proc through psutil), opens one customer socket per chat (/ws/customer/, as the
widget does, --batch handshakes at a time) and leaves them idle for --idle seconds
while daphne's process heartbeat (config/processes.py) runs and daphne pings them.
Then it measures daphne's memory again, and sends a message to each of --sample
randomly chosen chats, one at a time, through the chat service (message_create, as a
CSR's or a bot's message is stored and published): the latency is from the start of
the call (its commit included) to the `message` frame on that chat's idle socket.

--collect-frozen-after S makes daphne do, S seconds after it starts (during the idle
time with the defaults), what it does once an hour (config/gcfreeze.py): unfreeze,
collect and freeze again; the time it took and what it freed are printed.
--gc-log logs every garbage collection in daphne that takes 5 ms or more (gen, time,
objects); --tracemalloc N traces daphne's allocations (N frames) and prints the
allocation sites that grew most per socket between the baseline and the end of the
idle time. Both go through a sitecustomize module put on daphne's PYTHONPATH for this
run only (the portal's code is not changed); tracemalloc slows daphne and inflates
its memory, so its run's RSS figures are not the benchmark's.

Targets (issue #25): at most 64 KiB of daphne memory per socket, p99 at most 100 ms.
A benchmark reports; it does not fail on a missed target.
"""

import argparse
import asyncio
import contextlib
import gc
import json
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psutil
import websockets

from tests.bench import stack as bench_stack
from tests.bench.compat import customer_snapshot
from tests.bench.stack import ROOT, RedisServer, Stack, percentile

LOGS = ROOT / "var" / "bench-idle-logs"
PROFILE_DIR = LOGS / "profile"

# Imported by daphne (and only daphne: the workers' argv differs) at start-up when
# PROFILE_DIR is on its PYTHONPATH.
SITECUSTOMIZE = """
import gc, os, signal, sys, time

if "daphne" in sys.argv[0]:
    if os.environ.get("IDLE_GC_LOG"):
        _started = {}

        def _gc_log(phase, info):
            if phase == "start":
                _started["at"] = time.perf_counter()
                return
            took = time.perf_counter() - _started.get("at", time.perf_counter())
            if took >= 0.005:
                print(f"[gc] gen{info['generation']} {took * 1000:.1f} ms "
                      f"collected={info['collected']} at={time.time():.3f}",
                      file=sys.stderr, flush=True)

        gc.callbacks.append(_gc_log)
    if os.environ.get("IDLE_COLLECT_FROZEN_AFTER"):
        import threading

        # What config.gcfreeze.PeriodicFreeze does once an hour, done once, earlier.
        def _collect_frozen(after=float(os.environ["IDLE_COLLECT_FROZEN_AFTER"])):
            time.sleep(after)
            frozen = gc.get_freeze_count()
            started = time.perf_counter()
            gc.unfreeze()
            collected = gc.collect()
            gc.freeze()
            took = time.perf_counter() - started
            print(f"[gc] frozen collected: {took * 1000:.1f} ms, {frozen} frozen before, "
                  f"collected={collected} at={time.time():.3f}", file=sys.stderr, flush=True)

        threading.Thread(target=_collect_frozen, daemon=True).start()
    if os.environ.get("IDLE_TRACEMALLOC"):
        import tracemalloc

        tracemalloc.start(int(os.environ["IDLE_TRACEMALLOC"]))
        _snapshots = [0]

        def _dump(signum, frame):
            _snapshots[0] += 1
            path = os.path.join(os.environ["IDLE_PROFILE_DIR"], f"snap-{_snapshots[0]}.pickle")
            tracemalloc.take_snapshot().dump(path + ".tmp")
            os.replace(path + ".tmp", path)

        signal.signal(signal.SIGUSR1, _dump)
"""
TARGET_KIB = 64
TARGET_P99_MS = 100


def raise_file_limit() -> int:
    """This process's soft RLIMIT_NOFILE up to its hard limit; the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _child_file_limit() -> None:  # preexec_fn: runs in daphne before exec
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def chats_create(count: int) -> list[tuple[int, str]]:
    """`count` active chats (customer, interaction, two messages, a customer token), in
    bulk; (interaction id, customer token) each."""
    from django.contrib.auth.models import User
    from django.db import transaction
    from django.utils import timezone

    from chat.models import (
        Channel,
        ChannelKind,
        Customer,
        Interaction,
        InteractionStatus,
        Message,
        SenderKind,
        SystemEvent,
    )
    from chat.services.customers import customer_token_create
    from routing.models import Queue

    queue = Queue.objects.create(name="Idle", slug="idle")
    channel = Channel.objects.create(
        name="Idle web", slug="idle-web", kind=ChannelKind.WEB_MESSAGING, default_queue=queue
    )
    csrs = [User.objects.create(username=f"idlecsr{n}", first_name="CSR") for n in range(10)]
    now = timezone.now()
    with transaction.atomic():
        customers = Customer.objects.bulk_create(
            [Customer(name=f"Idle {n}", external_id=f"idle-{n}") for n in range(count)],
            batch_size=2000,
        )
        interactions = Interaction.objects.bulk_create(
            [
                Interaction(
                    status=InteractionStatus.ACTIVE,
                    customer=customer,
                    **customer_snapshot(customer),
                    channel=channel,
                    queue=queue,
                    assigned_csr=csrs[n % len(csrs)],
                    last_seq=2,
                    accepted_at=now,
                    queued_at=now,
                )
                for n, customer in enumerate(customers)
            ],
            batch_size=2000,
        )
        Message.objects.bulk_create(
            [
                message
                for interaction in interactions
                for message in (
                    Message(
                        interaction=interaction,
                        seq=1,
                        sender_kind=SenderKind.CUSTOMER,
                        author_name=interaction.customer.name,
                        text="Hello",
                        pre_escalation=True,
                    ),
                    Message(
                        interaction=interaction,
                        seq=2,
                        sender_kind=SenderKind.SYSTEM,
                        text="CSR 1 joined the chat",
                        event=SystemEvent.JOINED,
                    ),
                )
            ],
            batch_size=2000,
        )
        return [(i.pk, customer_token_create(interaction=i)) for i in interactions]


def message_to(interaction_id: int, text: str) -> None:
    """A CSR message stored and published by the chat service (in a worker thread)."""
    from django.db import connection, transaction

    from chat.models import Interaction, SenderKind
    from chat.services.messages import message_create

    try:
        with transaction.atomic():
            interaction = Interaction.objects.select_for_update().get(pk=interaction_id)
            message_create(
                interaction=interaction,
                sender_kind=SenderKind.CSR,
                author=interaction.assigned_csr,
                text=text,
            )
    finally:
        connection.close_if_unusable_or_obsolete()


class IdleSocket:
    """One customer socket: opened, read until replay.done, then only read."""

    def __init__(self, interaction_id: int, url: str) -> None:
        self.interaction_id = interaction_id
        self.url = url
        self.ws: Any = None
        self.waiting: dict[str, asyncio.Future] = {}
        self.closed_code: int | None = None
        self.tasks: list[asyncio.Task] = []

    origin = ""  # the portal's own origin, as the widget's page on it sends

    async def open(self, heartbeat: float) -> None:
        self.ws = await websockets.connect(
            self.url,
            additional_headers=[("Origin", self.origin)],
            open_timeout=60,
            ping_interval=None,  # as a browser: it answers daphne's pings, sends none
            max_queue=None,
            compression=None,
        )
        while True:
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), 60))
            if frame["type"] == "replay.done":
                break
        self.tasks = [asyncio.create_task(self.read())]
        if heartbeat:
            self.tasks.append(asyncio.create_task(self.beat(heartbeat)))

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                if frame.get("type") == "message":
                    future = self.waiting.pop(frame.get("text", ""), None)
                    if future is not None and not future.done():
                        future.set_result(time.perf_counter())
        except websockets.ConnectionClosed as closed:
            self.closed_code = closed.rcvd.code if closed.rcvd else 1006
        else:
            self.closed_code = self.ws.close_code

    async def beat(self, every: float) -> None:
        await asyncio.sleep(random.uniform(0, every))
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await self.ws.send('{"type": "heartbeat"}')
                await asyncio.sleep(every)


def gc_pauses() -> list[tuple[float, int, float]]:
    """Collections of this process from now on that took 5 ms or more: (wall-clock
    end, generation, seconds)."""
    pauses: list[tuple[float, int, float]] = []
    started = [0.0]

    def log(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        elif (took := time.perf_counter() - started[0]) >= 0.005:
            pauses.append((time.time(), info["generation"], took))

    gc.callbacks.append(log)
    return pauses


def memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, USS) of the process, KiB."""
    info = psutil.Process(pid).memory_full_info()
    return info.rss // 1024, info.uss // 1024


def process_heartbeat(pid: int) -> dict | None:
    """daphne's heartbeat (config/processes.py) as it is in the cache, if any."""
    import socket

    from django.core.cache import cache

    from config.processes import PROCESS_KEY_PREFIX

    payload = cache.get(f"{PROCESS_KEY_PREFIX}{socket.gethostname()}:{pid}")
    return json.loads(payload) if payload else None


async def snapshot(pid: int, number: int):
    """daphne's tracemalloc snapshot number `number` (asked for with SIGUSR1)."""
    import os
    import signal
    import tracemalloc

    path = PROFILE_DIR / f"snap-{number}.pickle"
    os.kill(pid, signal.SIGUSR1)
    for _ in range(1200):
        if path.exists():
            return tracemalloc.Snapshot.load(str(path))
        await asyncio.sleep(0.1)
    raise RuntimeError("daphne wrote no tracemalloc snapshot")


def grown(before, after, sockets: int, *, top: int = 15) -> list[str]:
    """The allocation sites that grew most, per socket."""
    lines = []
    diff = after.compare_to(before, "lineno")
    total = sum(stat.size_diff for stat in diff)
    lines.append(f"traced growth: {total / sockets / 1024:.1f} KiB per socket")
    for stat in diff[:top]:
        frame = stat.traceback[0]
        where = f"{frame.filename.split('site-packages/')[-1]}:{frame.lineno}"
        lines.append(
            f"  {stat.size_diff / sockets:8.0f} B/socket  {stat.count_diff / sockets:6.1f} "
            f"blocks/socket  {where}"
        )
    return lines


async def run(args, stack: Stack, chats: list[tuple[int, str]]) -> dict:
    daphne = stack.daphnes[stack.port].pid
    base = f"ws://127.0.0.1:{stack.port}/ws/customer"
    IdleSocket.origin = f"http://127.0.0.1:{stack.port}"
    sockets = [IdleSocket(i, f"{base}/{i}/?token={token}") for i, token in chats]

    # The baseline: daphne warmed by a first few sockets (imports, pools), then closed.
    warm = sockets[:20]
    for s in warm:
        await s.open(0)
    for s in warm:
        await s.ws.close()
    await asyncio.sleep(2)
    for s in warm:
        s.ws, s.closed_code = None, None
    before = memory_kib(daphne)
    snapshots = [await snapshot(daphne, 1)] if args.tracemalloc else []

    started = time.monotonic()
    gate = asyncio.Semaphore(args.batch)

    async def open_one(s: IdleSocket) -> None:
        async with gate:
            for attempt in range(5):
                try:
                    await s.open(args.client_heartbeat)
                    return
                except (OSError, websockets.InvalidHandshake, TimeoutError):
                    if attempt == 4:
                        raise
                    await asyncio.sleep(1 + attempt)

    results = await asyncio.gather(*(open_one(s) for s in sockets), return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    opened = len(sockets) - len(failed)
    open_seconds = time.monotonic() - started
    print(f"opened {opened}/{len(sockets)} sockets in {open_seconds:.1f} s", flush=True)
    if failed:
        print(f"  first failure: {failed[0]!r}")
    after_open = memory_kib(daphne)
    # This process holds 10,000 client sockets too: its own full collections would
    # delay the probes' arrival here, and count as daphne's latency.
    gc.collect()
    gc.freeze()
    client_pauses = gc_pauses()
    await asyncio.sleep(args.idle)
    after_idle = memory_kib(daphne)
    if args.tracemalloc:
        snapshots.append(await snapshot(daphne, 2))
    heartbeat = process_heartbeat(daphne)
    still_open = sum(1 for s in sockets if s.ws is not None and s.closed_code is None)

    # Latency: one message at a time to a random sample of the idle sockets.
    live = [s for s in sockets if s.ws is not None and s.closed_code is None]
    sample = random.sample(live, min(args.sample, len(live)))
    latencies: list[float] = []
    slow: list[tuple[float, float]] = []  # (wall-clock send time, latency) over target
    lost = 0
    loop = asyncio.get_running_loop()
    for n, s in enumerate(sample):
        text = f"probe {n} to {s.interaction_id}"
        future = loop.create_future()
        s.waiting[text] = future
        sent_at = time.perf_counter()
        await asyncio.to_thread(message_to, s.interaction_id, text)
        try:
            arrived = await asyncio.wait_for(future, 5)
        except TimeoutError:
            lost += 1
        else:
            latencies.append(arrived - sent_at)
            if arrived - sent_at > TARGET_P99_MS / 1000:
                slow.append((time.time() - (arrived - sent_at), arrived - sent_at))
        await asyncio.sleep(0.02)
    process = psutil.Process(daphne)
    return {
        "opened": opened,
        "open_seconds": open_seconds,
        "still_open": still_open,
        "before": before,
        "after_open": after_open,
        "after_idle": after_idle,
        "fds": process.num_fds(),
        "threads": process.num_threads(),
        "heartbeat": heartbeat,
        "latencies": latencies,
        "slow": slow,
        "client_pauses": client_pauses,
        "profile": grown(snapshots[0], snapshots[1], opened) if snapshots else [],
        "lost": lost,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--idle", type=float, default=60.0, help="seconds idle")
    parser.add_argument("--sample", type=int, default=200, help="messages for latency")
    parser.add_argument("--batch", type=int, default=100, help="handshakes at once")
    parser.add_argument("--gc-log", action="store_true", help="log daphne's slow collections")
    parser.add_argument(
        "--collect-frozen-after",
        type=float,
        default=0,
        metavar="SECONDS",
        help="daphne collects its frozen objects once, this long after it starts",
    )
    parser.add_argument(
        "--tracemalloc", type=int, default=0, metavar="FRAMES", help="profile daphne's memory"
    )
    parser.add_argument(
        "--client-heartbeat",
        type=float,
        default=0.0,
        help="seconds between each socket's `heartbeat` frame, as the widget (10); 0: none",
    )
    args = parser.parse_args()
    limit = raise_file_limit()
    needed = args.sockets + 200
    if limit < needed:
        print(f"the open-file limit is {limit}, {needed} are needed: raise the hard limit")
        return 2
    with RedisServer(logs=LOGS) as redis:
        bench_stack.configure(redis_url=redis.url)
        bench_stack.setup_django(**bench_stack.PRODUCTION_LIKE)
        bench_stack.prepare_database()
        started = time.monotonic()
        chats = chats_create(args.sockets)
        print(f"{len(chats)} chats created in {time.monotonic() - started:.1f} s", flush=True)
        from django.db import connections

        connections.close_all()
        env = dict(bench_stack.PRODUCTION_LIKE)
        if args.gc_log or args.tracemalloc or args.collect_frozen_after:
            import shutil

            shutil.rmtree(PROFILE_DIR, ignore_errors=True)
            PROFILE_DIR.mkdir(parents=True)
            (PROFILE_DIR / "sitecustomize.py").write_text(SITECUSTOMIZE)
            env.update(PYTHONPATH=str(PROFILE_DIR), IDLE_PROFILE_DIR=str(PROFILE_DIR))
            if args.gc_log:
                env["IDLE_GC_LOG"] = "1"
            if args.collect_frozen_after:
                env["IDLE_COLLECT_FROZEN_AFTER"] = str(args.collect_frozen_after)
            if args.tracemalloc:
                env["IDLE_TRACEMALLOC"] = str(args.tracemalloc)
        with Stack(
            workers=1,
            beat=False,
            env=env,
            logs=LOGS,
            daphne_preexec=_child_file_limit,
        ) as stack:
            result = asyncio.run(run(args, stack, chats))
    report(args, result)
    if args.gc_log or args.collect_frozen_after:
        log = (LOGS / "daphne.log").read_text(errors="replace")
        collections = [line for line in log.splitlines() if line.startswith("[gc]")]
        print(f"daphne collections >= 5 ms: {len(collections)}")
        for line in collections[-15:]:
            print("  " + line)
    return 0


def report(args, r: dict) -> None:
    n = r["opened"]
    per_open = (r["after_open"][0] - r["before"][0]) / max(n, 1)
    per_idle = (r["after_idle"][0] - r["before"][0]) / max(n, 1)
    uss_idle = (r["after_idle"][1] - r["before"][1]) / max(n, 1)
    latencies = r["latencies"]
    p50 = percentile(latencies, 0.50) * 1000 if latencies else float("nan")
    p99 = percentile(latencies, 0.99) * 1000 if latencies else float("nan")
    print(f"\n=== {args.sockets} idle customer sockets on one daphne, {args.idle:.0f} s idle ===")
    print(f"code                       {bench_stack.code_label()}")
    print(f"sockets opened / open      {n} / {r['still_open']} after the idle time")
    print(f"opening took               {r['open_seconds']:.1f} s ({args.batch} at a time)")
    print(f"client heartbeat           {args.client_heartbeat or 'none'} s")
    if args.collect_frozen_after:
        print(f"frozen objects collected   {args.collect_frozen_after:g} s after daphne started")
    print(
        f"daphne RSS before          {r['before'][0] / 1024:.1f} MiB "
        f"(USS {r['before'][1] / 1024:.1f})"
    )
    print(f"daphne RSS opened          {r['after_open'][0] / 1024:.1f} MiB")
    print(
        f"daphne RSS after idle      {r['after_idle'][0] / 1024:.1f} MiB "
        f"(USS {r['after_idle'][1] / 1024:.1f})"
    )
    print(
        f"per socket (RSS)           {per_open:.1f} KiB opened, {per_idle:.1f} KiB after idle "
        f"(target <= {TARGET_KIB}: {'met' if per_idle <= TARGET_KIB else 'MISSED'})"
    )
    print(f"per socket (USS)           {uss_idle:.1f} KiB after idle")
    print(f"daphne fds / threads       {r['fds']} / {r['threads']}")
    beat = r["heartbeat"]
    print(
        f"process heartbeat          {'sockets=' + str(beat['sockets']) if beat else 'NOT FOUND'}"
    )
    print(f"messages delivered         {len(latencies)}/{len(latencies) + r['lost']}")
    print(
        f"latency p50 / p99 / max    {p50:.1f} / {p99:.1f} / "
        f"{max(latencies) * 1000 if latencies else float('nan'):.1f} ms "
        f"(target p99 <= {TARGET_P99_MS}: {'met' if p99 <= TARGET_P99_MS else 'MISSED'})"
    )
    print(f"over {TARGET_P99_MS} ms                {len(r['slow'])}")
    for at, latency in r["slow"][:10]:
        print(f"  sent at {at:.3f} (wall clock)  {latency * 1000:.1f} ms")
    pauses = r["client_pauses"]
    print(
        f"client collections >= 5ms {len(pauses)} during idle and probes"
        + (f", longest {max(p[2] for p in pauses) * 1000:.0f} ms" if pauses else "")
    )
    for line in r["profile"]:
        print(line)


if __name__ == "__main__":
    sys.exit(main())
