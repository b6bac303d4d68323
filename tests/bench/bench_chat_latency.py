"""Chat latency benchmark: customer → CSR message latency and throughput of the portal's
live chat (daphne + Redis channel layer + PostgreSQL), measured in the same run against
three baselines started by the benchmark itself:

  ORM chat       tests/bench/baselines/orm_chat/ — the Channels tutorial's group chat
                 that saves each message with the ORM (`Model.objects.create` in
                 `database_sync_to_async`) before `group_send`, under daphne, on a
                 PostgreSQL database of its own, with the portal's channel layer and
                 database connection settings: the design most chat products use;
  channels chat  tests/bench/baselines/channels_chat/ — the Channels tutorial's group
                 chat under daphne, no persistence, the portal's channel layer config;
  bare relay     tests/bench/baselines/bare_relay.py — `websockets`, pairs sockets by
                 room and forwards text frames.

Run: python tests/bench/bench_chat_latency.py [--conversations 200] [--seconds 20]
         [--interval-ms 1000] [--persist-conversations 400] [--persist-seconds 10]
         [--daphne-processes 1] [--asgi-threads N] [--layer core|pubsub]
         [--no-sentiment] [--only portal|orm|channels|bare ...]
         [--code DIR] [--against DIR --runs 3]

Every system gets the same load (tests/bench/chat_clients.py: per conversation a
sender socket and a receiver socket; the sender sends a probe carrying its send time
every --interval-ms, staggered; latency = receive time − send time). For the portal
the sender is the customer's socket and the receiver the CSR's. Each system's
"persisted msg/s" is the rows it stored with a timestamp in the measured window ÷ the
window (the portal and the ORM chat; the others store nothing). The ORM chat runs
under as many daphne processes, with as many ASGI threads, as the portal. Then the
rates under pressure: every customer and CSR socket of --persist-conversations chats
(two sockets per room of the peers) sends as fast as the portal's send limit allows
(20 at once, then 2/s: 20 per 10 s window per chat party); the portal's acks/s and
rows stored per second, the ORM chat's rows stored per second and the relays' messages
delivered per second in the window are counted, and portal ÷ ORM chat printed.

Guard (the issue's, at 200 conversations × 1 message/s): the portal's p99 ÷ the ORM
chat's p99 ≤ 1. Targets: our p99 ≤ 1.5× the Channels chat's and ≤ 3× the bare relay's;
≥ 1,000 persisted messages/s. Uses its own databases (portal_bench_chat,
portal_bench_chat_orm) and a private redis-server shared by the systems.

--code DIR measures another checkout (default: this repository; the baselines run from
its directory too, so they use its channel layer and database settings). --against DIR
--runs N runs N times each, alternating --code and DIR, and prints each one's medians.
"""

import argparse
import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import compat
from tests.bench import stack as bench_stack
from tests.bench.chat_clients import (
    ORIGIN,
    Endpoints,
    LoadResult,
    connect,
    latency_run,
)
from tests.bench.stack import (
    BENCH_ROOT,
    PRODUCTION_LIKE,
    ROOT,
    CommitProbe,
    RedisServer,
    Stack,
    add_compare_arguments,
    alternate,
    code_label,
    free_port,
    median_of,
    percentile,
)

CHAT_DATABASE_URL = os.environ.get(
    "CHAT_BENCH_DATABASE_URL",
    urlunsplit((*urlsplit(bench_stack.BENCH_DATABASE_URL)[:2], "/portal_bench_chat", "", "")),
)
ORM_DATABASE_URL = os.environ.get(
    "CHAT_BENCH_ORM_DATABASE_URL",
    urlunsplit((*urlsplit(CHAT_DATABASE_URL)[:2], "/portal_bench_chat_orm", "", "")),
)
PADDING = "x" * 40  # probes carry ~60 characters of text, like a short chat line
LAYERS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}
# The baselines' packages, imported as `baselines.<name>` from the checkout's directory.
BASELINES_PATH = str(BENCH_ROOT / "tests" / "bench")
SYSTEMS = {  # --only name → the report's name
    "portal": "portal (daphne+redis+postgres)",
    "orm": "ORM chat (tutorial + save)",
    "channels": "channels tutorial chat",
    "bare": "bare websockets relay",
}
GUARD_RATIO = 1.0  # portal p99 ÷ ORM chat p99
LOGS = ROOT / "var" / "bench-chat-logs"  # not bench-logs: other benchmarks write there


# --- frame formats --------------------------------------------------------------------


def _plain_encode(n: int, at: float) -> str:
    return f"{at!r} {n} {PADDING}"


def _plain_decode(frame: str) -> float | None:
    return float(frame.split(" ", 1)[0])


def _tutorial_encode(n: int, at: float) -> str:
    return json.dumps({"message": _plain_encode(n, at)})


def _tutorial_decode(frame: str) -> float | None:
    return _plain_decode(json.loads(frame)["message"])


def _portal_encode_for(interaction_id: int):
    def encode(n: int, at: float) -> str:
        return json.dumps(
            {
                "type": "send",
                "client_msg_id": f"p-{interaction_id}-{n}",
                "text": _plain_encode(n, at),
            }
        )

    return encode


def _portal_decode(frame: str) -> float | None:
    if '"type": "message"' not in frame:
        return None
    message = json.loads(frame)
    if message.get("sender_kind") != "customer":
        return None
    return _plain_decode(message["text"])


def _portal_ready(frame: str) -> bool:
    return '"replay.done"' in frame


# --- systems --------------------------------------------------------------------------


def start_process(name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = open(LOGS / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        command,
        cwd=bench_stack.CODE,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_process(process: subprocess.Popen) -> None:
    import contextlib
    import signal

    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


def layer_env(args) -> dict[str, str]:
    """The portal (daphne and Celery) and the Django baselines read the same switch."""
    return {"CHANNEL_LAYER_BACKEND": args.layer}


def baseline_env(package: str, redis_url: str, args, **extra: str) -> dict[str, str]:
    """A Django baseline's environment: the portal's (its settings read the portal's
    config.settings) with the baseline's settings module and package path."""
    return bench_stack.bench_environment(
        DJANGO_SETTINGS_MODULE=f"baselines.{package}.settings",
        PYTHONPATH=BASELINES_PATH,
        REDIS_URL=redis_url,
        **PRODUCTION_LIKE,
        **layer_env(args),
        **extra,
    )


def baseline_daphnes(
    name: str, package: str, count: int, env: dict[str, str]
) -> tuple[list[subprocess.Popen], list[int]]:
    """`count` daphne processes serving a Django baseline, each on a free port."""
    processes, ports = [], []
    try:
        for n in range(count):
            port = free_port()
            processes.append(
                start_process(
                    name if n == 0 else f"{name}-{n}",
                    [
                        str(Path(sys.executable).parent / "daphne"),
                        "-b",
                        "127.0.0.1",
                        "-p",
                        str(port),
                        f"baselines.{package}.asgi:application",
                    ],
                    env,
                )
            )
            ports.append(port)
            bench_stack.wait_port(port, timeout=60)
    except BaseException:
        for process in processes:
            stop_process(process)
        raise
    return processes, ports


def tutorial_endpoints(ports: list[int], conversations: int) -> list[Endpoints]:
    """The tutorial chat's rooms, spread over `ports`."""
    out = []
    for n in range(conversations):
        url = f"ws://127.0.0.1:{ports[n % len(ports)]}/ws/chat/room{n}/"
        out.append(
            Endpoints(
                sender_url=url,
                receiver_url=url,
                sender_headers=[("Origin", ORIGIN)],
                receiver_headers=[("Origin", ORIGIN)],
                encode=_tutorial_encode,
                decode=_tutorial_decode,
            )
        )
    return out


def bare_relay(args) -> tuple[LoadResult, dict | None]:
    port = free_port()
    process = start_process(
        "bare-relay",
        [
            sys.executable,
            str(BENCH_ROOT / "tests/bench/baselines/bare_relay.py"),
            "--port",
            str(port),
        ],
        dict(os.environ),
    )
    try:
        bench_stack.wait_port(port)
        conversations = [
            Endpoints(
                sender_url=f"ws://127.0.0.1:{port}/room/{n}",
                receiver_url=f"ws://127.0.0.1:{port}/room/{n}",
                sender_headers=[("Origin", ORIGIN)],
                receiver_headers=[("Origin", ORIGIN)],
                encode=_plain_encode,
                decode=_plain_decode,
            )
            for n in range(args.conversations)
        ]
        result = measure(conversations, args)
        pressure = None
        if args.persist_seconds > 0:
            urls = [f"ws://127.0.0.1:{port}/room/p{n}" for n in range(args.persist_conversations)]
            pressure = asyncio.run(
                pressure_run(relay_pressure_sides(urls, lambda text: text), args.persist_seconds)
            )
        return result, pressure
    finally:
        stop_process(process)


def measure(endpoints, args) -> LoadResult:
    """The latency run over these endpoints, at the rate and for the time asked."""
    return asyncio.run(
        latency_run(endpoints, seconds=args.seconds, interval=args.interval_ms / 1000)
    )


def channels_chat(args, redis_url: str) -> tuple[LoadResult, dict | None]:
    env = baseline_env("channels_chat", redis_url, args)
    processes, ports = baseline_daphnes("channels-chat", "channels_chat", 1, env)
    try:
        result = measure(tutorial_endpoints(ports, args.conversations), args)
        pressure = None
        if args.persist_seconds > 0:
            urls = [
                f"ws://127.0.0.1:{ports[0]}/ws/chat/proom{n}/"
                for n in range(args.persist_conversations)
            ]
            sides = relay_pressure_sides(urls, lambda text: json.dumps({"message": text}))
            pressure = asyncio.run(pressure_run(sides, args.persist_seconds, copies=2))
        return result, pressure
    finally:
        for process in processes:
            stop_process(process)


def orm_chat(args, redis_url: str) -> tuple[LoadResult, int, CommitProbe, dict | None]:
    """The ORM chat on a fresh database, as many daphnes and threads as the portal.
    Returns the latencies, the rows stored in the measured window, and the disk probe."""
    import psycopg

    extra = {"BASELINE_DATABASE_URL": ORM_DATABASE_URL}
    if args.asgi_threads:
        extra["ASGI_THREADS"] = str(args.asgi_threads)
    env = baseline_env("orm_chat", redis_url, args, **extra)
    bench_stack.database_recreate(ORM_DATABASE_URL)
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "-v", "0"],
        cwd=bench_stack.CODE,
        env=env,
        check=True,
    )
    processes, ports = baseline_daphnes("orm-chat", "orm_chat", args.daphne_processes, env)
    pressure = None
    try:
        with CommitProbe() as probe:
            result = measure(tutorial_endpoints(ports, args.conversations), args)
        if args.persist_seconds > 0:
            pressure = asyncio.run(
                orm_persisted_run(ports, args.persist_conversations, args.persist_seconds)
            )
    finally:
        for process in processes:
            stop_process(process)
    count = (
        "SELECT count(*) FROM orm_chat_message "
        "WHERE created_at >= to_timestamp(%s) AND created_at < to_timestamp(%s)"
    )
    with psycopg.connect(ORM_DATABASE_URL) as conn:

        def scalar(sql: str, params: list | None = None) -> int:
            row = conn.execute(sql, params).fetchone()
            assert row is not None
            return row[0]

        stored = scalar(count, list(result.window_wall))
        if pressure is not None:
            pressure["rate"] = scalar(count, list(pressure["window_wall"])) / args.persist_seconds
            pressure["stored"] = scalar(
                "SELECT count(*) FROM orm_chat_message WHERE room LIKE 'chat_proom%%'"
            )
    return result, stored, probe, pressure


def portal_endpoints(stack: Stack, chats: list[dict]) -> list[Endpoints]:
    out = []
    for n, chat in enumerate(chats):
        port = stack.ports[n % len(stack.ports)]
        iid = chat["interaction_id"]
        out.append(
            Endpoints(
                sender_url=f"ws://127.0.0.1:{port}/ws/customer/{iid}/?token={chat['customer_token']}"
                f"&last_seq={chat['last_seq']}",
                receiver_url=f"ws://127.0.0.1:{port}/ws/chat/{iid}/?last_seq={chat['last_seq']}",
                sender_headers=[("Origin", ORIGIN)],
                receiver_headers=[("Origin", ORIGIN), ("Cookie", chat["csr_cookie"])],
                encode=_portal_encode_for(iid),
                decode=_portal_decode,
                ready=_portal_ready,
            )
        )
    return out


@dataclass(frozen=True)
class PressureSide:
    """One socket of the pressure phase: where it connects, how it words its n-th send,
    and (the portal) the frame after which it may send and which frames are acks."""

    url: str
    headers: list
    encode: Callable[[int], str]
    ready: Callable[[str], bool] | None = None
    is_ack: Callable[[str], bool] | None = None


async def pressure_run(sides: list[PressureSide], seconds: float, copies: int = 1) -> dict:
    """Every socket sends 20 at once, then 2/s (the portal's send limit: 20 per 10 s
    window per chat party); counts the frames `is_ack` picks per second over the
    window, ÷ `copies` (the portal's acks; the relays' delivered messages, of which the
    Channels chat gives each of a room's two sockets a copy). The ORM chat's rows are
    counted in the database over `window_wall`."""
    acks: list[float] = []
    errors: dict[str, int] = {}
    go = asyncio.Event()
    stop = asyncio.Event()
    opened = 0

    async def side(spec: PressureSide) -> None:
        nonlocal opened
        async with await connect(spec.url, spec.headers) as ws:
            if spec.ready is not None:
                while not spec.ready(await ws.recv()):
                    pass
            opened += 1

            async def reader() -> None:
                async for raw in ws:
                    if spec.is_ack is not None and spec.is_ack(raw):
                        acks.append(time.perf_counter())
                    elif raw.startswith('{"type": "error"'):
                        code = json.loads(raw)["code"]
                        errors[code] = errors.get(code, 0) + 1

            task = asyncio.create_task(reader())
            await go.wait()
            n = 0
            for n in range(20):  # the burst
                await ws.send(spec.encode(n))
            while not stop.is_set():
                await asyncio.sleep(0.5)  # the refill rate: 2/s
                n += 1
                await ws.send(spec.encode(n))
            await asyncio.sleep(3)
            task.cancel()

    runners = [asyncio.create_task(side(spec)) for spec in sides]
    deadline = time.monotonic() + 120
    while opened < len(runners) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    print(f"pressure run: {opened} sockets open, sending for {seconds:g} s", flush=True)
    go.set()
    began, began_wall = time.perf_counter(), time.time()
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*runners, return_exceptions=True)
    window = [t for t in acks if t <= began + seconds]
    burst_end = began + min(seconds, 10.0)
    return {
        "sockets": opened,
        "acks": len(acks),
        "rate": len(window) / seconds / copies,
        "first_10s_rate": len([t for t in acks if t <= burst_end]) / min(seconds, 10.0),
        "errors": errors,
        "window_wall": (began_wall, began_wall + seconds),
    }


def relay_pressure_sides(urls: list[str], encode: Callable[[str], str]) -> list[PressureSide]:
    """Two sockets per room URL, every frame they receive counted."""

    def encoder(prefix: str) -> Callable[[int], str]:
        return lambda k: encode(f"{prefix} {k}")

    return [
        PressureSide(
            url=url,
            headers=[("Origin", ORIGIN)],
            encode=encoder(f"{who}{n}"),
            is_ack=lambda raw: True,
        )
        for n, url in enumerate(urls)
        for who in ("c", "a")
    ]


def _portal_pressure_encode(prefix: str) -> Callable[[int], str]:
    def encode(n: int) -> str:
        kind = "burst" if n < 20 else "steady"
        return json.dumps({"type": "send", "client_msg_id": f"{prefix}-{n}", "text": f"{kind} {n}"})

    return encode


async def persisted_run(stack: Stack, chats: list[dict], seconds: float) -> dict:
    """Both sockets of every chat (two parties: the customer and the CSR) under
    pressure_run; acks (= stored messages) per second."""
    sides = []
    for k, chat in enumerate(chats):
        port = stack.ports[k % len(stack.ports)]
        iid, base = chat["interaction_id"], f"ws://127.0.0.1:{port}"
        for url, headers, prefix in (
            (
                f"{base}/ws/customer/{iid}/?token={chat['customer_token']}&last_seq=999999",
                [("Origin", ORIGIN)],
                f"pc-{iid}",
            ),
            (
                f"{base}/ws/chat/{iid}/?last_seq=999999",
                [("Origin", ORIGIN), ("Cookie", chat["csr_cookie"])],
                f"pa-{iid}",
            ),
        ):
            sides.append(
                PressureSide(
                    url=url,
                    headers=headers,
                    encode=_portal_pressure_encode(prefix),
                    ready=_portal_ready,
                    is_ack=lambda raw: raw.startswith('{"type": "ack"'),
                )
            )
    return await pressure_run(sides, seconds)


async def orm_persisted_run(ports: list[int], rooms: int, seconds: float) -> dict:
    """The ORM chat under the portal's pressure: two sockets per room."""
    urls = [f"ws://127.0.0.1:{ports[n % len(ports)]}/ws/chat/proom{n}/" for n in range(rooms)]
    sides = [
        PressureSide(url=side.url, headers=side.headers, encode=side.encode)  # rows, not frames
        for side in relay_pressure_sides(urls, lambda text: json.dumps({"message": text}))
    ]
    return await pressure_run(sides, seconds)


def portal(args, redis_url: str, chats: list[dict], persist_chats: list[dict]):
    """Returns the latencies, the rows stored in the measured window, the pressure
    phase's figures (None when skipped) and the disk probe."""
    from chat.models import Message

    env = {"REDIS_URL": redis_url, **PRODUCTION_LIKE, **layer_env(args)}
    if args.asgi_threads:
        env["ASGI_THREADS"] = str(args.asgi_threads)
    with Stack(logs=LOGS, workers=1, daphne_processes=args.daphne_processes, env=env) as stack:
        with CommitProbe() as probe:
            latency = measure(portal_endpoints(stack, chats), args)
        start, end = (datetime.fromtimestamp(t, UTC) for t in latency.window_wall)
        stored = Message.objects.filter(created_at__gte=start, created_at__lt=end).count()
        persisted = None
        if args.persist_seconds > 0:
            before = Message.objects.count()
            persisted = asyncio.run(persisted_run(stack, persist_chats, args.persist_seconds))
            persisted["stored"] = Message.objects.count() - before
            start, end = (datetime.fromtimestamp(t, UTC) for t in persisted["window_wall"])
            in_window = Message.objects.filter(created_at__gte=start, created_at__lt=end)
            persisted["stored_rate"] = in_window.count() / args.persist_seconds
        return latency, stored, persisted, probe


def stalled_share(result: LoadResult, probe: CommitProbe) -> str:
    """How many of the portal's slowest 1% of probes were in flight while a commit of the
    disk probe stalled: a stored message waits for the same WAL flush."""
    slowest = sorted(result.timed, key=lambda sample: sample[1])[
        -max(1, len(result.timed) // 100) :
    ]
    stalls = probe.stalls()
    hit = sum(
        1
        for sent, latency in slowest
        if any(start < sent + latency and sent < end for start, end in stalls)
    )
    return (
        f"{hit} of its {len(slowest)} slowest probes overlapped a commit stall of the disk "
        f"probe (> {CommitProbe.STALL_SECONDS * 1000:.0f} ms)"
    )


def run(args) -> int:
    systems = args.only or list(SYSTEMS)
    results: dict[str, LoadResult] = {}
    stored: dict[str, int] = {}
    probes: dict[str, CommitProbe] = {}
    persisted = orm_persisted = None
    relayed: dict[str, dict | None] = {}
    with RedisServer(logs=LOGS) as redis:
        bench_stack.configure(database_url=CHAT_DATABASE_URL, redis_url=redis.url, code=args.code)
        if "portal" in systems:
            bench_stack.prepare_database()
            bench_stack.setup_django(**PRODUCTION_LIKE)
            total = max(args.conversations, args.persist_conversations)
            started = time.monotonic()
            chats = bench_stack.live_chats_create(total, csrs=min(total, 100))
            print(f"created {total} live chats in {time.monotonic() - started:.1f} s")
            if args.no_sentiment:
                record = compat.app_studio_settings_get()
                record.sentiment_enabled = False
                record.save()
            from django.db import connections

            connections.close_all()
            persist = chats[: args.persist_conversations] if args.persist_seconds else []
            name = SYSTEMS["portal"]
            results[name], stored[name], persisted, probes[name] = portal(
                args, redis.url, chats[: args.conversations], persist
            )
        if "orm" in systems:
            name = SYSTEMS["orm"]
            results[name], stored[name], probes[name], orm_persisted = orm_chat(args, redis.url)
        if "channels" in systems:
            results[SYSTEMS["channels"]], relayed[SYSTEMS["channels"]] = channels_chat(
                args, redis.url
            )
        if "bare" in systems:
            results[SYSTEMS["bare"]], relayed[SYSTEMS["bare"]] = bare_relay(args)
    return report(args, results, stored, probes, persisted, orm_persisted, relayed)


def report(args, results, stored, probes, persisted, orm_persisted=None, relayed=None) -> int:
    print()
    print(f"code: {code_label()}")
    print(
        f"{args.conversations} conversations, one probe per sender every "
        f"{args.interval_ms:.0f} ms, {args.seconds:.0f} s measured, layer "
        f"{LAYERS[args.layer]}, {args.daphne_processes} daphne process(es), ASGI_THREADS "
        f"{args.asgi_threads or 'default'}, sentiment {'off' if args.no_sentiment else 'on'}"
    )
    expected = args.conversations * args.seconds / (args.interval_ms / 1000)
    table: dict[str, dict] = {}
    for name, result in results.items():
        table[name] = {
            "p50": percentile(result.latencies, 0.5) * 1000,
            "p99": percentile(result.latencies, 0.99) * 1000,
            "rate": len(result.latencies) / result.seconds,
            "persisted": stored[name] / result.seconds if name in stored else None,
            "arrived": len(result.latencies) / expected,
        }
    ours = table.get(SYSTEMS["portal"])
    print(
        f"{'system':32} {'p50 ms':>8} {'p99 ms':>8} {'msg/s':>7} {'persisted/s':>11} "
        f"{'arrived':>8}  {'portal p99 ÷ its p99':>20}"
    )
    for name, r in table.items():
        ratio = f"{ours['p99'] / r['p99']:.2f}×" if ours and r is not ours else ""
        persisted_rate = "-" if r["persisted"] is None else f"{r['persisted']:.1f}"
        print(
            f"{name:32} {r['p50']:8.1f} {r['p99']:8.1f} {r['rate']:7.1f} {persisted_rate:>11} "
            f"{r['arrived']:7.0%}  {ratio:>20}"
        )
    print("(msg/s: probes received in the window; persisted/s: rows stored with a timestamp")
    print(" in the window; arrived: probes sent in the window that reached the receiver")
    print(" before the run ended — below ~95% the system fell behind and its percentiles")
    print(" understate it)")
    for name, result in results.items():
        if result.errors:
            print(f"  {name}: socket errors {dict(result.errors)}")
        print(
            f"  {name}: {result.sent} probes sent, {len(result.latencies)} timed "
            f"(max {max(result.latencies, default=0) * 1000:.1f} ms, "
            f"mean {statistics.fmean(result.latencies or [0]) * 1000:.1f} ms)"
        )
    for name, probe in probes.items():
        print(f"  during {name}: {probe.report()}")
        print(f"  {name}: {stalled_share(results[name], probe)}")
    if persisted:
        print(
            f"persisted under pressure (portal): {persisted['sockets']} sockets, "
            f"{persisted['acks']} acks, {persisted['stored']} rows stored "
            f"({persisted['stored_rate']:.0f}/s in the window); "
            f"{persisted['rate']:.0f} acks/s over {args.persist_seconds:.0f} s (first 10 s "
            f"incl. burst: {persisted['first_10s_rate']:.0f} msg/s); errors {persisted['errors']}"
        )
    if orm_persisted:
        print(
            f"persisted under pressure (ORM chat): {orm_persisted['sockets']} sockets, "
            f"{orm_persisted['stored']} rows stored; {orm_persisted['rate']:.0f} msg/s over "
            f"{args.persist_seconds:.0f} s"
        )
    for name, pressure in (relayed or {}).items():
        if pressure:
            print(
                f"relayed under pressure ({name}): {pressure['sockets']} sockets; "
                f"{pressure['rate']:.0f} msg/s delivered over {args.persist_seconds:.0f} s"
            )
    if persisted and orm_persisted:
        ours_rate, theirs = persisted["stored_rate"], orm_persisted["rate"]
        print(
            f"rows stored per second under pressure, portal ÷ ORM chat = {ours_rate:.0f} ÷ "
            f"{theirs:.0f} = {ours_rate / max(theirs, 1):.2f}"
        )
    kept_up = all(r["arrived"] >= 0.95 for r in table.values())
    orm = table.get(SYSTEMS["orm"])
    guard = None
    if ours and orm:
        guard = ours["p99"] / orm["p99"]
        print(
            f"portal p99 ÷ ORM chat p99 = {ours['p99']:.1f} ÷ {orm['p99']:.1f} ms = "
            f"{guard:.2f} (guard ≤ {GUARD_RATIO:g})"
        )
    verdicts = []
    if guard is not None:
        verdicts.append(
            (f"p99 ≤ {GUARD_RATIO:g}× ORM chat (guard)", kept_up and guard <= GUARD_RATIO)
        )
    channels_row = table.get(SYSTEMS["channels"])
    bare_row = table.get(SYSTEMS["bare"])
    if ours and channels_row:
        verdicts.append(
            ("p99 ≤ 1.5× channels chat", kept_up and ours["p99"] <= 1.5 * channels_row["p99"])
        )
    if ours and bare_row:
        verdicts.append(("p99 ≤ 3× bare relay", kept_up and ours["p99"] <= 3 * bare_row["p99"]))
    if persisted:
        verdicts.append(("≥ 1,000 persisted msg/s", persisted["rate"] >= 1000))
    for label, ok in verdicts:
        print(f"target {label:32} {'MET' if ok else 'MISSED'}")
    if args.json_out:
        args.json_out.write_text(
            json.dumps(
                {
                    "code": str(args.code),
                    "systems": table,
                    "guard": guard,
                    "kept_up": kept_up,
                    "persisted_rate": persisted["rate"] if persisted else None,
                    "orm_persisted_rate": orm_persisted["rate"] if orm_persisted else None,
                }
            )
        )
    return 0 if all(ok for _, ok in verdicts) else 1


def compare(args) -> int:
    """--against: alternate the two checkouts, --runs each; print both medians."""
    codes = [args.code, args.against]
    results = alternate(Path(__file__), child_argv(sys.argv[1:]), codes, args.runs)
    print()
    for n, (code, r) in enumerate(results, 1):
        if not r:
            print(f"run {n}  {code}: no result (the run failed, see its output)")
            continue
        cells = ", ".join(
            f"{name.split(' (')[0]} {s['p50']:.1f}/{s['p99']:.1f}"
            for name, s in r["systems"].items()
        )
        guard = "" if r["guard"] is None else f"; guard {r['guard']:.2f}"
        pressure = "".join(
            f"; {label} {r[key]:.0f}/s"
            for label, key in (
                ("portal acks", "persisted_rate"),
                ("ORM rows", "orm_persisted_rate"),
            )
            if r.get(key) is not None
        )
        print(f"run {n}  {code}: p50/p99 ms {cells}{guard}{pressure}")
    print()
    for code in codes:
        mine = [r for c, r in results if c == code and r]
        print(f"median of {len(mine)} runs, {code_label(code)}:")
        for name in SYSTEMS.values():
            rows = [r["systems"][name] for r in mine if name in r["systems"]]
            if not rows:
                continue
            persisted = median_of(rows, "persisted")
            print(
                f"  {name:32} p50 {median_of(rows, 'p50'):7.1f} ms  p99 "
                f"{median_of(rows, 'p99'):7.1f} ms  persisted "
                f"{'-' if math.isnan(persisted) else f'{persisted:.1f}'}/s"
            )
        if any(r["guard"] is not None for r in mine):
            print(
                f"  portal p99 ÷ ORM chat p99: median {median_of(mine, 'guard'):.2f} "
                f"(guard ≤ {GUARD_RATIO:g})"
            )
    mine = [r for c, r in results if c == args.code]
    ok = all(r and (r["guard"] is None or r["guard"] <= GUARD_RATIO) for r in mine)
    return 0 if ok else 1


def child_argv(argv: list[str]) -> list[str]:
    """`argv` without --code/--against/--runs and their values."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in ("--code", "--against", "--runs"):
            skip = "=" not in arg
            continue
        out.append(arg)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--interval-ms",
        type=float,
        default=1000.0,
        help="per sender; the portal allows 2 sends/s per socket",
    )
    parser.add_argument("--persist-conversations", type=int, default=400)
    parser.add_argument("--persist-seconds", type=float, default=10.0, help="0 to skip")
    parser.add_argument("--daphne-processes", type=int, default=1)
    parser.add_argument(
        "--asgi-threads",
        type=int,
        default=0,
        help="ASGI_THREADS for the portal's daphne and the ORM chat's (default: Python's)",
    )
    parser.add_argument(
        "--layer",
        choices=sorted(LAYERS),
        default="pubsub",
        help="the channel layer of the portal and the Django baselines",
    )
    parser.add_argument(
        "--no-sentiment",
        action="store_true",
        help="switch sentiment scoring off in App Studio (the relay alone, no scoring task "
        "per customer message)",
    )
    parser.add_argument(
        "--only",
        choices=list(SYSTEMS),
        action="append",
        help="run only these systems (repeatable)",
    )
    add_compare_arguments(parser)
    args = parser.parse_args()
    if args.against:
        return compare(args)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
