"""Assist benchmark: with 10,000 published articles and 1,000 phrases, a customer
message → the `assist.suggestions` frame at the CSR's chat socket, and the Knowledge
search answering, on the real stack (daphne, Celery worker, Redis, PostgreSQL;
tests/bench/stack.py).

Run: python tests/bench/bench_assist.py [--articles 10000] [--phrases 1000]
         [--conversations 20] [--messages 5] [--interval-ms 2000] [--searches 300]
         [--workers 2] [--code DIR]

Suggestions: per conversation a customer socket and the CSR's panel socket; each
customer sends --messages lines (lost card, charged twice, app crash… in turn), one
every --interval-ms. A message's latency is from just before the customer's `send` to
the CSR's first `assist.suggestions` frame whose `seq` covers it. Target p95 ≤ 150 ms.
Search: --searches GET /portal-api/assist/articles/?q=… by the CSRs, four at a time,
each timed from request to the whole answer. Target p95 ≤ 100 ms. Uses its own
database (portal_bench_assist) and a private redis-server. Each worker process builds
its ranking index once (untimed warm-up; its build time is printed on its own).
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import stack as bench_stack
from tests.bench.bench_sentiment import Barrier
from tests.bench.chat_clients import ORIGIN, connect
from tests.bench.stack import ROOT, RedisServer, Stack, add_code_argument, code_label, percentile

ASSIST_DATABASE_URL = os.environ.get(
    "ASSIST_BENCH_DATABASE_URL",
    urlunsplit((*urlsplit(bench_stack.BENCH_DATABASE_URL)[:2], "/portal_bench_assist", "", "")),
)
PRODUCTION_LIKE = {**bench_stack.PRODUCTION_LIKE, "SECRET_KEY": "bench-only-" + "a" * 50}
LOGS = ROOT / "var" / "bench-assist-logs"
TARGET_SUGGEST_P95 = 0.150
TARGET_SEARCH_P95 = 0.100
LINES = [
    "Someone stole my card at the station",
    "I was charged twice for one order",
    "The app keeps crashing when I open it",
    "How do I send money to my sister in Spain?",
    "I forgot my password for online banking",
]
QUERIES = [
    "stolen card", "charged twice", "app crash", "send money abroad", "reset password",
    "statement", "overdraft interest", "direct debit cancel", "ISA", "contactless limit",
]  # fmt: skip
# Filler words for the generated articles: a Zipf-like draw from a vocabulary of
# made-up words, so that, as in a real help centre, a few words are everywhere and most
# are rare (the demo articles' own words stay as they are).
VOCABULARY = [f"w{n:04d}" for n in range(1, 5001)]
ZIPF_WEIGHTS = [1 / n for n in range(1, 5001)]


def content_create(*, articles: int, phrases: int, seed: int = 7) -> None:
    """The demo help centre and phrases, then generated articles and phrases up to the
    counts asked for (variants of the demo ones with filler sentences)."""
    from django.contrib.auth.models import User

    from assist.demo import DEMO_ARTICLES, DEMO_PHRASES, demo_assist_seed
    from assist.models import Article, ArticleStatus, Phrase
    from assist.services import article_search_vector_update, content_changed

    rng = random.Random(seed)
    demo_assist_seed()
    made = Article.objects.count()
    batch = []
    for n in range(made, articles):
        slug, title, category, tags, intents, summary, body = DEMO_ARTICLES[n % len(DEMO_ARTICLES)]
        filler = " ".join(rng.choices(VOCABULARY, ZIPF_WEIGHTS, k=120))
        batch.append(
            Article(
                title=f"{title} — note {n}", slug=f"{slug}-{n}", category=category, tags=tags,
                intents=intents, summary=summary, body=f"{body}\n\n{filler}.",
                status=ArticleStatus.PUBLISHED,
            )
        )  # fmt: skip
    Article.objects.bulk_create(batch, batch_size=1000)
    article_search_vector_update(article_ids=list(Article.objects.values_list("pk", flat=True)))
    owners = list(User.objects.filter(username__startswith="chatcsr"))
    batch = []
    for n in range(Phrase.objects.count(), phrases):
        shortcut, title, text = DEMO_PHRASES[n % len(DEMO_PHRASES)]
        filler = " ".join(rng.choices(VOCABULARY, ZIPF_WEIGHTS, k=15))
        owner = owners[n % len(owners)] if owners and n % 2 else None
        batch.append(
            Phrase(
                title=f"{title} {n}",
                text=f"{text} {filler}",
                shortcut=f"{shortcut}-{n}",
                owner=owner,
            )
        )
    Phrase.objects.bulk_create(batch, batch_size=1000)
    content_changed()


def index_build_seconds() -> float:
    from assist import ranking, selectors

    started = time.perf_counter()
    ranking.Index(list(selectors.index_entries()))
    return time.perf_counter() - started


async def conversation(
    index, chat, base, *, messages, interval, stagger, latencies, errors, connected, wait=30.0
):
    ws_base = base.replace("http://", "ws://")
    iid = chat["interaction_id"]
    customer = await connect(
        f"{ws_base}/ws/customer/{iid}/?token={chat['customer_token']}&last_seq={chat['last_seq']}",
        [("Origin", ORIGIN)],
    )
    csr = await connect(
        f"{ws_base}/ws/chat/{iid}/?last_seq={chat['last_seq']}",
        [("Origin", ORIGIN), ("Cookie", chat["csr_cookie"])],
    )
    await connected.wait()
    sent_at: dict[str, float] = {}
    seq_sent_at: dict[int, float] = {}
    done = asyncio.Event()
    timed = 0
    covered = 0

    def settle(now: float) -> None:
        nonlocal timed
        for seq in [s for s in seq_sent_at if s <= covered]:
            latencies.append(now - seq_sent_at.pop(seq))
            timed += 1
        if timed >= messages:
            done.set()

    async def read_customer() -> None:
        async for raw in customer:
            frame = json.loads(raw)
            if frame["type"] == "ack" and frame["client_msg_id"] in sent_at:
                seq_sent_at[frame["seq"]] = sent_at.pop(frame["client_msg_id"])
                settle(time.perf_counter())
            elif frame["type"] == "assist.suggestions":
                errors["suggestions reached the customer"] += 1

    async def read_csr() -> None:
        nonlocal covered
        async for raw in csr:
            frame = json.loads(raw)
            if frame["type"] == "assist.suggestions":
                if not frame["items"]:
                    errors["empty suggestions"] += 1
                covered = max(covered, frame["seq"])
                settle(time.perf_counter())

    readers = [asyncio.create_task(read_customer()), asyncio.create_task(read_csr())]
    try:
        await asyncio.sleep(stagger)
        for n in range(messages):
            client_msg_id = f"bench-{iid}-{n}"
            sent_at[client_msg_id] = time.perf_counter()
            text = LINES[(index + n) % len(LINES)]
            await customer.send(
                json.dumps({"type": "send", "client_msg_id": client_msg_id, "text": text})
            )
            await asyncio.sleep(interval)
        try:
            await asyncio.wait_for(done.wait(), timeout=wait)
        except TimeoutError:
            errors[f"no suggestions within {wait:.0f} s"] += messages - timed
    finally:
        for task in readers:
            task.cancel()
        await customer.close()
        await csr.close()


async def run(chats, base, *, messages, interval_ms, wait=30.0):
    latencies: list[float] = []
    errors: Counter = Counter()
    interval = interval_ms / 1000
    connected = Barrier(len(chats))
    await asyncio.gather(
        *(
            conversation(
                index, chat, base, messages=messages, interval=interval,
                stagger=interval * index / len(chats), latencies=latencies, errors=errors,
                connected=connected, wait=wait,
            )
            for index, chat in enumerate(chats)
        )
    )  # fmt: skip
    return latencies, dict(errors)


def searches(base: str, chats: list[dict], count: int) -> tuple[list[float], Counter]:
    errors: Counter = Counter()

    def one(n: int) -> float:
        chat = chats[n % len(chats)]
        q = QUERIES[n % len(QUERIES)]
        url = (
            f"{base}/portal-api/assist/articles/?q={quote(q)}&interaction={chat['interaction_id']}"
        )
        request = urllib.request.Request(
            url, headers={"Cookie": chat["csr_cookie"], "Accept": "application/json"}
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=10) as reply:
            body = json.loads(reply.read())
        elapsed = time.perf_counter() - started
        if not body["articles"]:
            errors[f"no article for {q!r}"] += 1
        return elapsed

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, range(20)))  # warm-up, untimed
        return list(pool.map(one, range(count))), errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--phrases", type=int, default=1_000)
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--messages", type=int, default=5, help="per conversation")
    parser.add_argument("--interval-ms", type=float, default=2000.0, help="per customer")
    parser.add_argument("--searches", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker concurrency")
    add_code_argument(parser)
    args = parser.parse_args()

    with RedisServer(logs=LOGS) as redis:
        bench_stack.configure(database_url=ASSIST_DATABASE_URL, redis_url=redis.url, code=args.code)
        bench_stack.prepare_database()
        bench_stack.setup_django(**PRODUCTION_LIKE)
        warm_up_count = 2 * args.workers
        chats = bench_stack.live_chats_create(args.conversations + warm_up_count)
        chats, warm_up_chats = chats[: args.conversations], chats[args.conversations :]
        started = time.monotonic()
        content_create(articles=args.articles, phrases=args.phrases)
        print(
            f"created {args.articles} articles and {args.phrases} phrases in "
            f"{time.monotonic() - started:.1f} s"
        )
        print(f"one ranking index build (in this process): {index_build_seconds():.2f} s")
        from django.db import connections

        connections.close_all()
        with Stack(workers=args.workers, beat=False, env=PRODUCTION_LIKE, logs=LOGS) as portal:
            # Untimed: every worker process builds its index on its first suggestion.
            _, warm_errors = asyncio.run(
                # Until every worker process has built its index (a minute on a busy box).
                run(warm_up_chats, portal.base_url, messages=3, interval_ms=500.0, wait=300.0)
            )
            if warm_errors:
                print(f"warm-up errors: {warm_errors}")
            load_before = os.getloadavg()
            latencies, errors = asyncio.run(
                run(chats, portal.base_url, messages=args.messages, interval_ms=args.interval_ms)
            )
            search_latencies, search_errors = searches(portal.base_url, chats, args.searches)
            load_after = os.getloadavg()

    print(f"code: {code_label()}")
    expected = args.conversations * args.messages
    p50, p95, p99 = (percentile(latencies, f) * 1000 for f in (0.50, 0.95, 0.99))
    print(
        f"{args.conversations} conversations, {args.messages} customer messages each, one every "
        f"{args.interval_ms:.0f} ms; Celery concurrency {args.workers}; {os.cpu_count()} CPUs"
    )
    print(
        f"message → suggestions at the CSR: p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms, "
        f"max {max(latencies, default=0) * 1000:.1f} ms, "
        f"mean {statistics.fmean(latencies or [0]) * 1000:.1f} ms "
        f"({len(latencies)} of {expected} timed)"
    )
    s50, s95, s99 = (percentile(search_latencies, f) * 1000 for f in (0.50, 0.95, 0.99))
    print(
        f"Knowledge search ({len(search_latencies)} requests, 4 at a time): p50 {s50:.1f} ms, "
        f"p95 {s95:.1f} ms, p99 {s99:.1f} ms"
    )
    print(
        "load average (1, 5, 15 min): before " + ", ".join(f"{v:.2f}" for v in load_before)
        + "; after " + ", ".join(f"{v:.2f}" for v in load_after)
    )  # fmt: skip
    errors = {**errors, **search_errors}
    if errors:
        print(f"errors: {errors}")
    suggest_ok = len(latencies) == expected and p95 <= TARGET_SUGGEST_P95 * 1000
    search_ok = s95 <= TARGET_SEARCH_P95 * 1000
    print(
        f"target suggestions p95 ≤ {TARGET_SUGGEST_P95 * 1000:.0f} ms: "
        f"{'MET' if suggest_ok else 'MISSED'}"
    )
    print(
        f"target search p95 ≤ {TARGET_SEARCH_P95 * 1000:.0f} ms: {'MET' if search_ok else 'MISSED'}"
    )
    return 0 if suggest_ok and search_ok and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
