"""Escalation POST benchmark: the CPU one POST /api/v1/escalations/ costs, in this
process, through the portal's ASGI application (no daphne, no Celery), against a fresh
PostgreSQL database and Redis.

Run: python tests/bench/bench_escalation_post.py [--posts 1000] [--csrs 100] [--code DIR]

The body is the routing benchmark's (bench_routing.py): a new customer, an intent and a
two-line bot transcript. Each POST gets a 201. Prints the median and mean CPU of this
process per POST, the mean wall time, and PostgreSQL's CPU per POST (every server
process on the machine, by psutil: run it with nothing else using PostgreSQL). The
routing tasks the POSTs queue wait in the benchmark's private redis-server, stopped at
the end; no worker runs them. --code DIR measures another checkout (default: this
repository), e.g. a git worktree of the code before a change, to compare the two.
"""

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import stack as bench_stack
from tests.bench.bench_routing import escalation_body, seed
from tests.bench.stack import (
    PRODUCTION_LIKE,
    RedisServer,
    add_code_argument,
    code_label,
    prepare_database,
    setup_django,
)

WARM_UP = 20


def postgres_cpu_seconds() -> float:
    total = 0.0
    for process in psutil.process_iter(["name"]):
        if (process.info["name"] or "").startswith("postgres"):
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
    return total


async def post(application, token: str, n: int) -> None:
    body = escalation_body(n)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/escalations/",
        "raw_path": b"/api/v1/escalations/",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
            (b"idempotency-key", f"bench-{n}".encode()),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }
    sent = False
    status: list[int] = []

    async def receive() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        return {}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await application(scope, receive, send)
    assert status == [201], f"POST {n} answered {status}"


async def measure(token: str, posts: int) -> tuple[list[float], float, float]:
    """(CPU seconds per POST, mean wall seconds, PostgreSQL CPU seconds per POST)."""
    from config.asgi import application

    for n in range(WARM_UP):
        await post(application, token, -1 - n)
    cpu: list[float] = []
    postgres_before, started = postgres_cpu_seconds(), time.perf_counter()
    for n in range(posts):
        before = time.process_time()
        await post(application, token, n)
        cpu.append(time.process_time() - before)
    wall = (time.perf_counter() - started) / posts
    return cpu, wall, (postgres_cpu_seconds() - postgres_before) / posts


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--csrs", type=int, default=100)
    add_code_argument(parser)
    args = parser.parse_args()
    with RedisServer(logs=bench_stack.ROOT / "var" / "bench-logs") as redis:
        bench_stack.configure(redis_url=redis.url, code=args.code)
        prepare_database()
        setup_django(**PRODUCTION_LIKE)
        _, token = seed(args.csrs)
        cpu, wall, postgres = asyncio.run(measure(token, args.posts))
    print(f"code: {code_label()}")
    print(
        f"escalation POST, {args.posts} in-process: "
        f"CPU median {statistics.median(cpu) * 1000:.2f} ms, "
        f"mean {statistics.mean(cpu) * 1000:.2f} ms; wall mean {wall * 1000:.2f} ms; "
        f"PostgreSQL CPU {postgres * 1000:.2f} ms per POST"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
