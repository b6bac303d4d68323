"""Reports benchmark: every report page, the drill-down, CSV first bytes and a dashboard
of six widgets, served by a real daphne over HTTP from a database seeded with
`manage.py seed_history`; and, in the same run, the report's figures computed from the
fact tables against a straightforward annotate()/aggregate() over the raw tables
(interactions, offers, messages).

Run: python tests/bench/bench_reports.py [--interactions 1000000] [--runs 20]

Uses the database at BENCH_REPORTS_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/reports_bench). It is seeded only when it holds fewer
closed chats than --interactions (`--reseed` drops and recreates it first); seeding a
million chats takes about ten minutes here. A private redis-server is started; daphne
logs to var/bench-logs-reports/. Prints p50 / p95 / max per request; targets (exit
status 1 when missed): pages and CSV first byte p95 <= 1 s, the six-widget dashboard
p95 <= 1.5 s. Other work on the machine skews the figures: run it alone.
"""

import argparse
import http.client
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench import stack  # noqa: E402

PAGE_TARGET = 1.0
DASHBOARD_TARGET = 1.5
LOGS = ROOT / "var" / "bench-logs-reports"
DATABASE_URL = os.environ.get(
    "BENCH_REPORTS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/reports_bench"
)


def django_setup(redis_url: str) -> None:
    # The server's settings, so that the sessions made here are valid there.
    os.environ.update(stack.PRODUCTION_LIKE)
    os.environ["DATABASE_URL"] = DATABASE_URL
    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("PORTAL_VAR_DIR", str(LOGS / "var"))
    import django

    django.setup()


def seed_if_needed(n: int, reseed: bool) -> None:
    if reseed:
        stack.database_recreate(DATABASE_URL)
    env = {**os.environ, "DATABASE_URL": DATABASE_URL}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], check=True, env=env, cwd=ROOT)
    probe = "from reports.models import ChatFact; print(ChatFact.objects.count())"
    have = int(
        subprocess.run(
            [*manage, "shell", "-c", probe],
            check=True,
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.split()[-1]
    )
    if have < n:
        print(f"Seeding {n - have} chats (have {have})…", flush=True)
        subprocess.run(
            [
                *manage,
                "seed_history",
                "--interactions",
                str(n - have),
                "--batch",
                "20000",
                "--seed",
                "1",
            ],
            check=True,
            env=env,
            cwd=ROOT,
        )
        subprocess.run(["psql", DATABASE_URL, "-qc", "VACUUM ANALYZE"], check=True)


def users() -> tuple[str, str, list[dict]]:
    """Session cookies of a manager and a CSR, and the manager's six widgets."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import Group, User
    from django.contrib.sessions.backends.db import SessionStore

    from config.users import Role
    from reports.models import Dashboard
    from routing.models import Queue

    def cookie(user: User) -> str:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"

    manager, _ = User.objects.get_or_create(username="bench-manager")
    manager.groups.add(Group.objects.get_or_create(name=Role.CSR_MANAGER.value)[0])
    csr = User.objects.filter(username="history-csr-01").get()
    queue = Queue.objects.get(slug="billing").pk
    widgets = [
        {
            "kind": "chart",
            "source": "period",
            "range": "30d",
            "queue": None,
            "channel": None,
            "csr": None,
        },
        {
            "kind": "chart",
            "source": "offers",
            "range": "30d",
            "queue": None,
            "channel": None,
            "csr": None,
        },
        {
            "kind": "table",
            "source": "csr",
            "range": "7d",
            "queue": None,
            "channel": None,
            "csr": None,
        },
        {
            "kind": "table",
            "source": "queue",
            "range": "30d",
            "queue": None,
            "channel": None,
            "csr": None,
        },
        {
            "kind": "metric",
            "source": "service_level",
            "range": "today",
            "queue": None,
            "channel": None,
            "csr": None,
        },
        {
            "kind": "metric",
            "source": "wait_p90",
            "range": "30d",
            "queue": queue,
            "channel": None,
            "csr": None,
        },
    ]
    Dashboard.objects.update_or_create(
        owner=manager, name="My dashboard", defaults={"widgets": widgets}
    )
    return cookie(manager), cookie(csr), widgets


def fetch(port: int, path: str, cookie: str) -> tuple[float, float, int, int]:
    """Seconds to the first byte of the body and to the last, the status and the size."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    began = time.perf_counter()
    connection.request("GET", path, headers={"Cookie": cookie, "Host": "localhost"})
    response = connection.getresponse()
    response.read(1)
    first = time.perf_counter() - began
    size = 1 + len(response.read())
    last = time.perf_counter() - began
    connection.close()
    return first, last, response.status, size


def summary(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]  # nearest rank
    return statistics.median(ordered), p95, ordered[-1]


def baseline_figures(days: int):
    """The report's figures as a straightforward annotate()/aggregate() over the raw
    tables would compute them: per day, per queue and per CSR, with the first accept and
    the first CSR message found by subqueries on every chat."""
    from datetime import datetime, timedelta
    from datetime import time as dtime

    from django.db.models import (
        Avg,
        Count,
        DurationField,
        ExpressionWrapper,
        F,
        OuterRef,
        Q,
        Subquery,
    )
    from django.db.models.functions import TruncDate

    from chat.models import Interaction, Message
    from reports.selectors.filters import local_today, report_time_zone
    from routing.models import Offer

    tz = report_time_zone()
    end = local_today(tz)
    since = datetime.combine(end - timedelta(days=days - 1), dtime.min, tz)
    until = datetime.combine(end + timedelta(days=1), dtime.min, tz)
    chats = Interaction.objects.filter(
        created_at__gte=since, created_at__lt=until, status__in=("ended", "abandoned")
    ).annotate(
        first_accept=Subquery(
            Offer.objects.filter(interaction=OuterRef("pk"), status="accepted")
            .order_by("responded_at")
            .values("responded_at")[:1]
        ),
        first_reply=Subquery(
            Message.objects.filter(interaction=OuterRef("pk"), sender_kind="csr", internal=False)
            .order_by("seq")
            .values("created_at")[:1]
        ),
    )
    duration = DurationField()
    figures = {
        "escalations": Count("pk"),
        "abandoned": Count("pk", filter=Q(status="abandoned")),
        "wait_avg": Avg(
            ExpressionWrapper(F("first_accept") - F("created_at"), output_field=duration)
        ),
        "first_response_avg": Avg(
            ExpressionWrapper(F("first_reply") - F("first_accept"), output_field=duration)
        ),
        "handle_avg": Avg(
            ExpressionWrapper(F("ended_at") - F("first_accept"), output_field=duration)
        ),
    }
    transfers = Message.objects.filter(
        event="transferred", interaction__created_at__gte=since, interaction__created_at__lt=until
    )
    offers = Offer.objects.filter(
        interaction__created_at__gte=since, interaction__created_at__lt=until
    )
    outcomes = {
        s: Count("pk", filter=Q(status=s)) for s in ("accepted", "declined", "expired", "withdrawn")
    }
    return [
        chats.aggregate(**figures),
        list(
            chats.values(day=TruncDate("created_at", tzinfo=tz)).annotate(**figures).order_by("day")
        ),
        list(chats.values("queue").annotate(**figures).order_by("queue")),
        list(chats.values("assigned_csr").annotate(**figures).order_by("assigned_csr")),
        list(offers.values("queue").annotate(**outcomes).order_by("queue")),
        list(offers.values("csr").annotate(**outcomes).order_by("csr")),
        list(transfers.values("interaction__queue").annotate(n=Count("pk")).order_by()),
    ]


def fact_figures(days: int):
    """The same figures as the Reports page reads them, from the fact tables."""
    from datetime import timedelta

    from reports.selectors import figures
    from reports.selectors.figures import Group
    from reports.selectors.filters import ReportFilters, local_today, report_time_zone

    tz = report_time_zone()
    end = local_today(tz)
    f = ReportFilters(start=end - timedelta(days=days - 1), end=end, tz=tz)
    return [figures.totals(f)] + [
        figures.table(f, g) for g in (Group.PERIOD, Group.QUEUE, Group.CSR)
    ]


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        out.append(time.perf_counter() - began)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--baseline-runs", type=int, default=3)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    LOGS.mkdir(parents=True, exist_ok=True)
    seed_if_needed(args.interactions, args.reseed)
    with stack.RedisServer(logs=LOGS) as redis:
        django_setup(redis.url)
        from reports.models import ChatFact

        total = ChatFact.objects.count()
        manager, csr, _ = users()
        port = stack.free_port()
        env = {
            **os.environ,
            **stack.PRODUCTION_LIKE,
            "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": redis.url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "ALLOWED_HOSTS": "localhost,127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "CHANNEL_LAYER_PREFIX": "bench",
            "CACHE_KEY_PREFIX": "bench",
        }
        # DEBUG off serves the hashed static files: collect them first.
        env["STATIC_ROOT"] = str(LOGS / "static")
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "collectstatic", "--noinput", "-v0"],
            check=True,
            env=env,
            cwd=ROOT,
        )
        with (LOGS / "daphne.log").open("w") as log:
            daphne = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "config.asgi:application",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            stack.wait_port(port)
            requests = [
                ("Reports, today", "/reports/?range=today", manager, PAGE_TARGET),
                ("Reports, 7 days", "/reports/?range=7d", manager, PAGE_TARGET),
                ("Reports, 30 days", "/reports/?range=30d", manager, PAGE_TARGET),
                (
                    "Reports, 30 days, one queue",
                    "/reports/?range=30d&queue=1",
                    manager,
                    PAGE_TARGET,
                ),
                (
                    "Reports, 365 days",
                    "/reports/?range=custom&start={y0}&end={y1}",
                    manager,
                    PAGE_TARGET,
                ),
                (
                    "Drill-down, 30 days abandoned",
                    "/reports/interactions/?range=30d&metric=abandoned",
                    manager,
                    PAGE_TARGET,
                ),
                (
                    "CSV by day, 365 days",
                    "/reports/export/period.csv?range=custom&start={y0}&end={y1}",
                    manager,
                    PAGE_TARGET,
                ),
                ("CSV by CSR, 30 days", "/reports/export/csr.csv?range=30d", manager, PAGE_TARGET),
                (
                    "CSV interactions, 365 days",
                    "/reports/export/interactions.csv?range=custom&start={y0}&end={y1}",
                    manager,
                    PAGE_TARGET,
                ),
                ("Dashboard, 6 widgets", "/dashboard/", manager, DASHBOARD_TARGET),
                ("A CSR's dashboard (empty)", "/dashboard/", csr, PAGE_TARGET),
            ]
            from datetime import timedelta

            from reports.selectors.filters import local_today, report_time_zone

            today = local_today(report_time_zone())
            dates = {"y0": (today - timedelta(days=364)).isoformat(), "y1": today.isoformat()}
            print(f"{total} chats in the fact table; {args.runs} runs per request, HTTP (daphne)\n")
            head = f"{'first byte p50/p95/max (s)':>28} {'last byte p50/p95 (s)':>22}"
            print(f"{'request':<34} {head} {'size':>10}")
            failed = False
            for name, path, cookie, target in requests:
                path = path.format(**dates)
                status = fetch(port, path, cookie)[2]  # warm-up
                if status != 200:
                    print(f"{name}: HTTP {status}")
                    failed = True
                    continue
                samples = [fetch(port, path, cookie) for _ in range(args.runs)]
                f50, f95, fmax = summary([s[0] for s in samples])
                l50, l95, _ = summary([s[1] for s in samples])
                miss = " MISSED" if f95 > target else ""
                failed |= bool(miss)
                first = f"{f50:8.3f} {f95:8.3f} {fmax:8.3f}"
                print(f"{name:<34} {first} {l50:10.3f} {l95:8.3f} {samples[0][3]:>10}{miss}")
            print(
                "\nThe same figures in-process (totals, by day, by queue, by CSR, offer outcomes):"
            )
            for days in (30, 365) if args.baseline_runs else ():
                facts = summary(timed(lambda d=days: fact_figures(d), args.baseline_runs))
                raw = summary(timed(lambda d=days: baseline_figures(d), args.baseline_runs))
                print(
                    f"  {days:>3} days: fact tables median {facts[0]:.3f} s, max {facts[2]:.3f} s;"
                    f" raw annotate()/aggregate() median {raw[0]:.3f} s, max {raw[2]:.3f} s"
                    f" ({raw[0] / facts[0]:.0f}x)"
                )
        finally:
            daphne.terminate()
            try:
                daphne.wait(timeout=10)
            except subprocess.TimeoutExpired:
                daphne.kill()
                daphne.wait()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
