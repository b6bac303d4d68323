"""manage.py seed_load: CSRs, queues and active chats in bulk, for the manager tools at
scale (500 CSRs, 50 queues, 2,000 active chats by default). Never on a real portal."""

from django.core.management.base import BaseCommand, CommandParser

from supervision.loadseed import load_clear, load_seed


class Command(BaseCommand):
    help = "Make (or replace) load data: CSRs, queues and active chats. Never on a real portal."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--csrs", type=int, default=500)
        parser.add_argument("--queues", type=int, default=50)
        parser.add_argument("--chats", type=int, default=2000, help="Active chats.")
        parser.add_argument("--waiting", type=int, default=0, help="Queued chats.")
        parser.add_argument("--clear", action="store_true", help="Only remove the load data.")

    def handle(
        self, *args, csrs: int, queues: int, chats: int, waiting: int, clear: bool, **options
    ) -> None:
        if clear:
            load_clear()
            self.stdout.write("Load data removed.")
            return
        if csrs < 1 or queues < 1 or chats < 0 or waiting < 0:
            self.stderr.write("Give at least one CSR and one queue, and no negative counts.")
            raise SystemExit(2)
        made = load_seed(csrs=csrs, queues=queues, active=chats, waiting=waiting)
        self.stdout.write(
            f"Load data: {made.csrs} CSRs, {made.queues} queues, {made.active} active and "
            f"{made.waiting} waiting chats (users load-csr0001…, password unusable)."
        )
