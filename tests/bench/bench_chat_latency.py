"""Chat latency benchmark: customer → CSR message latency and throughput of the portal's
live chat (daphne + Redis channel layer + PostgreSQL), measured in the same run against
two baselines started by the benchmark itself:

  bare relay     tests/bench/baselines/bare_relay.py — `websockets`, pairs sockets by
                 room and forwards text frames;
  channels chat  tests/bench/baselines/channels_chat/ — the Channels tutorial's group
                 chat under daphne, no persistence, the portal's channel layer config.

Run: python tests/bench/bench_chat_latency.py [--conversations 200] [--seconds 20]
         [--interval-ms 1000] [--persist-conversations 400] [--persist-seconds 10]
         [--daphne-processes 1] [--layer core|pubsub]

Every system gets the same load (tests/bench/chat_clients.py: per conversation a
sender socket and a receiver socket; the sender sends a probe carrying its send time
every --interval-ms, staggered; latency = receive time − send time). For the portal
the sender is the customer's socket and the receiver the CSR's. Then the persisted
rate: every customer and CSR socket of --persist-conversations chats sends as fast as
the per-socket rate limit allows (2/s after a burst of 20), and acks/s and stored rows
are counted. Targets: our p99 ≤ 1.5× the Channels chat's and ≤ 3× the bare relay's;
≥ 1,000 persisted messages/s. Uses its own database (portal_bench_chat) and a private
redis-server shared by the three systems.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import stack as bench_stack
from tests.bench.chat_clients import (
    ORIGIN,
    Endpoints,
    LoadResult,
    connect,
    latency_run,
)
from tests.bench.stack import (
    PRODUCTION_LIKE,
    ROOT,
    CommitProbe,
    RedisServer,
    Stack,
    free_port,
    percentile,
)

CHAT_DATABASE_URL = os.environ.get(
    "CHAT_BENCH_DATABASE_URL",
    urlunsplit((*urlsplit(bench_stack.BENCH_DATABASE_URL)[:2], "/portal_bench_chat", "", "")),
)
PADDING = "x" * 40  # probes carry ~60 characters of text, like a short chat line
LAYERS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}


# --- frame formats --------------------------------------------------------------------


LOGS = ROOT / "var" / "bench-chat-logs"  # not bench-logs: other benchmarks write there


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
    logs = LOGS
    logs.mkdir(parents=True, exist_ok=True)
    log = open(logs / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
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


def bare_relay(args) -> LoadResult:
    port = free_port()
    process = start_process(
        "bare-relay",
        [sys.executable, str(ROOT / "tests/bench/baselines/bare_relay.py"), "--port", str(port)],
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
        return asyncio.run(
            latency_run(conversations, seconds=args.seconds, interval=args.interval_ms / 1000)
        )
    finally:
        stop_process(process)


def channels_chat(args, redis_url: str) -> LoadResult:
    port = free_port()
    env = bench_stack.bench_environment(
        DJANGO_SETTINGS_MODULE="tests.bench.baselines.channels_chat.settings",
        REDIS_URL=redis_url,
        **PRODUCTION_LIKE,
        **layer_env(args),
    )
    process = start_process(
        "channels-chat",
        [
            str(Path(sys.executable).parent / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "tests.bench.baselines.channels_chat.asgi:application",
        ],
        env,
    )
    try:
        bench_stack.wait_port(port, timeout=60)
        conversations = [
            Endpoints(
                sender_url=f"ws://127.0.0.1:{port}/ws/chat/room{n}/",
                receiver_url=f"ws://127.0.0.1:{port}/ws/chat/room{n}/",
                sender_headers=[("Origin", ORIGIN)],
                receiver_headers=[("Origin", ORIGIN)],
                encode=_tutorial_encode,
                decode=_tutorial_decode,
            )
            for n in range(args.conversations)
        ]
        return asyncio.run(
            latency_run(conversations, seconds=args.seconds, interval=args.interval_ms / 1000)
        )
    finally:
        stop_process(process)


def layer_env(args) -> dict[str, str]:
    """The portal (daphne and Celery) and the Channels baseline read the same switch."""
    return {"CHANNEL_LAYER_BACKEND": args.layer}


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


async def persisted_run(stack: Stack, chats: list[dict], seconds: float) -> dict:
    """Both sockets of every chat send 20 at once, then 2/s (the per-socket limit);
    counts acks (= stored messages) per second over the window."""
    acks: list[float] = []
    errors: dict[str, int] = {}
    go = asyncio.Event()
    stop = asyncio.Event()
    opened = 0

    async def side(url: str, headers, prefix: str) -> None:
        nonlocal opened
        async with await connect(url, headers) as ws:
            while '"replay.done"' not in await ws.recv():
                pass
            opened += 1

            async def reader() -> None:
                async for raw in ws:
                    if raw.startswith('{"type": "ack"'):
                        acks.append(time.perf_counter())
                    elif raw.startswith('{"type": "error"'):
                        code = json.loads(raw)["code"]
                        errors[code] = errors.get(code, 0) + 1

            task = asyncio.create_task(reader())
            await go.wait()
            n = 0
            for n in range(20):  # the burst
                await ws.send(
                    json.dumps(
                        {"type": "send", "client_msg_id": f"{prefix}-{n}", "text": f"burst {n}"}
                    )
                )
            while not stop.is_set():
                await asyncio.sleep(0.5)  # the refill rate: 2/s
                n += 1
                await ws.send(
                    json.dumps(
                        {"type": "send", "client_msg_id": f"{prefix}-{n}", "text": f"steady {n}"}
                    )
                )
            await asyncio.sleep(3)
            task.cancel()

    tasks = []
    for k, chat in enumerate(chats):
        port = stack.ports[k % len(stack.ports)]
        iid, base = chat["interaction_id"], f"ws://127.0.0.1:{port}"
        tasks.append(
            side(
                f"{base}/ws/customer/{iid}/?token={chat['customer_token']}&last_seq=999999",
                [("Origin", ORIGIN)],
                f"pc-{iid}",
            )
        )
        tasks.append(
            side(
                f"{base}/ws/chat/{iid}/?last_seq=999999",
                [("Origin", ORIGIN), ("Cookie", chat["csr_cookie"])],
                f"pa-{iid}",
            )
        )
    runners = [asyncio.create_task(t) for t in tasks]
    deadline = time.monotonic() + 120
    while opened < len(runners) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    print(f"persisted run: {opened} sockets open, sending for {seconds:g} s", flush=True)
    go.set()
    began = time.perf_counter()
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*runners, return_exceptions=True)
    window = [t for t in acks if t <= began + seconds]
    burst_end = began + min(seconds, 10.0)
    return {
        "sockets": opened,
        "acks": len(acks),
        "rate": len(window) / seconds,
        "first_10s_rate": len([t for t in acks if t <= burst_end]) / min(seconds, 10.0),
        "errors": errors,
    }


def portal(args, redis_url: str, chats: list[dict], persist_chats: list[dict]):
    env = {"REDIS_URL": redis_url, **PRODUCTION_LIKE, **layer_env(args)}
    if args.asgi_threads:
        env["ASGI_THREADS"] = str(args.asgi_threads)
    with Stack(logs=LOGS, workers=1, daphne_processes=args.daphne_processes, env=env) as stack:
        with CommitProbe() as probe:
            latency = asyncio.run(
                latency_run(
                    portal_endpoints(stack, chats),
                    seconds=args.seconds,
                    interval=args.interval_ms / 1000,
                )
            )
        persisted = None
        if args.persist_seconds > 0:
            from chat.models import Message

            before = Message.objects.count()
            persisted = asyncio.run(persisted_run(stack, persist_chats, args.persist_seconds))
            persisted["stored"] = Message.objects.count() - before
        return latency, persisted, probe


def row(name: str, result: LoadResult) -> tuple[str, float, float, float]:
    p50 = percentile(result.latencies, 0.5) * 1000
    p99 = percentile(result.latencies, 0.99) * 1000
    return name, p50, p99, len(result.latencies) / result.seconds


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
        help="ASGI_THREADS for the portal's daphne (default: Python's, 6 here)",
    )
    parser.add_argument(
        "--layer",
        choices=sorted(LAYERS),
        default="pubsub",
        help="the channel layer of the portal and the Channels baseline",
    )
    parser.add_argument(
        "--no-sentiment",
        action="store_true",
        help="switch sentiment scoring off in App Studio (the relay alone, no scoring task "
        "per customer message)",
    )
    parser.add_argument(
        "--only",
        choices=["portal", "channels", "bare"],
        action="append",
        help="run only these systems (repeatable)",
    )
    args = parser.parse_args()
    systems = args.only or ["portal", "channels", "bare"]

    results: dict[str, LoadResult] = {}
    persisted = None
    probe: CommitProbe | None = None
    with RedisServer(logs=LOGS) as redis:
        bench_stack.configure(database_url=CHAT_DATABASE_URL, redis_url=redis.url)
        if "portal" in systems:
            bench_stack.prepare_database()
            bench_stack.setup_django(**PRODUCTION_LIKE)
            total = max(args.conversations, args.persist_conversations)
            started = time.monotonic()
            chats = bench_stack.live_chats_create(total, csrs=min(total, 100))
            print(f"created {total} live chats in {time.monotonic() - started:.1f} s")
            if args.no_sentiment:
                from chat.selectors.settings import app_studio_settings_get

                record = app_studio_settings_get()
                record.sentiment_enabled = False
                record.save()
            from django.db import connections

            connections.close_all()
            persist = chats[: args.persist_conversations] if args.persist_seconds else []
            results["portal (daphne+redis+postgres)"], persisted, probe = portal(
                args, redis.url, chats[: args.conversations], persist
            )
        if "channels" in systems:
            results["channels tutorial chat"] = channels_chat(args, redis.url)
        if "bare" in systems:
            results["bare websockets relay"] = bare_relay(args)

    print()
    print(
        f"{args.conversations} conversations, one probe per sender every "
        f"{args.interval_ms:.0f} ms, {args.seconds:.0f} s measured, layer "
        f"{LAYERS[args.layer]}, {args.daphne_processes} daphne process(es), ASGI_THREADS "
        f"{args.asgi_threads or 'default'}, sentiment {'off' if args.no_sentiment else 'on'}"
    )
    rows = [row(name, result) for name, result in results.items()]
    expected = args.conversations * args.seconds / (args.interval_ms / 1000)
    arrived = {name: len(result.latencies) / expected for name, result in results.items()}
    print(
        f"{'system':34} {'p50 ms':>8} {'p99 ms':>8} {'msg/s':>8} {'arrived':>8}  "
        f"{'ours p99 ÷ its p99':>18}"
    )
    ours = next((r for r in rows if r[0].startswith("portal")), None)
    for name, p50, p99, rate in rows:
        ratio = f"{ours[2] / p99:.2f}×" if ours and not name.startswith("portal") else ""
        print(f"{name:34} {p50:8.1f} {p99:8.1f} {rate:8.1f} {arrived[name]:7.0%}  {ratio:>18}")
    print("(arrived: probes sent in the measured window that reached the receiver before the")
    print(" run ended; below ~95% the system fell behind and its percentiles understate it)")
    for name, result in results.items():
        if result.errors:
            print(f"  {name}: socket errors {dict(result.errors)}")
        print(
            f"  {name}: {result.sent} probes sent, {len(result.latencies)} timed "
            f"(max {max(result.latencies, default=0) * 1000:.1f} ms, "
            f"mean {statistics.fmean(result.latencies or [0]) * 1000:.1f} ms)"
        )
    if probe is not None and ours:
        print(f"  {probe.report()}")
        print(f"  portal: {stalled_share(results[ours[0]], probe)}")
    if persisted:
        print(
            f"persisted: {persisted['sockets']} sockets, {persisted['acks']} acks, "
            f"{persisted['stored']} rows stored; {persisted['rate']:.0f} msg/s over "
            f"{args.persist_seconds:.0f} s (first 10 s incl. burst: "
            f"{persisted['first_10s_rate']:.0f} msg/s); errors {persisted['errors']}"
        )
    verdicts = []
    channels_row = next((r for r in rows if r[0].startswith("channels")), None)
    bare_row = next((r for r in rows if r[0].startswith("bare")), None)
    kept_up = all(share >= 0.95 for share in arrived.values())
    if ours and channels_row:
        verdicts.append(("p99 ≤ 1.5× channels chat", kept_up and ours[2] <= 1.5 * channels_row[2]))
    if ours and bare_row:
        verdicts.append(("p99 ≤ 3× bare relay", kept_up and ours[2] <= 3 * bare_row[2]))
    if persisted:
        verdicts.append(("≥ 1,000 persisted msg/s", persisted["rate"] >= 1000))
    for label, ok in verdicts:
        print(f"target {label:28} {'MET' if ok else 'MISSED'}")
    return 0 if all(ok for _, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
