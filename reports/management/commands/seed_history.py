"""`manage.py seed_history --interactions N`: invented closed chats for the reports."""

import time

from django.core.management.base import BaseCommand, CommandParser

from reports.seed import history_seed


class Command(BaseCommand):
    help = (
        "Add N invented closed chats over the last --days days (queues, channels, 40 CSRs, "
        "waits, offers declined and missed, transfers, authentication, co-browse, "
        "sentiment), with their reports facts. For load tests and demos only: never on a "
        "real portal. Nothing else may write chats while it runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interactions", type=int, required=True)
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--batch", type=int, default=10000)
        parser.add_argument("--seed", type=int, default=None, help="Random seed (repeatable runs).")

    def handle(self, *args, **options) -> None:
        n = options["interactions"]
        if n < 1 or options["days"] < 1 or options["batch"] < 1:
            self.stderr.write("--interactions, --days and --batch must be at least 1.")
            raise SystemExit(2)
        began = time.monotonic()

        def progress(done: int) -> None:
            rate = done / max(time.monotonic() - began, 1e-6)
            self.stdout.write(f"{done} / {n} chats ({rate:.0f} per second)")

        history_seed(
            interactions=n,
            days=options["days"],
            batch=options["batch"],
            seed=options["seed"],
            progress=progress,
        )
        self.stdout.write(f"Seeded {n} chats in {time.monotonic() - began:.1f} s.")
