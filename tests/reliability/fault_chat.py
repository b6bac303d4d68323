"""Chat fault test: live conversations keep every message, exactly once and in order,
while daphne is killed (SIGKILL) and restarted, or while Redis is killed and restarted.

Run: python tests/reliability/fault_chat.py [--conversations 100] [--messages 20]
         [--fault daphne|redis|all]

For every conversation a customer client and a CSR client (tests/bench/chat_clients.py,
following docs/websocket-protocol.md) each send --messages messages with their own
client_msg_ids, reconnect with backoff, resume from their last seq and send unacked
messages again with the same id. Meanwhile the fault phase:
  daphne  kill -9 daphne, start a new one on the same port ~2 s later; twice.
  none    no fault: the control run.
  redis   kill -9 the test's private redis-server (never the machine's shared one),
          start it again on the same port ~2 s later; twice.
At the end each side must hold exactly the database's messages (same seqs, texts,
senders, order; no gap, no duplicate) and every client_msg_id must be stored once.
Uses its own PostgreSQL database (portal_bench_fault) and a private Redis.
"""

import argparse
import asyncio
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import stack as bench_stack
from tests.bench.chat_clients import ORIGIN, ChatClient, ChatStats
from tests.bench.stack import ROOT, RedisServer, Stack

FAULT_DATABASE_URL = os.environ.get(
    "FAULT_DATABASE_URL",
    urlunsplit((*urlsplit(bench_stack.BENCH_DATABASE_URL)[:2], "/portal_bench_fault", "", "")),
)
STALL_SECONDS = 15.0  # a client behind the others for this long asks for a replay
STALL_RESUME = True  # --no-stall-resume: protocol-only clients, to show what they miss


class Conversation:
    def __init__(self, chat: dict, base: str, messages: int, interval: float, stats: ChatStats):
        """`base`: where the sockets connect, e.g. ws://127.0.0.1:8000."""
        self.id = chat["interaction_id"]
        self.stall_resumes = 0
        self.customer = ChatClient(
            url=f"{base}/ws/customer/{self.id}/?token={chat['customer_token']}",
            headers=[("Origin", ORIGIN)],
            side="customer",
            stats=stats,
            to_send=[(f"c-{self.id}-{n}", f"customer {self.id} #{n}") for n in range(messages)],
            interval=interval,
        )
        self.csr = ChatClient(
            url=f"{base}/ws/chat/{self.id}/",
            headers=[("Origin", ORIGIN), ("Cookie", chat["csr_cookie"])],
            side="csr",
            stats=stats,
            to_send=[(f"a-{self.id}-{n}", f"csr {self.id} reply #{n}") for n in range(messages)],
            interval=interval,
        )
        for client in self.clients:
            client.to_send_all = list(client.queue)  # what verify() expects stored

    @property
    def clients(self) -> tuple[ChatClient, ChatClient]:
        return self.customer, self.csr

    async def run(self, deadline: float) -> None:
        tasks = [asyncio.create_task(c.run(deadline)) for c in self.clients]
        progress = {c.side: (0, time.monotonic()) for c in self.clients}
        while time.monotonic() < deadline and not all(t.done() for t in tasks):
            await asyncio.sleep(0.5)
            if not all(c.sends_done for c in self.clients):
                target = None
            else:
                target = max([*self.customer.acked.values(), *self.csr.acked.values()])
            for client in self.clients:
                seen, since = progress[client.side]
                if client.last_seq != seen:
                    progress[client.side] = (client.last_seq, time.monotonic())
                    continue
                behind = target is not None and client.last_seq < target
                stalled = time.monotonic() - since > STALL_SECONDS
                if behind and stalled and client.ready.is_set() and STALL_RESUME:
                    # Live delivery stalled (no frame beyond last_seq for a while): ask.
                    self.stall_resumes += 1
                    progress[client.side] = (seen, time.monotonic())
                    ws = client.ws
                    if ws is not None:
                        import json

                        await ws.send(json.dumps({"type": "resume", "last_seq": client.last_seq}))
            if target is not None and all(c.last_seq >= target for c in self.clients):
                for client in self.clients:
                    client.finish.set()
        for client in self.clients:
            client.finish.set()
        await asyncio.gather(*tasks, return_exceptions=True)


async def inject(fault: str, stack: Stack, redis: RedisServer, log: list[str], t0: float) -> None:
    """Two faults, each down ~2 s, the second once the first is over and traffic flows."""
    if fault == "none":
        return
    for _ in range(2):
        await asyncio.sleep(3.0)
        if fault == "daphne":
            await asyncio.to_thread(stack.kill_daphne)
            log.append(f"{time.monotonic() - t0:6.1f} s  daphne killed (SIGKILL)")
            await asyncio.sleep(2.0)
            await asyncio.to_thread(stack.start_daphne, mode="a")
            log.append(f"{time.monotonic() - t0:6.1f} s  daphne up again on :{stack.port}")
        else:
            await asyncio.to_thread(redis.kill)
            log.append(f"{time.monotonic() - t0:6.1f} s  redis killed (SIGKILL)")
            await asyncio.sleep(2.0)
            await asyncio.to_thread(redis.start)
            log.append(f"{time.monotonic() - t0:6.1f} s  redis up again on :{redis.port}")


LOGS = ROOT / "var" / "fault-chat-logs"  # not bench-logs: other benchmarks write there


def verify(conversations: list[Conversation]) -> tuple[list[str], Counter]:
    """Compare both sides of every conversation with the database."""
    from chat.models import Message

    rows = (
        Message.objects.filter(interaction_id__in=[c.id for c in conversations])
        .order_by("interaction_id", "seq")
        .values_list("interaction_id", "seq", "sender_kind", "text", "client_msg_id")
    )
    return compare(conversations, [tuple(row) for row in rows])


def compare(conversations: list[Conversation], rows: list[tuple]) -> tuple[list[str], Counter]:
    """Compare both sides of every conversation with the stored messages `rows`:
    (interaction_id, seq, sender_kind, text, client_msg_id), by interaction and seq.
    The problems found (none when all is well) and the counts sent / stored."""
    problems: list[str] = []
    counts: Counter = Counter()
    by_interaction: dict[int, list[tuple]] = {}
    for row in rows:
        by_interaction.setdefault(row[0], []).append(tuple(row[1:]))
    for conv in conversations:
        stored = by_interaction.get(conv.id, [])
        seqs = [row[0] for row in stored]
        if seqs != list(range(1, len(seqs) + 1)):
            problems.append(f"{conv.id}: database seqs are not 1..{len(seqs)}")
        ids = Counter(row[3] for row in stored if row[3])
        counts["stored"] += sum(ids.values())
        for client in conv.clients:
            sent = {cid for cid, _ in client.to_send_all}
            counts["sent"] += len(sent)
            missing = sent - ids.keys()
            twice = [cid for cid in sent if ids[cid] > 1]
            if missing:
                problems.append(f"{conv.id} {client.side}: {len(missing)} sent never stored")
            if twice:
                problems.append(f"{conv.id} {client.side}: {len(twice)} stored more than once")
            if client.queue or client.pending:
                problems.append(
                    f"{conv.id} {client.side}: {len(client.queue)} unsent, "
                    f"{len(client.pending)} unacked"
                )
            held = [
                (seq, m["sender_kind"], m["text"], m["client_msg_id"])
                for seq, m in sorted(client.messages.items())
            ]
            if held != stored:
                first = next(
                    (i for i, (a, b) in enumerate(zip(held, stored, strict=False)) if a != b),
                    min(len(held), len(stored)),
                )
                problems.append(
                    f"{conv.id} {client.side}: holds {len(held)} messages, database "
                    f"{len(stored)}; first difference at index {first}"
                )
            for cid, seq in client.acked.items():
                row = stored[seq - 1] if 0 < seq <= len(stored) else None
                if row is None or row[3] != cid:
                    problems.append(f"{conv.id} {client.side}: ack of {cid} names seq {seq}")
    return problems, counts


async def drive(args, fault: str, stack: Stack, redis: RedisServer, chats: list[dict]):
    stats = ChatStats()
    conversations = [
        Conversation(chat, f"ws://127.0.0.1:{stack.port}", args.messages, args.interval, stats)
        for chat in chats
    ]
    log: list[str] = []
    t0 = time.monotonic()
    deadline = t0 + args.timeout
    faults = asyncio.create_task(inject(fault, stack, redis, log, t0))
    await asyncio.gather(*(conv.run(deadline) for conv in conversations))
    await faults
    return conversations, stats, log, time.monotonic() - t0


def run_phase(args, fault: str, redis: RedisServer) -> bool:
    from django.db import connections

    connections.close_all()
    bench_stack.prepare_database()
    chats = bench_stack.live_chats_create(args.conversations)
    connections.close_all()
    print(
        f"\n=== fault: {fault} — {args.conversations} conversations × 2 sides × "
        f"{args.messages} messages ==="
    )
    with Stack(logs=LOGS, workers=1, env={"REDIS_URL": redis.url}) as stack:
        conversations, stats, log, took = asyncio.run(drive(args, fault, stack, redis, chats))
        time.sleep(1)
    for line in log:
        print(line)
    problems, counts = verify(conversations)
    stall_resumes = sum(c.stall_resumes for c in conversations)
    print(f"conversations           {len(conversations)}")
    print(f"messages sent/stored    {counts['sent']} / {counts['stored']} (unique client_msg_ids)")
    print(
        f"connects / reconnects   {stats.connects} / {stats.reconnects} "
        f"(failed connect attempts {stats.connect_failures})"
    )
    print(
        f"retried sends           {stats.retried_sends} (acked as duplicate: "
        f"{stats.duplicate_acks})"
    )
    print(f"duplicates dropped      {stats.duplicates_dropped}")
    print(f"gaps filled             {stats.gaps} (resume sent on a seq jump)")
    print(
        f"stall resumes           {stall_resumes} (client behind for {STALL_SECONDS:.0f} s "
        "with no live frame)"
    )
    print(f"resync.required         {stats.resyncs}")
    print(f"rate limited            {stats.rate_limited}")
    print(f"errors                  {dict(stats.errors)}")
    print(f"took                    {took:.1f} s")
    for problem in problems[:20]:
        print("  PROBLEM", problem)
    if len(problems) > 20:
        print(f"  … and {len(problems) - 20} more")
    ok = not problems and not stats.fatal and counts["sent"] == counts["stored"]
    for fatal in stats.fatal[:5]:
        print("  FATAL", fatal)
    print(f"RESULT ({fault})", "PASS" if ok else "FAIL")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--messages", type=int, default=20, help="per side")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between sends")
    parser.add_argument("--fault", choices=["daphne", "redis", "all", "none"], default="all")
    parser.add_argument("--timeout", type=float, default=180.0, help="per phase, seconds")
    parser.add_argument(
        "--no-stall-resume",
        action="store_true",
        help="never resume on a stall (only what the protocol asks)",
    )
    args = parser.parse_args()
    global STALL_RESUME
    STALL_RESUME = not args.no_stall_resume
    with RedisServer(logs=LOGS) as redis:
        bench_stack.configure(database_url=FAULT_DATABASE_URL, redis_url=redis.url)
        bench_stack.setup_django()
        faults = ["daphne", "redis"] if args.fault == "all" else [args.fault]
        results = [run_phase(args, fault, redis) for fault in faults]
    print("\nOVERALL", "PASS" if all(results) else "FAIL")
    return 0 if all(results) else 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(main())
