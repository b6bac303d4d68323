"""Upload benchmark: N concurrent uploads of a SIZE file through daphne, to the portal's
attachment upload (POST /attachments/chats/<id>/, as the customer's widget sends it)
and to a plain Django FileField upload view in the same server (tests/bench/
upload_urls.py), alternating, each round in a fresh daphne process.

Run: python tests/bench/bench_upload.py [--uploads 20] [--mb 10] [--rounds 3]

For each view and round: the wall time of each upload (first byte sent → answer), the
batch's wall time, and daphne's peak resident memory during the batch above its
resident memory before it (sampled every 5 ms with psutil), in all and per upload —
daphne's own buffering included: it queues a request's whole body for the application
as it arrives, for both views alike. Then, in this process, the Python memory Django
allocates at the peak of one upload (tracemalloc), daphne left out. The file is a PDF
header and random bytes (the portal sniffs it as application/pdf: no image
re-encoding). The check: the portal's median upload time is at most 1.5× the plain
view's, and its memory per upload stays far below the file's size (the file is
streamed to a temporary file, never held whole in memory).

Environment: BENCH_UPLOAD_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
portal_bench_upload, dropped and recreated); a private redis-server; the uploaded files
go to a temporary MEDIA_ROOT, removed at the end.
"""

import argparse
import concurrent.futures
import http.client
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import stack as bench_stack
from tests.bench.stack import (
    PRODUCTION_LIKE,
    RedisServer,
    Stack,
    live_chats_create,
    prepare_database,
    setup_django,
)

CHUNK = 256 * 1024


def multipart(size: int, boundary: str, upload_key: str) -> tuple[bytes, bytes, bytes, int]:
    """The body around the file: (head, file, tail, total length)."""
    content = b"%PDF-1.4\n" + os.urandom(size - 9)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="upload_key"\r\n\r\n'
        f'{upload_key}\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="statement.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head, content, tail, len(head) + len(content) + len(tail)


def upload(port: int, path: str, headers: dict, body: tuple[bytes, bytes, bytes, int]) -> float:
    head, content, tail, length = body
    boundary = head.split(b"\r\n", 1)[0][2:].decode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    started = time.perf_counter()
    conn.putrequest("POST", path)
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(length))
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.endheaders()
    conn.send(head)
    view = memoryview(content)
    for offset in range(0, len(content), CHUNK):
        conn.send(view[offset : offset + CHUNK])
    conn.send(tail)
    reply = conn.getresponse()
    answer = reply.read()
    elapsed = time.perf_counter() - started
    conn.close()
    if reply.status not in (200, 201):
        raise RuntimeError(f"{path}: {reply.status} {answer[:300]!r}")
    return elapsed


class PeakMemory:
    """Samples a process's resident memory every 5 ms while entered."""

    def __init__(self, pid: int):
        self.process = psutil.Process(pid)
        self.before = self.process.memory_info().rss
        self.peak = self.before
        self.stop = threading.Event()

    def __enter__(self) -> "PeakMemory":
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.005)

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


def batch(server: Stack, view: str, chats: list[dict], size: int) -> dict:
    """One round for one view in a fresh daphne: one warm-up upload, then the batch."""
    daphne = server.start_daphne()
    try:
        jobs = []
        for chat in chats:
            if view == "portal":
                path = f"/attachments/chats/{chat['interaction_id']}/"
                headers = {"Authorization": f"Customer {chat['customer_token']}"}
            else:
                path, headers = "/bench/plain-upload/", {}
            jobs.append((path, headers, multipart(size, uuid.uuid4().hex, uuid.uuid4().hex)))
        # The warm-up: one more upload to the first chat (each chat takes 30 a minute).
        path, headers, _ = jobs[0]
        upload(server.port, path, headers, multipart(size, uuid.uuid4().hex, uuid.uuid4().hex))
        with (
            PeakMemory(daphne.pid) as memory,
            concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool,
        ):
            started = time.perf_counter()
            times = list(pool.map(lambda job: upload(server.port, *job), jobs))
            wall = time.perf_counter() - started
    finally:
        server.kill_daphne()
    grown = memory.peak - memory.before
    return {
        "view": view,
        "median_s": statistics.median(times),
        "max_s": max(times),
        "wall_s": wall,
        "peak_mb": grown / 1e6,
        "per_upload_mb": grown / 1e6 / len(times),
        "uploads": len(times),
    }


def in_process_peaks(chats: list[dict], size: int, count: int) -> dict[str, float]:
    """The Python memory one upload allocates at its peak inside Django (tracemalloc,
    this process, the ASGI handler fed 64 KiB body chunks as a server would): daphne's
    own buffering left out. Sequential uploads; the median peak per view, in MB."""
    import asyncio
    import tracemalloc

    from django.core.handlers.asgi import ASGIHandler

    application = ASGIHandler()

    async def one(path: str, headers: dict, body: tuple[bytes, bytes, bytes, int]) -> int:
        head, content, tail, length = body
        boundary = head.split(b"\r\n", 1)[0][2:].decode()
        raw_headers = [
            (b"host", b"127.0.0.1"),
            (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
            (b"content-length", str(length).encode()),
            *[(name.lower().encode(), value.encode()) for name, value in headers.items()],
        ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": raw_headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        # The body's pieces, cut as they are asked for (one chunk in memory at a time).
        offsets = [None, *range(0, len(content), CHUNK), len(content)]
        index = 0
        status = 0

        async def receive() -> dict:
            nonlocal index
            if index >= len(offsets):
                # The client stays connected until the answer (Django listens for a
                # disconnect meanwhile and would drop the response).
                await asyncio.sleep(3600)
                return {"type": "http.disconnect"}
            at = offsets[index]
            if at is None:
                chunk = head
            elif at == len(content):
                chunk = tail
            else:
                chunk = content[at : at + CHUNK]
            index += 1
            return {"type": "http.request", "body": chunk, "more_body": index < len(offsets)}

        async def send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await application(scope, receive, send)
        return status

    peaks: dict[str, list[float]] = {"plain": [], "portal": []}
    for n, chat in enumerate(chats[:count]):
        for view in ("plain", "portal") if n % 2 == 0 else ("portal", "plain"):
            if view == "portal":
                path = f"/attachments/chats/{chat['interaction_id']}/"
                headers = {"Authorization": f"Customer {chat['customer_token']}"}
            else:
                path, headers = "/bench/plain-upload/", {}
            body = multipart(size, uuid.uuid4().hex, uuid.uuid4().hex)
            tracemalloc.start()
            try:
                status = asyncio.run(one(path, headers, body))
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            if status not in (200, 201):
                raise RuntimeError(f"{path}: {status}")
            peaks[view].append(peak / 1e6)
    return {view: statistics.median(values) for view, values in peaks.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--mb", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    # SIGTERM (a timeout, kill) still runs the clean-up below: daphne stops, files go.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    size = int(args.mb * 1_000_000)
    media = Path(tempfile.mkdtemp(prefix="bench-upload-media-"))
    bench_stack.configure(
        database_url=os.environ.get(
            "BENCH_UPLOAD_DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/portal_bench_upload",
        )
    )
    env = {
        **PRODUCTION_LIKE,
        "DJANGO_SETTINGS_MODULE": "tests.bench.upload_settings",
        "MEDIA_ROOT": str(media),
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    logs = bench_stack.ROOT / "var" / "bench-upload-logs"
    try:
        with RedisServer(logs=logs) as redis_server:
            bench_stack.configure(redis_url=redis_server.url)
            prepare_database()
            setup_django(**env)
            # One chat per upload and round (each chat's uploads are rate-limited), and
            # a few for the in-process measure.
            chats = live_chats_create(args.uploads * args.rounds + 4, csrs=1)
            peaks = in_process_peaks(chats[-4:], size, 4)
            print(
                f"in-process peak Python memory per upload: plain {peaks['plain']:.2f} MB, "
                f"portal {peaks['portal']:.2f} MB",
                flush=True,
            )
            server = Stack(env=env, logs=logs)
            results = []
            try:
                for n in range(args.rounds):
                    mine = chats[n * args.uploads : (n + 1) * args.uploads]
                    for view in ("plain", "portal") if n % 2 == 0 else ("portal", "plain"):
                        result = batch(server, view, mine, size)
                        results.append(result)
                        print(
                            f"round {n + 1} {view:6} {result['uploads']} uploads: median "
                            f"{result['median_s']:.2f} s, slowest {result['max_s']:.2f} s, "
                            f"batch {result['wall_s']:.2f} s, peak memory +"
                            f"{result['peak_mb']:.1f} MB ({result['per_upload_mb']:.2f} MB "
                            "per upload)",
                            flush=True,
                        )
            finally:
                server.__exit__(None, None, None)
    finally:
        shutil.rmtree(media, ignore_errors=True)

    def med(view: str, key: str) -> float:
        return statistics.median(r[key] for r in results if r["view"] == view)

    ratio = med("portal", "median_s") / med("plain", "median_s")
    print(
        f"\n{args.uploads} concurrent uploads of {args.mb:g} MB, median of {args.rounds} "
        f"rounds:\n"
        f"  plain FileField view: upload {med('plain', 'median_s'):.2f} s, batch "
        f"{med('plain', 'wall_s'):.2f} s, {med('plain', 'per_upload_mb'):.2f} MB per upload\n"
        f"  portal attachments:   upload {med('portal', 'median_s'):.2f} s, batch "
        f"{med('portal', 'wall_s'):.2f} s, {med('portal', 'per_upload_mb'):.2f} MB per upload\n"
        f"  time ratio portal/plain: {ratio:.2f} (target ≤ 1.5)\n"
        f"  in Django alone (tracemalloc peak per upload, sequential): plain "
        f"{peaks['plain']:.2f} MB, portal {peaks['portal']:.2f} MB"
    )
    if ratio > 1.5:
        raise SystemExit("FAIL: the portal's upload is more than 1.5× the plain view's time")
    if peaks["portal"] > args.mb / 2:
        raise SystemExit("FAIL: the portal held about the whole file in memory per upload")


if __name__ == "__main__":
    main()
