"""Transcript download benchmark: a 10,000-message conversation downloaded as
ChatTranscript.txt and ChatTranscript.json from a real daphne over HTTP, as the handling
CSR (session cookie) and as the escalating bot client (bearer token).

Run: python tests/bench/bench_transcript.py [--messages 10000] [--runs 9] [--code DIR]

Uses a database of its own (BENCH_TRANSCRIPT_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/transcripts_bench, dropped and recreated) and a
private redis-server; daphne logs to var/bench-logs-transcripts/. --code DIR measures
another checkout (default: this repository). Prints,
per download, the median / min / max time to the last byte and to the first byte, and
the size; also the time the builder takes in-process without HTTP. Target: median under
1 s for 10,000 messages (exit status 1 otherwise). Other benchmarks running at the same
time on a 2-core machine skew the figures: run it alone.
"""

import argparse
import os
import statistics
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import compat, stack

TARGET_SECONDS = 1.0
LOGS = stack.ROOT / "var" / "bench-logs-transcripts"
TRANSCRIPT_DATABASE_URL = os.environ.get(
    "BENCH_TRANSCRIPT_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/transcripts_bench"
)


def seed(message_count: int) -> tuple[int, str, str]:
    """A chat with `message_count` messages (a bot conversation, the escalation, a CSR
    joining, then customer and CSR lines, some of them multi-line), its CSR's session
    cookie and the bot client's token."""
    from django.contrib.auth.models import Group, User

    from chat.models import (
        AppStudioSettings,
        Channel,
        ChannelKind,
        Customer,
        Interaction,
        InteractionStatus,
        Message,
        SenderKind,
        SystemEvent,
    )
    from portal.services import roles_sync
    from routing.models import Queue

    roles_sync()
    AppStudioSettings.objects.update_or_create(
        pk=AppStudioSettings.SINGLETON_ID, defaults={"time_zone": "Europe/Paris"}
    )
    queue = Queue.objects.create(name="Bench", slug="bench")
    channel = Channel.objects.create(
        name="Bench web", slug="bench-web", kind=ChannelKind.WEB_MESSAGING, default_queue=queue
    )
    client, token = compat.bot_client_create(name="Bench bot", channels=[channel])
    csr = User.objects.create_user(
        username="bench-csr", password="bench-pass", first_name="Alex", last_name="Morgan"
    )
    csr.groups.add(Group.objects.get(name=compat.csr_role_name()))
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    dana = Customer.objects.create(name="Dana Reyes", external_id="bench-1")
    interaction = Interaction.objects.create(
        status=InteractionStatus.ACTIVE,
        customer=dana,
        **compat.customer_snapshot(dana),
        channel=channel,
        queue=queue,
        assigned_csr=csr,
        bot_client=client,
        created_at=start,
        accepted_at=start,
    )
    messages = []
    for n in range(message_count):
        seq = n + 1
        at = start + timedelta(seconds=3 * n)
        if n < 4:
            kind, name, pre, text = (
                (SenderKind.CUSTOMER, "Dana Reyes", True, "I was charged twice, can you help?")
                if n % 2 == 0
                else (SenderKind.BOT, "Bench bot", True, "Let me look that up for you.")
            )
            messages.append(
                Message(
                    interaction=interaction,
                    seq=seq,
                    sender_kind=kind,
                    author_name=name,
                    text=text,
                    pre_escalation=pre,
                    created_at=at,
                )
            )
            continue
        if n == 4:
            messages.append(
                Message(
                    interaction=interaction,
                    seq=seq,
                    sender_kind=SenderKind.SYSTEM,
                    text="Alex Morgan joined the chat",
                    event=SystemEvent.JOINED,
                    data={"csr": "Alex Morgan", "csr_id": csr.pk},
                    created_at=at,
                )
            )
            continue
        customer = n % 2 == 0
        text = f"Message {n}: the order number is A-{1000 + n}, and the refund is 49,90 €."
        if n % 10 == 0:
            text += "\nSecond line of a longer message.\nThird line."
        messages.append(
            Message(
                interaction=interaction,
                seq=seq,
                sender_kind=SenderKind.CUSTOMER if customer else SenderKind.CSR,
                author_name="Dana Reyes" if customer else "Alex Morgan",
                author=None if customer else csr,
                text=text,
                created_at=at,
            )
        )
    Message.objects.bulk_create(messages, batch_size=2000)
    Interaction.objects.filter(pk=interaction.pk).update(last_seq=message_count)
    return interaction.pk, stack.session_cookie(csr), token


def fetch(url: str, headers: dict[str, str]) -> tuple[float, float, int]:
    """Seconds to the first byte of the body, to the last, and the body's size."""
    request = urllib.request.Request(url, headers=headers)
    started = time.perf_counter()
    size = 0
    first = None
    with urllib.request.urlopen(request, timeout=60) as reply:
        assert reply.status == 200, reply.status
        while chunk := reply.read(65536):
            if first is None:
                first = time.perf_counter() - started
            size += len(chunk)
    return first or 0.0, time.perf_counter() - started, size


def in_process(interaction_id: int, runs: int) -> list[float]:
    """The builder and the text format alone, without HTTP."""
    from transcripts.formats import render_text
    from transcripts.selectors import Audience, transcript_build, transcript_interaction_get

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        interaction = transcript_interaction_get(interaction_id=interaction_id)
        transcript = transcript_build(interaction=interaction, audience=Audience.CONTACT_CENTER)
        for _piece in render_text(transcript):
            pass
        times.append(time.perf_counter() - started)
    return times


def report(label: str, runs: list[tuple[float, float, int]]) -> float:
    firsts = [r[0] for r in runs]
    totals = [r[1] for r in runs]
    median = statistics.median(totals)
    print(
        f"{label:<34} median {median * 1000:7.1f} ms  min {min(totals) * 1000:7.1f}  "
        f"max {max(totals) * 1000:7.1f}  first byte (median) "
        f"{statistics.median(firsts) * 1000:6.1f} ms  {runs[0][2] / 1024:,.0f} KiB"
    )
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=9)
    stack.add_code_argument(parser)
    args = parser.parse_args()
    with stack.RedisServer(logs=LOGS) as redis:
        stack.configure(database_url=TRANSCRIPT_DATABASE_URL, redis_url=redis.url, code=args.code)
        return run(args)


def run(args) -> int:
    stack.prepare_database()
    # DEBUG off like production; the same SECRET_KEY as daphne, so the cookie is valid.
    stack.setup_django(**stack.PRODUCTION_LIKE)
    interaction_id, cookie, token = seed(args.messages)
    print(f"code: {stack.code_label()}")
    print(f"{args.messages:,} messages in interaction {interaction_id}; {args.runs} runs each")
    bench = stack.Stack(workers=1, beat=False, env=stack.PRODUCTION_LIKE, logs=LOGS)
    try:
        bench.start_daphne()
        base = f"{bench.base_url}/interactions/{interaction_id}"
        api = f"{bench.base_url}/api/v1/escalations/{interaction_id}/transcript/"
        downloads = {
            "CSR  ChatTranscript.txt": (f"{base}/ChatTranscript.txt", {"Cookie": cookie}),
            "CSR  ChatTranscript.json": (f"{base}/ChatTranscript.json", {"Cookie": cookie}),
            "bot  ?format=txt": (f"{api}?format=txt", {"Authorization": f"Bearer {token}"}),
            "bot  JSON": (api, {"Authorization": f"Bearer {token}"}),
        }
        medians = {}
        for label, (url, headers) in downloads.items():
            fetch(url, headers)  # warm up: connections, caches
            medians[label] = report(label, [fetch(url, headers) for _ in range(args.runs)])
    finally:
        bench.__exit__(None, None, None)
    build = in_process(interaction_id, args.runs)
    print(
        f"{'in-process build + text render':<34} median "
        f"{statistics.median(build) * 1000:7.1f} ms  min {min(build) * 1000:7.1f}  "
        f"max {max(build) * 1000:7.1f}"
    )
    worst = max(medians.values())
    verdict = "OK" if worst < TARGET_SECONDS else "TOO SLOW"
    print(
        f"Slowest median {worst * 1000:.1f} ms; target < {TARGET_SECONDS * 1000:.0f} ms: {verdict}"
    )
    return 0 if worst < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
