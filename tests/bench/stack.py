"""A real portal stack for benchmarks: a fresh PostgreSQL database, daphne, a Celery
worker and beat, all on this machine, started from a checkout of the portal. Benchmarks
import this; it is not a test module.

The checkout (`configure(code=...)`, the scripts' `--code DIR`) defaults to the
repository this file is in; another one (e.g. a `git worktree` of an older commit) lets
old and new code be measured alternately in one sitting with the same scripts. Its
daphne, Celery and `manage.py migrate` run from it, and setup_django() imports its
apps, so in-process seeding and measuring use its models too (tests/bench/compat.py
finds the few functions that moved).

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/portal_bench,
dropped and recreated). Redis: every benchmark starts a private, throw-away
redis-server (RedisServer) and calls configure(redis_url=...) before anything else
here; the machine's shared Redis is never used.
"""

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.bench.compat import (
    csr_role_name,
    customer_snapshot,
    customer_token_create,
    message_create,
)

BENCH_ROOT = Path(__file__).resolve().parents[2]
ROOT = BENCH_ROOT  # logs (var/) are written here, whichever checkout is measured
CODE = BENCH_ROOT  # the checkout measured: configure(code=...)
BENCH_DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench"
)
BENCH_REDIS_URL: str | None = None  # a private RedisServer's: configure(redis_url=...)

# DEBUG off (no query log, no debug cursor) for every Django process measured; plain
# HTTP on loopback, as behind a proxy that terminates TLS.
PRODUCTION_LIKE = {
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-" + "k" * 50,
    "SECURE_SSL_REDIRECT": "false",
    # One bench bot sends what a whole contact center's bots would: above the default
    # per-client limit (600/minute), which the API now enforces under concurrency too.
    "BOT_API_RATE": "100000/minute",
}


def configure(
    *,
    database_url: str | None = None,
    redis_url: str | None = None,
    code: str | Path | None = None,
) -> None:
    """Use another benchmark database, a (private) Redis, and/or another checkout of
    the portal (call before anything else here)."""
    global BENCH_DATABASE_URL, BENCH_REDIS_URL, CODE
    if database_url:
        BENCH_DATABASE_URL = database_url
    if redis_url:
        BENCH_REDIS_URL = redis_url
    if code:
        CODE = checkout(str(code))


def checkout(path: str) -> Path:
    """`path` as a portal checkout (argparse type of --code)."""
    code = Path(path).expanduser().resolve()
    if not (code / "manage.py").is_file() or not (code / "config" / "settings.py").is_file():
        raise argparse.ArgumentTypeError(f"{path} is not a checkout of the portal")
    return code


def add_code_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--code",
        type=checkout,
        default=BENCH_ROOT,
        metavar="DIR",
        help="the checkout whose daphne, Celery and models are measured (default: this "
        f"repository, {BENCH_ROOT}); e.g. a git worktree of an older commit",
    )


def add_compare_arguments(parser: argparse.ArgumentParser) -> None:
    """--code, and --against/--runs to alternate it with another checkout."""
    add_code_argument(parser)
    parser.add_argument(
        "--against",
        type=checkout,
        metavar="DIR",
        help="another checkout to alternate with --code (e.g. /work/before)",
    )
    parser.add_argument("--runs", type=int, default=1, help="with --against: runs per checkout")
    parser.add_argument("--json-out", type=lambda v: Path(v).resolve(), help=argparse.SUPPRESS)


def code_label(code: Path | None = None) -> str:
    """The checkout and its commit, for the report."""
    code = code or CODE
    try:
        commit = subprocess.run(
            ["git", "-C", str(code), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "?"
    return f"{code} (HEAD {commit})"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_environment(**extra: str) -> dict[str, str]:
    if BENCH_REDIS_URL is None:
        raise RuntimeError(
            "no Redis configured: start a stack.RedisServer and call "
            "stack.configure(redis_url=...) (benchmarks never use the shared Redis)"
        )
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=BENCH_DATABASE_URL,
        REDIS_URL=BENCH_REDIS_URL,
        DEBUG="true",
        LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        CHANNEL_LAYER_PREFIX="bench",
        CACHE_KEY_PREFIX="bench",
        PYTHONUNBUFFERED="1",  # start-up banners reach the logs at once
    )
    env.pop("PYTHONPATH", None)  # the checkout's own packages, nobody else's
    env.update(extra)
    return env


def database_recreate(url: str) -> None:
    """Drop (closing its sessions) and create the PostgreSQL database of `url`."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def prepare_database() -> None:
    """Drop and recreate the benchmark database, migrate it with the measured
    checkout's migrations, and flush the benchmark's Redis."""
    import redis

    database_recreate(BENCH_DATABASE_URL)
    redis.Redis.from_url(bench_environment()["REDIS_URL"]).flushdb()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"],
        cwd=CODE,
        env=bench_environment(),
        check=True,
    )


def setup_django(**extra: str) -> None:
    """Set up Django in this process on the measured checkout's code, with the
    environment the stack gets (plus `extra`: pass the same as Stack's env, e.g.
    SECRET_KEY, or cookies will not match). Import tests.bench.* before this: the
    portal's packages then come from the checkout alone."""
    os.environ.update(bench_environment(**extra))
    bench_root, code = str(BENCH_ROOT), str(CODE)
    if code != bench_root:
        sys.path[:] = [entry for entry in sys.path if entry != bench_root]
    sys.path.insert(0, code)
    # Celery's Django fixup puts the working directory first on sys.path while it loads.
    os.chdir(code)
    import django

    django.setup()


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


class Stack(contextlib.AbstractContextManager):
    """daphne + Celery worker + beat as child processes of the measured checkout,
    stopped on exit. Entering returns once daphne answers /healthz, the worker answers
    a ping and beat has printed its banner.

    `daphne_processes` > 1 starts that many daphne processes, each on its own port
    (`ports`; `port` is the first): clients spread themselves over them, as behind a
    load balancer. `kill_daphne()` / `start_daphne()` take one down and bring it back
    on the same port. `env` is added to every child's environment. `daphne_args` are
    added to every daphne's command line (e.g. --proxy-headers behind nginx),
    `daphne_preexec` runs in each daphne child before it starts (e.g. to raise its file
    limit), and `worker_processes` > 1 starts that many Celery workers, each with
    `workers` pool processes."""

    def __init__(
        self,
        *,
        workers: int = 2,
        daphne_processes: int = 1,
        beat: bool = True,
        env: dict[str, str] | None = None,
        logs: Path | None = None,
        daphne_args: list[str] | None = None,
        daphne_preexec=None,
        worker_processes: int = 1,
    ):
        self.daphne_args = daphne_args or []
        self.daphne_preexec = daphne_preexec
        self.worker_processes = worker_processes
        self.ports = [free_port() for _ in range(daphne_processes)]
        self.port = self.ports[0]
        self.workers = workers
        self.daphne_processes = daphne_processes
        self.beat = beat
        self.env = env or {}
        self.processes: list[subprocess.Popen] = []
        self.daphnes: dict[int, subprocess.Popen] = {}  # port → process
        self.logs = logs or ROOT / "var" / "bench-logs"
        self.bin_dir = Path(sys.executable).parent
        self.code = CODE

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _start(
        self, name: str, command: list[str], *, mode: str = "w", preexec_fn=None
    ) -> subprocess.Popen:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = open(self.logs / f"{name}.log", mode)  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            command,
            cwd=self.code,
            env=bench_environment(**self.env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=preexec_fn,
        )
        self.processes.append(process)
        return process

    def start_daphne(self, port: int | None = None, *, mode: str = "w") -> subprocess.Popen:
        """Start daphne on `port` (default: the first) and return once it answers."""
        port = port or self.port
        name = "daphne" if port == self.port else f"daphne-{self.ports.index(port)}"
        process = self._start(
            name,
            [
                str(self.bin_dir / "daphne"),
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                *self.daphne_args,
                "config.asgi:application",
            ],
            mode=mode,
            preexec_fn=self.daphne_preexec,
        )
        self.daphnes[port] = process
        wait_http(f"http://127.0.0.1:{port}/healthz", process=process, what=f"daphne :{port}")
        return process

    def kill_daphne(self, port: int | None = None, sig: int = signal.SIGKILL) -> None:
        """Kill daphne on `port` (default: the first) with `sig`; SIGKILL, like a crash."""
        process = self.daphnes.pop(port or self.port)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        process.wait(timeout=15)
        self.processes.remove(process)

    def __enter__(self) -> "Stack":
        # A benchmark stopped with SIGTERM (timeout, kill) still stops its children:
        # strays would keep consuming the next run's tasks.
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            for port in self.ports:
                self.start_daphne(port)
            # The first worker keeps its old node name and log, which scripts read.
            names = [f"bench-{self.port}"] + [
                f"bench-{self.port}-{n}" for n in range(1, self.worker_processes)
            ]
            workers = {
                name: self._start(
                    "worker" if n == 0 else f"worker-{n}",
                    [
                        str(self.bin_dir / "celery"),
                        "-A",
                        "config",
                        "worker",
                        "-l",
                        os.environ.get("BENCH_WORKER_LOG", "warning"),
                        "--concurrency",
                        str(self.workers),
                        "-O",
                        "fair",
                        "--hostname",
                        f"{name}@%h",
                    ],
                )
                for n, name in enumerate(names)
            }
            beat = None
            if self.beat:
                beat = self._start(
                    "beat",
                    [
                        str(self.bin_dir / "celery"),
                        "-A",
                        "config",
                        "beat",
                        "-l",
                        "warning",
                        "--schedule",
                        str(self.logs / "celerybeat-schedule"),
                    ],
                )
            for name, worker in workers.items():
                wait_worker(f"{name}@", process=worker)
            if beat is not None:
                # Its banner, printed whatever the log level (runportal waits for it too).
                wait_log(self.logs / "beat.log", "celery beat v", process=beat, what="beat")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)
        self.processes = []
        self.daphnes = {}


def wait_worker(
    hostname_prefix: str, *, process: subprocess.Popen | None = None, timeout: float = 90
) -> None:
    """Wait until a Celery worker whose node name starts with `hostname_prefix` answers
    a ping through the benchmark's broker (the portal's broker is REDIS_URL)."""
    from celery import Celery

    app = Celery("bench-ping", broker=bench_environment()["REDIS_URL"], set_as_current=False)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"the Celery worker exited with {process.returncode}")
            with contextlib.suppress(OSError):
                replies = app.control.ping(timeout=1.0)
                if any(name.startswith(hostname_prefix) for r in replies for name in r):
                    return
            time.sleep(0.2)
    finally:
        app.close()
    raise RuntimeError(f"the Celery worker did not answer a ping in {timeout:.0f} s")


def wait_log(
    path: Path,
    marker: str,
    *,
    process: subprocess.Popen | None = None,
    what: str = "",
    timeout: float = 60,
) -> None:
    """Wait until `marker` appears in the log file at `path`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what or path} exited with {process.returncode}")
        with contextlib.suppress(OSError):
            if marker in path.read_text(errors="replace"):
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what or path}: no {marker!r} in its log after {timeout:.0f} s")


def wait_http(
    url: str, *, process: subprocess.Popen | None = None, what: str = "", timeout: float = 60
) -> None:
    """Wait until `url` answers 200 (at most `timeout` s; fail early if `process` died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what or url} exited with {process.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(url, timeout=2) as reply,
        ):
            if reply.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what or url} did not come up in {timeout:.0f} s")


def wait_port(port: int, *, timeout: float = 30) -> None:
    """Wait until something listens on 127.0.0.1:`port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout:.0f} s")


class RedisServer(contextlib.AbstractContextManager):
    """A private, throw-away redis-server on a free port (no persistence), so a test can
    kill and restart Redis without touching the machine's shared one."""

    def __init__(self, port: int | None = None, logs: Path | None = None):
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self.logs = logs or ROOT / "var" / "bench-logs"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = open(self.logs / f"redis-{self.port}.log", "a")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--maxclients",
                "10000",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_port(self.port)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(sig)
        self.process.wait(timeout=15)
        self.process = None

    def __enter__(self) -> "RedisServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.kill(signal.SIGTERM)


def live_chats_create(count: int, *, csrs: int | None = None) -> list[dict]:
    """`count` active chats, each with an assigned CSR (one CSR per chat unless `csrs`
    says fewer), as escalation + accept would leave them: a customer, a customer token,
    the bot transcript, the escalation notice and the "joined" system message. Returns
    one dict per chat: interaction_id, customer_token, csr_cookie, last_seq. Call after
    prepare_database() and setup_django(); no CSR profile is made, so the presence
    sweeper never re-queues these chats while sockets are down."""
    from django.contrib.auth.models import Group, User
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
    from routing.models import Queue

    queue = Queue.objects.create(name="Bench chat", slug="bench-chat")
    channel = Channel.objects.create(
        name="Bench chat web",
        slug="bench-chat-web",
        kind=ChannelKind.WEB_MESSAGING,
        default_queue=queue,
    )
    group, _ = Group.objects.get_or_create(name=csr_role_name())
    users = []
    for n in range(csrs or count):
        user = User.objects.create(username=f"chatcsr{n}", first_name="CSR", last_name=str(n))
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user.groups.add(group)
        users.append(user)
    cookies = {user.pk: session_cookie(user) for user in users}
    chats = []
    now = timezone.now()
    for n in range(count):
        user = users[n % len(users)]
        customer = Customer.objects.create(name=f"Customer {n}", external_id=f"chat-cust-{n}")
        interaction = Interaction.objects.create(
            status=InteractionStatus.ACTIVE,
            customer=customer,
            **customer_snapshot(customer),
            channel=channel,
            queue=queue,
            assigned_csr=user,
            last_seq=2,
            accepted_at=now,
            queued_at=now,
        )
        Message.objects.bulk_create(
            [
                Message(
                    interaction=interaction,
                    seq=1,
                    sender_kind=SenderKind.CUSTOMER,
                    author_name=customer.name,
                    text="Hello",
                    pre_escalation=True,
                ),
                Message(
                    interaction=interaction,
                    seq=2,
                    sender_kind=SenderKind.SYSTEM,
                    text="Customer escalated to the Bench chat queue",
                    event=SystemEvent.ESCALATED,
                ),
            ]
        )
        message_create(
            interaction=interaction,
            sender_kind=SenderKind.SYSTEM,
            text=f"{user.get_full_name()} joined the chat",
            event=SystemEvent.JOINED,
        )
        token = customer_token_create(interaction=interaction)
        chats.append(
            {
                "interaction_id": interaction.pk,
                "customer_token": token,
                "csr_cookie": cookies[user.pk],
                "last_seq": 3,
            }
        )
    return chats


def session_cookie(user) -> str:
    """A real session cookie for `user` (call after setup_django)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def alternate(
    script: Path, argv: list[str], codes: list[Path], runs: int
) -> list[tuple[Path, dict]]:
    """Run `script` `runs` times per checkout in `codes`, alternating (A B A B …), each
    run in a process of its own with `--code C --json-out FILE` added to `argv`.
    Returns (checkout, the run's JSON result) in run order ({} for a run that wrote none);
    the runs' own reports go to this process's output as they come."""
    import tempfile

    results: list[tuple[Path, dict]] = []
    with tempfile.TemporaryDirectory(prefix="bench-alternate-") as tmp:
        for n in range(runs):
            for code in codes:
                out = Path(tmp) / f"run-{len(results)}.json"
                print(f"\n=== run {n + 1} of {runs}: {code_label(code)}", flush=True)
                subprocess.run(
                    [
                        sys.executable,
                        str(script),
                        *argv,
                        "--code",
                        str(code),
                        "--json-out",
                        str(out),
                    ],
                    check=False,
                )
                results.append((code, json.loads(out.read_text()) if out.exists() else {}))
    return results


def median_of(results: list[dict], key: str) -> float:
    values = [r[key] for r in results if r.get(key) is not None]
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values: list[float]) -> str:
    p50, p99 = percentile(values, 0.50) * 1000, percentile(values, 0.99) * 1000
    return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(values) * 1000:.1f} ms (n={len(values)})"


class CommitProbe(contextlib.AbstractContextManager):
    """Measures the disk under a run: a thread commits a one-row INSERT into a table of
    its own in the benchmark database every `interval` seconds, on its own connection,
    and records how long each durable COMMIT took (the WAL flush every stored message
    and escalation waits for). On the shared machines the disk's flushes stall for
    tens to hundreds of milliseconds at times, idle or not; the report prints them next
    to the latencies they add to."""

    STALL_SECONDS = 0.020

    def __init__(self, *, interval: float = 0.02) -> None:
        self.interval = interval
        self.commits: list[tuple[float, float]] = []  # (wall-clock start, seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="commit-probe", daemon=True)

    def __enter__(self) -> "CommitProbe":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(BENCH_DATABASE_URL) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS bench_commit_probe (at double precision)")
            conn.commit()
            while not self._stop.wait(self.interval):
                began, started = time.time(), time.perf_counter()
                conn.execute("INSERT INTO bench_commit_probe VALUES (%s)", [began])
                conn.commit()
                self.commits.append((began, time.perf_counter() - started))

    def stalls(self) -> list[tuple[float, float]]:
        """(start, end) wall-clock times of the commits slower than STALL_SECONDS."""
        return [(at, at + took) for at, took in self.commits if took > self.STALL_SECONDS]

    def report(self) -> str:
        took = [seconds for _, seconds in self.commits]
        if not took:
            return "disk: no commit measured"
        return (
            f"disk: durable COMMIT {summary_ms(took)}; "
            f"{len(self.stalls())} over {self.STALL_SECONDS * 1000:.0f} ms"
        )
