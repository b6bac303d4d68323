"""Co-browse relay benchmark: 50 concurrent sessions, each customer page streaming a
realistic rrweb event stream (mouse moves every batch, scrolling, typing), relayed to
its CSR's viewer. Measured in the same run, with the same frames and the same load:

  portal         /ws/cobrowse/<id>/customer/ → /ws/cobrowse/<id>/viewer/ (daphne + the
                 private Redis: one Lua call per frame keeps the page for catch-up, then
                 a channel-layer group_send); nothing is stored in the database;
  channels chat  tests/bench/baselines/channels_chat/ — the Channels tutorial's group
                 chat (no persistence, the portal's channel layer), the frame sent as its
                 `message` — as the chat benchmark starts it;
  bare relay     tests/bench/baselines/bare_relay.py — `websockets`, for reference.

Reported per system: customer frame → viewer latency p50/p99 (tests/bench/chat_clients
latency_run: sender and receiver in this process, perf_counter stamps), and the relay's
CPU per relayed frame and per rrweb event (user+system time of the relay's processes
— daphne and redis-server; the bare relay's own process — over the whole run ÷ frames
received). Then the initial full snapshot of the demo page as the customer's browser
sends it (Chromium at /usr/bin/chromium, the widget's own recorder options): bytes of
the `events` frame on the wire (uncompressed).

Targets (issue #19): portal p99 ≤ 100 ms and ≤ 1.5× the Channels chat's p99; snapshot
≤ 200 KB.

Run: python tests/bench/bench_cobrowse.py [--sessions 50] [--seconds 20]
         [--interval-ms 100] [--only portal|channels|bare|snapshot ...]
Uses its own database (portal_bench_cobrowse) and a private redis-server.
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
from tests.bench.bench_chat_latency import (
    baseline_daphnes,
    baseline_env,
    start_process,
    stop_process,
)
from tests.bench.chat_clients import ORIGIN, Endpoints, LoadResult, latency_run
from tests.bench.stack import BENCH_ROOT, PRODUCTION_LIKE, RedisServer, Stack, free_port, percentile

DATABASE_URL = os.environ.get(
    "COBROWSE_BENCH_DATABASE_URL",
    urlunsplit((*urlsplit(bench_stack.BENCH_DATABASE_URL)[:2], "/portal_bench_cobrowse", "", "")),
)
LOGS = bench_stack.ROOT / "var" / "bench-cobrowse-logs"
TARGET_P99_MS = 100.0
TARGET_RATIO = 1.5
TARGET_SNAPSHOT_BYTES = 200_000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the event stream -----------------------------------------------------------------


def batch(n: int, at: float) -> list[dict]:
    """One 100 ms batch of a customer's page, as rrweb records it: mouse positions every
    batch, a scroll every fifth, a keystroke in a text field every third. The first
    event's timestamp carries the send time (ms) for the latency."""
    x, y = 200 + (n * 7) % 600, 150 + (n * 13) % 400
    events = [
        {
            "type": 3,
            "data": {
                "source": 1,
                "positions": [
                    {"x": x + i * 3, "y": y + i * 2, "id": 40 + i, "timeOffset": -90 + 30 * i}
                    for i in range(4)
                ],
            },
            "timestamp": at * 1000,
        }
    ]
    if n % 5 == 0:
        events.append(
            {
                "type": 3,
                "data": {"source": 3, "id": 1, "x": 0, "y": (n * 37) % 1800},
                "timestamp": at * 1000,
            }
        )
    if n % 3 == 0:
        typed = "Dana Reyes, order 1017 "[: 1 + (n // 3) % 22]
        events.append(
            {
                "type": 3,
                "data": {"source": 5, "text": typed, "isChecked": False, "id": 202},
                "timestamp": at * 1000,
            }
        )
    return events


EVENTS_PER_FRAME = statistics.mean(len(batch(n, 0.0)) for n in range(30))


def customer_frame(n: int, at: float) -> str:
    return json.dumps({"type": "events", "events": batch(n, at)}, separators=(",", ":"))


FRAME_BYTES = round(statistics.mean(len(customer_frame(n, 1234.567891)) for n in range(30)))


def _stamp(text: str) -> float | None:
    """The send time from the first `"timestamp":` of a frame's text."""
    start = text.find('"timestamp":')
    if start < 0:
        return None
    start += len('"timestamp":')
    end = start
    while end < len(text) and text[end] not in ",}":
        end += 1
    return float(text[start:end]) / 1000


def portal_decode(frame: str) -> float | None:
    return _stamp(frame) if frame.startswith('{"type":"frame"') else None


def tutorial_encode(n: int, at: float) -> str:
    return json.dumps({"message": customer_frame(n, at)})


def tutorial_decode(frame: str) -> float | None:
    return _stamp(json.loads(frame)["message"])


# --- CPU of the relay ---------------------------------------------------------------


def cpu_seconds(pids: list[int]) -> float:
    """User + system time of these processes so far."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def measured(endpoints: list[Endpoints], args, pids: list[int]) -> tuple[LoadResult, float]:
    before = cpu_seconds(pids)
    result = asyncio.run(
        latency_run(endpoints, seconds=args.seconds, interval=args.interval_ms / 1000)
    )
    return result, cpu_seconds(pids) - before


# --- systems --------------------------------------------------------------------------


def sessions_create(count: int) -> list[dict]:
    """`count` live chats, each with a running co-browse session of its own CSR."""
    from django.db import connections
    from django.utils import timezone

    from chat.models import Interaction
    from cobrowse.models import CobrowseSession, SessionStatus, StartedVia

    chats = bench_stack.live_chats_create(count, csrs=count)
    csr_of = dict(
        Interaction.objects.filter(pk__in=[c["interaction_id"] for c in chats]).values_list(
            "pk", "assigned_csr_id"
        )
    )
    now = timezone.now()
    for chat in chats:
        session = CobrowseSession.objects.create(
            interaction_id=chat["interaction_id"],
            csr_id=csr_of[chat["interaction_id"]],
            status=SessionStatus.ACTIVE,
            started_via=StartedVia.ACTIONS,
            requested_at=now,
            started_at=now,
        )
        chat["session_id"] = session.pk
    connections.close_all()
    return chats


def portal(args, redis: RedisServer, chats: list[dict]) -> tuple[LoadResult, float, int | None]:
    env = {
        "REDIS_URL": redis.url,
        **PRODUCTION_LIKE,
        "DEMO_SITE_ENABLED": "true",
        # Nobody closes a panel during the run; beat's sweep must not end a session whose
        # viewer has not connected yet.
        "COBROWSE_VIEWER_GRACE_SECONDS": "3600",
    }
    with Stack(logs=LOGS, workers=1, env=env) as stack:
        endpoints = [
            Endpoints(
                sender_url=f"ws://127.0.0.1:{stack.port}/ws/cobrowse/{chat['session_id']}/customer/"
                f"?token={chat['customer_token']}",
                receiver_url=f"ws://127.0.0.1:{stack.port}/ws/cobrowse/{chat['session_id']}/viewer/",
                sender_headers=[("Origin", ORIGIN)],
                receiver_headers=[("Origin", ORIGIN), ("Cookie", chat["csr_cookie"])],
                encode=customer_frame,
                decode=portal_decode,
                ready=lambda frame: '"type": "hello"' in frame or '"type":"catchup"' in frame,
            )
            for chat in chats
        ]
        pids = [stack.daphnes[stack.port].pid, redis.process.pid]  # type: ignore[union-attr]
        result, cpu = measured(endpoints, args, pids)
    snapshot = demo_snapshot(redis) if "snapshot" in args.only else None
    return result, cpu, snapshot


def demo_snapshot(redis: RedisServer) -> int:
    """The demo page served by a daphne of its own with DEBUG on (static files from the
    apps, no collectstatic), measured in Chromium."""
    port = free_port()
    env = bench_stack.bench_environment(
        REDIS_URL=redis.url, **{**PRODUCTION_LIKE, "DEBUG": "true"}, DEMO_SITE_ENABLED="true"
    )
    process = start_process(
        "demo-daphne",
        [
            str(Path(sys.executable).parent / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "config.asgi:application",
        ],
        env,
    )
    try:
        bench_stack.wait_http(f"http://127.0.0.1:{port}/healthz", process=process, what="daphne")
        return demo_snapshot_bytes(f"http://127.0.0.1:{port}")
    finally:
        stop_process(process)


def channels_chat(args, redis: RedisServer) -> tuple[LoadResult, float]:
    env = baseline_env("channels_chat", redis.url, argparse.Namespace(layer=args.layer))
    processes, ports = baseline_daphnes("channels-chat", "channels_chat", 1, env)
    try:
        endpoints = [
            Endpoints(
                sender_url=f"ws://127.0.0.1:{ports[0]}/ws/chat/room{n}/",
                receiver_url=f"ws://127.0.0.1:{ports[0]}/ws/chat/room{n}/",
                sender_headers=[("Origin", ORIGIN)],
                receiver_headers=[("Origin", ORIGIN)],
                encode=tutorial_encode,
                decode=tutorial_decode,
            )
            for n in range(args.sessions)
        ]
        return measured(endpoints, args, [processes[0].pid, redis.process.pid])  # type: ignore[union-attr]
    finally:
        for process in processes:
            stop_process(process)


def bare_relay(args) -> tuple[LoadResult, float]:
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
        endpoints = [
            Endpoints(
                sender_url=f"ws://127.0.0.1:{port}/room/{n}",
                receiver_url=f"ws://127.0.0.1:{port}/room/{n}",
                sender_headers=[("Origin", ORIGIN)],
                receiver_headers=[("Origin", ORIGIN)],
                encode=customer_frame,
                decode=_stamp,
            )
            for n in range(args.sessions)
        ]
        return measured(endpoints, args, [process.pid])
    finally:
        stop_process(process)


SNAPSHOT_SCRIPT = """async () => {
    const ctx = {interactionId: 0, token: "", wsUrl: "/"};
    await new Promise((resolve, reject) => {
        const tag = document.createElement("script");
        tag.src = "/static/cobrowse/customer.js";
        tag.onload = resolve; tag.onerror = reject;
        document.head.append(tag);
    });
    await new Promise((resolve, reject) => {
        const tag = document.createElement("script");
        tag.src = window.PortalCobrowse.RECORDER_SRC;
        tag.onload = resolve; tag.onerror = reject;
        document.head.append(tag);
    });
    const events = [];
    const options = window.PortalCobrowse.recordOptions((e) => events.push(e));
    const stop = window.rrwebRecord.record(options);
    stop();
    const first = events.slice(0, events.findIndex((e) => e.type === 2) + 1);
    return new TextEncoder().encode(JSON.stringify({type: "events", events: first})).length;
}"""


def demo_snapshot_bytes(base_url: str) -> int:
    """The demo page's first full-snapshot frame, recorded in Chromium with the widget's
    recorder options (the page as a customer opens it, the widget closed)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_context(
                viewport={"width": 1280, "height": 800}, bypass_csp=True
            ).new_page()
            page.set_default_timeout(30_000)
            response = page.goto(f"{base_url}/demo/")
            if response is None or response.status != 200:
                raise RuntimeError(f"/demo/ answered {response and response.status}")
            page.wait_for_load_state("networkidle")
            return int(page.evaluate(SNAPSHOT_SCRIPT))
        finally:
            browser.close()


# --- report ---------------------------------------------------------------------------


def line(name: str, result: LoadResult, cpu: float) -> dict:
    latencies = [value * 1000 for value in result.latencies]
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    frames = max(1, result.received)
    row = {
        "name": name,
        "p50": p50,
        "p99": p99,
        "frames": result.received,
        "sent": result.sent,
        "cpu_ms_per_frame": cpu * 1000 / frames,
        "cpu_us_per_event": cpu * 1e6 / (frames * EVENTS_PER_FRAME),
        "errors": dict(result.errors),
    }
    print(
        f"{name:<34} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   frames {result.received:>6} of "
        f"{result.sent:>6}   CPU {row['cpu_ms_per_frame']:.3f} ms/frame "
        f"({row['cpu_us_per_event']:.1f} µs/event)"
        + (f"   errors {row['errors']}" if row["errors"] else "")
    )
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval-ms", type=float, default=100.0, help="per customer page")
    parser.add_argument("--layer", choices=["core", "pubsub"], default="pubsub")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["portal", "channels", "bare", "snapshot"],
        default=["portal", "channels", "bare", "snapshot"],
    )
    args = parser.parse_args()
    rows = []
    snapshot = None
    with RedisServer(logs=LOGS) as redis:
        bench_stack.configure(database_url=DATABASE_URL, redis_url=redis.url)
        results = {}
        if "portal" in args.only or "snapshot" in args.only:
            bench_stack.prepare_database()
            bench_stack.setup_django(**PRODUCTION_LIKE)
            started = time.monotonic()
            chats = sessions_create(args.sessions)
            print(
                f"created {args.sessions} chats with running co-browse sessions in "
                f"{time.monotonic() - started:.1f} s"
            )
            results["portal"] = portal(args, redis, chats)
            snapshot = results["portal"][2]
        if "channels" in args.only:
            results["channels"] = channels_chat(args, redis)
        if "bare" in args.only:
            results["bare"] = bare_relay(args)
    print()
    print(f"code: {bench_stack.code_label()}")
    print(
        f"{args.sessions} sessions, one frame per customer page every {args.interval_ms:g} ms "
        f"(mean {EVENTS_PER_FRAME:.2f} rrweb events, ~{FRAME_BYTES} bytes), "
        f"{args.seconds:g} s measured"
    )
    names = {
        "portal": "portal co-browse relay",
        "channels": "channels tutorial chat",
        "bare": "bare websockets relay",
    }
    by_name = {}
    for key in ("portal", "channels", "bare"):
        if key in results:
            by_name[key] = line(names[key], results[key][0], results[key][1])
            rows.append(by_name[key])
    ok = True
    if "portal" in by_name:
        p99 = by_name["portal"]["p99"]
        verdict = "ok" if p99 <= TARGET_P99_MS else "MISSED"
        ok &= p99 <= TARGET_P99_MS
        print(f"target portal p99 ≤ {TARGET_P99_MS:g} ms: {p99:.2f} ms — {verdict}")
        if "channels" in by_name:
            ratio = p99 / by_name["channels"]["p99"]
            verdict = "ok" if ratio <= TARGET_RATIO else "MISSED"
            ok &= ratio <= TARGET_RATIO
            print(
                f"target portal p99 ÷ channels chat p99 ≤ {TARGET_RATIO:g}: {ratio:.2f} — {verdict}"
            )
        if "bare" in by_name:
            print(f"portal p99 ÷ bare relay p99 (reference): {p99 / by_name['bare']['p99']:.2f}")
    if snapshot is not None:
        verdict = "ok" if snapshot <= TARGET_SNAPSHOT_BYTES else "MISSED"
        ok &= snapshot <= TARGET_SNAPSHOT_BYTES
        print(
            f"demo page initial snapshot: {snapshot:,} bytes "
            f"(target ≤ {TARGET_SNAPSHOT_BYTES:,}) — {verdict}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
