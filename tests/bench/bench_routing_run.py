"""Routing-run benchmark: the wall time and CPU one routing run spends per chat it
offers, in this process, against a fresh PostgreSQL database (nothing else running).

Run: python tests/bench/bench_routing_run.py [--rounds 10] [--chats 100]

Each round queues `--chats` chats for as many free CSRs, times one route_queue over
them, then clears the offers. Rounds alternate between three modes, so that all see the
same machine and the same disk:
- as shipped: chats routed a page (routing.services.ROUTE_PAGE_SIZE) per transaction,
  with commits that do not wait for the disk (config/durability.py);
- durable commits: the same with commits that wait for the disk flush;
- chat by chat: one chat per transaction with durable commits, as routing runs worked
  before the seventh session (a transaction and seven round trips per chat).
Prints each mode's median and p90 wall time per offer, the median CPU per offer, and
the disk probe's figures.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.stack import (
    PRODUCTION_LIKE,
    CommitProbe,
    percentile,
    prepare_database,
    setup_django,
)

MODES = ("as shipped", "durable commits", "chat by chat")
PAGE_SIZE = None  # as shipped, read at start


def seed(chats: int):
    from django.contrib.auth.models import Group, User

    from chat.models import Channel, ChannelKind, Customer
    from config.users import Role
    from routing.models import CSRProfile, CSRStatus, Queue, QueueMembership

    queue = Queue.objects.create(name="Run bench", slug="run-bench", offer_timeout_seconds=30)
    channel = Channel.objects.create(
        name="Run bench web",
        slug="run-bench-web",
        kind=ChannelKind.WEB_MESSAGING,
        default_queue=queue,
    )
    group = Group.objects.get(name=Role.CSR.value)
    for n in range(chats):
        user = User.objects.create(username=f"runbench{n}")
        user.groups.add(group)
        CSRProfile.objects.create(user=user, status=CSRStatus.AVAILABLE, capacity=5)
        QueueMembership.objects.create(user=user, queue=queue, joined=True)
    customers = [
        Customer.objects.create(external_id=f"run-{n}", name=f"Customer {n}") for n in range(chats)
    ]
    return queue, channel, customers


def _mode(mode: str) -> None:
    """Set the routing code up as `mode` says (see the module's docstring)."""
    from config import durability
    from routing import services

    global PAGE_SIZE
    if PAGE_SIZE is None:
        PAGE_SIZE = services.ROUTE_PAGE_SIZE
    services.transient_commit_column = (
        durability.transient_commit_column if mode == "as shipped" else lambda: ""
    )
    services._lock_waiting_sql.cache_clear()
    services.ROUTE_PAGE_SIZE = 1 if mode == "chat by chat" else PAGE_SIZE


def one_round(queue, channel, customers) -> tuple[float, float]:
    """(wall seconds, CPU seconds) per offer of one routing run over fresh chats."""
    from chat.models import Interaction, InteractionStatus
    from routing import services
    from routing.models import Offer, OfferStatus

    Interaction.objects.bulk_create(
        Interaction(channel=channel, queue=queue, customer=customer) for customer in customers
    )
    started, cpu = time.perf_counter(), time.thread_time()
    offered = services.route_queue(queue_id=queue.pk)
    wall, cpu = time.perf_counter() - started, time.thread_time() - cpu
    assert offered == len(customers), f"offered {offered} of {len(customers)}"
    # Clear the round: the CSRs are free again and the chats leave the line.
    Offer.objects.filter(status=OfferStatus.PENDING).update(status=OfferStatus.EXPIRED)
    Interaction.objects.filter(queue=queue).exclude(status=InteractionStatus.ABANDONED).update(
        status=InteractionStatus.ABANDONED
    )
    return wall / offered, cpu / offered


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10, help="rounds per mode")
    parser.add_argument("--chats", type=int, default=100)
    args = parser.parse_args()
    prepare_database()
    setup_django(**PRODUCTION_LIKE)
    queue, channel, customers = seed(args.chats)
    one_round(queue, channel, customers)  # warm up
    results: dict[str, list[tuple[float, float]]] = {mode: [] for mode in MODES}
    with CommitProbe() as probe:
        for _ in range(args.rounds):
            for mode in MODES:
                _mode(mode)
                results[mode].append(one_round(queue, channel, customers))
    _mode("as shipped")
    for mode in MODES:
        walls = [wall for wall, _ in results[mode]]
        cpus = [cpu for _, cpu in results[mode]]
        print(
            f"{mode:16s} per offer: wall median {statistics.median(walls) * 1000:.2f} ms, "
            f"p90 {percentile(walls, 0.9) * 1000:.2f} ms; "
            f"CPU median {statistics.median(cpus) * 1000:.2f} ms (rounds of {args.chats})"
        )
    print(probe.report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
