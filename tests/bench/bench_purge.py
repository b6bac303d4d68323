"""Retention purge benchmark: `manage.py purge_interactions --older-than 30` on a
PostgreSQL database seeded with 100,000 closed chats older than the retention period
(five messages, an offer, reports' facts and a customer token each; a file every 50th
chat, stored on disk) and 1,000 that must survive (open chats, old and new, and chats
closed yesterday, with the same rows).

Run: python tests/bench/bench_purge.py [--interactions 100000] [--live 1000]
     [--batch-size 500] [--collector]

Uses the database at BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/portal_bench_purge), dropped and recreated on every
run, and a media directory under /tmp. Seeding writes with COPY (reports/sql.py) and is
not measured. Prints the wall time of the command, rows deleted per second, the number
of batches and the longest one (its transaction, commit included), and checks that
everything due went and nothing else did. Target (exit status 1 when missed, or when a
check fails): the 100,000 chats in under a minute.
"""

import argparse
import io
import os
import re
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench import stack  # noqa: E402

TARGET_SECONDS = 60.0
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench_purge"
)
MESSAGES_PER_CHAT = 5
FILE_EVERY = 50
CUSTOMERS = 5000
CHUNK = 20000


def django_setup(var_dir: str) -> None:
    os.environ.update(stack.PRODUCTION_LIKE)
    os.environ.update(
        DATABASE_URL=DATABASE_URL,
        PORTAL_VAR_DIR=var_dir,
        DJANGO_SETTINGS_MODULE="config.settings",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()


def seed(n_old: int, n_live: int) -> dict:
    """The chats, their rows and files; returns the ids of the chats that must survive,
    the names of their files, and the names of the files of the chats due."""
    from django.contrib.auth.models import User
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.db import transaction
    from django.utils import timezone

    from chat.models import (
        Attachment,
        Channel,
        ChannelKind,
        Customer,
        CustomerToken,
        Interaction,
        InteractionStatus,
        Message,
        SenderKind,
    )
    from reports.models import ChatFact, EndedBy, OfferFact, OfferOutcome
    from reports.seed import Writer
    from routing.models import Offer, OfferStatus, Queue

    queue = Queue.objects.create(name="Bench", slug="bench")
    channel = Channel.objects.create(
        name="Bench", slug="bench", kind=ChannelKind.WEB_MESSAGING, default_queue=queue
    )
    csr = User.objects.create_user(username="bench-csr", password="x")
    Customer.objects.bulk_create(
        [Customer(external_id=f"bench-{n}", name=f"Customer {n}") for n in range(CUSTOMERS)],
        batch_size=5000,
    )
    customer_ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    writers = {
        model: Writer(model)
        for model in (Interaction, Message, Offer, CustomerToken, Attachment, ChatFact, OfferFact)
    }
    now = timezone.now()
    survivors: dict = {"ids": [], "files": [], "due_files": []}
    total = n_old + n_live
    next_id = {Message: 1, Attachment: 1}
    for start in range(0, total, CHUNK):
        rows: dict = {model: [] for model in writers}
        for i in range(start, min(start + CHUNK, total)):
            pk = i + 1
            live = i >= n_old
            if not live:
                created = now - timedelta(days=400) + timedelta(seconds=i)
                status, ended = InteractionStatus.ENDED, created + timedelta(minutes=10)
            elif i % 3 == 0:  # open for a year: never due, whatever its age
                created, status, ended = now - timedelta(days=365), InteractionStatus.ACTIVE, None
            elif i % 3 == 1:
                created, status, ended = now - timedelta(minutes=5), InteractionStatus.ACTIVE, None
            else:  # closed yesterday: within the retention period
                created = now - timedelta(days=1, minutes=10)
                status, ended = InteractionStatus.ENDED, now - timedelta(days=1)
            if live:
                survivors["ids"].append(pk)
            customer_id = customer_ids[i % len(customer_ids)]
            rows[Interaction].append(
                {
                    "id": pk,
                    "status": status,
                    "customer_id": customer_id,
                    "customer_name": f"Customer {customer_id}",
                    "channel_id": channel.pk,
                    "queue_id": queue.pk,
                    "assigned_csr_id": csr.pk,
                    "created_at": created,
                    "queued_at": created,
                    "offered_at": created,
                    "accepted_at": created,
                    "ended_at": ended,
                    "ended_by": "csr" if ended else "",
                    "last_seq": MESSAGES_PER_CHAT,
                }
            )
            first_message = next_id[Message]
            for seq in range(1, MESSAGES_PER_CHAT + 1):
                rows[Message].append(
                    {
                        "id": next_id[Message],
                        "interaction_id": pk,
                        "seq": seq,
                        "sender_kind": SenderKind.CUSTOMER if seq % 2 else SenderKind.CSR,
                        "text": f"Message {seq} of chat {pk}: my card was charged twice.",
                        "created_at": created + timedelta(seconds=seq),
                    }
                )
                next_id[Message] += 1
            rows[Offer].append(
                {
                    "id": pk,
                    "interaction_id": pk,
                    "csr_id": csr.pk,
                    "queue_id": queue.pk,
                    "status": OfferStatus.ACCEPTED,
                    "created_at": created,
                    "expires_at": created + timedelta(seconds=30),
                }
            )
            rows[CustomerToken].append(
                {"id": pk, "interaction_id": pk, "token_hash": f"{pk:064x}", "created_at": created}
            )
            rows[OfferFact].append(
                {
                    "offer_id": pk,
                    "interaction_id": pk,
                    "offered_at": created,
                    "queue_id": queue.pk,
                    "channel_id": channel.pk,
                    "csr_id": csr.pk,
                    "outcome": OfferOutcome.ACCEPTED,
                }
            )
            if ended:
                rows[ChatFact].append(
                    {
                        "interaction_id": pk,
                        "escalated_at": created,
                        "queue_id": queue.pk,
                        "channel_id": channel.pk,
                        "ended_by": EndedBy.CSR,
                    }
                )
            if i % FILE_EVERY == 0 or (live and i % 10 == 0):
                name = default_storage.save(
                    f"attachments/bench/{pk}.txt", ContentFile(f"statement {pk}".encode())
                )
                survivors["files" if live else "due_files"].append(name)
                rows[Attachment].append(
                    {
                        "id": next_id[Attachment],
                        "interaction_id": pk,
                        "message_id": first_message,
                        "sender_kind": SenderKind.CUSTOMER,
                        "name": "statement.txt",
                        "content_type": "text/plain",
                        "size": 20,
                        "sha256": "0" * 64,
                        "file": name,
                        "created_at": created,
                    }
                )
                next_id[Attachment] += 1
        with transaction.atomic():
            for model in (
                Interaction,
                Message,
                Offer,
                CustomerToken,
                Attachment,
                ChatFact,
                OfferFact,
            ):
                writers[model].write(rows[model])
        print(f"  seeded {min(start + CHUNK, total):,} chats", flush=True)
    _sequences_reset()
    _analyze()
    return survivors


def _sequences_reset() -> None:
    from django.core.management.color import no_style
    from django.db import connection

    from chat.models import Attachment, CustomerToken, Interaction, Message
    from routing.models import Offer

    models_ = [Interaction, Message, Offer, CustomerToken, Attachment]
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), models_):
            cursor.execute(statement)


def _analyze() -> None:
    """Statistics for the planner, as autovacuum would gather them after a bulk load."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def counts() -> dict[str, int]:
    from django.apps import apps

    labels = [
        "chat.Interaction",
        "chat.Message",
        "chat.Attachment",
        "chat.CustomerToken",
        "routing.Offer",
        "reports.ChatFact",
        "reports.OfferFact",
    ]
    return {label: apps.get_model(label).objects.count() for label in labels}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interactions", type=int, default=100_000)
    parser.add_argument("--live", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument(
        "--collector",
        action="store_true",
        help="delete through Django's collector, as without chat/sql.py (for comparison)",
    )
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="bench-purge-")
    print(f"Recreating {DATABASE_URL} …", flush=True)
    stack.database_recreate(DATABASE_URL)
    django_setup(var_dir)
    from django.core.files.storage import default_storage
    from django.core.management import call_command

    from chat.models import Interaction

    call_command("migrate", verbosity=0)
    if args.collector:
        from chat.services import retention

        retention.delete_plan = lambda: None  # type: ignore[assignment]
    started = time.monotonic()
    survivors = seed(args.interactions, args.live)
    print(f"Seeded in {time.monotonic() - started:.1f} s", flush=True)
    before = counts()

    command = ["purge_interactions", "--older-than", "30"]
    if args.batch_size:
        command += ["--batch-size", str(args.batch_size)]
    out = io.StringIO()
    started, cpu_started = time.monotonic(), time.process_time()
    call_command(*command, stdout=out)
    wall, cpu = time.monotonic() - started, time.process_time() - cpu_started
    after = counts()
    summary = out.getvalue().strip()
    match = re.search(r"in (\d+) batch\(es\); longest batch ([\d.]+) s", summary)
    assert match, summary
    batches, longest = int(match.group(1)), float(match.group(2))

    deleted = {label: before[label] - after[label] for label in before}
    rows = sum(deleted.values())
    failures = []
    if deleted["chat.Interaction"] != args.interactions:
        failures.append(f"deleted {deleted['chat.Interaction']} chats, not {args.interactions}")
    survived = Interaction.objects.filter(pk__in=survivors["ids"]).count()
    if survived != args.live or after["chat.Interaction"] != args.live:
        failures.append(f"{survived} of the {args.live} live/recent chats survived")
    if after["chat.Message"] != args.live * MESSAGES_PER_CHAT:
        failures.append(f"{after['chat.Message']} messages left")
    if after["routing.Offer"] != args.live:
        failures.append(f"{after['routing.Offer']} offers left")
    if not all(default_storage.exists(name) for name in survivors["files"]):
        failures.append("a file of a live chat was deleted")
    if any(default_storage.exists(name) for name in survivors["due_files"]):
        failures.append("a file of a deleted chat is left")
    stored = len(default_storage.listdir("attachments/bench")[1])
    if stored != len(survivors["files"]):
        failures.append(f"{stored} stored files left, not {len(survivors['files'])}")
    if wall > TARGET_SECONDS:
        failures.append(f"{wall:.1f} s is over the {TARGET_SECONDS:.0f} s target")

    print()
    how = "Django's collector" if args.collector else "set-based deletes (chat/sql.py)"
    print(f"Command: manage.py {' '.join(command)}, {how}")
    print(f"Output:  {summary}")
    print()
    print(f"{'table':<22}{'before':>12}{'deleted':>12}{'after':>10}")
    for label in before:
        print(f"{label:<22}{before[label]:>12,}{deleted[label]:>12,}{after[label]:>10,}")
    print(f"{'stored files':<22}{'':>12}{deleted['chat.Attachment']:>12,}{stored:>10,}")
    print()
    print(f"{'chats deleted':<28}{deleted['chat.Interaction']:>12,}")
    print(f"{'rows deleted (7 tables)':<28}{rows:>12,}")
    print(f"{'wall time':<28}{wall:>11.1f} s")
    print(f"{'CPU time of the command':<28}{cpu:>11.1f} s")
    print(f"{'load average (1 min)':<28}{os.getloadavg()[0]:>12.1f}")
    print(f"{'chats per second':<28}{deleted['chat.Interaction'] / wall:>12,.0f}")
    print(f"{'rows per second':<28}{rows / wall:>12,.0f}")
    print(f"{'batches':<28}{batches:>12,}")
    print(f"{'longest batch':<28}{longest:>11.3f} s")
    print(f"{'wall time / batches':<28}{wall / max(batches, 1):>11.3f} s")
    print()
    for failure in failures:
        print(f"FAILED: {failure}")
    print("OK" if not failures else "FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
