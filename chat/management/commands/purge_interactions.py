"""manage.py purge_interactions: the retention command (docs/operations.md#retention).

Deletes ended and abandoned interactions — with their messages, files and everything
else that belongs to them — either those that closed more than --older-than DAYS ago,
or every closed one of one customer (--customer EXTERNAL_ID, an erasure request, which
also deletes the customer record once nothing refers to it). Open chats are never
deleted; one another record protects (a service case) is kept and counted. Every run
also deletes the files uploaded but never sent more than --unsent-hours ago. The work
is chat.services.retention's; beat runs the same purge daily when
PORTAL_RETENTION_DAYS is set.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chat.services.retention import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_UNSENT_HOURS,
    PurgeResult,
    RetentionError,
    interactions_purge,
)


class Command(BaseCommand):
    help = (
        "Delete closed interactions older than --older-than DAYS, or all closed "
        "interactions of --customer, with their messages and files."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            metavar="DAYS",
            help="Delete interactions that ended (or were abandoned) more than DAYS ago.",
        )
        parser.add_argument(
            "--customer",
            metavar="EXTERNAL_ID",
            help="Delete the closed interactions of the customer with this external id, "
            "then the customer record once nothing refers to it.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help="Interactions deleted per transaction (default %(default)s).",
        )
        parser.add_argument(
            "--unsent-hours",
            type=int,
            default=DEFAULT_UNSENT_HOURS,
            help="Also delete files uploaded this many hours ago or more and never sent.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = interactions_purge(
                older_than_days=options["older_than"],
                customer_external_id=options["customer"],
                batch_size=options["batch_size"],
                unsent_hours=options["unsent_hours"],
                dry_run=options["dry_run"],
            )
        except RetentionError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.summary(result, customer=options["customer"]))

    def summary(self, result: PurgeResult, *, customer: str | None) -> str:
        if result.dry_run:
            message = (
                f"Would delete {result.interactions} interaction(s) and {result.files} "
                f"file(s), and {result.unsent_files} file(s) never sent."
            )
        else:
            message = (
                f"Deleted {result.interactions} interaction(s) and {result.files} stored "
                f"file(s), and {result.unsent_files} file(s) never sent, in "
                f"{result.batches} batch(es)"
            )
            if result.batches:
                message += f"; longest batch {result.longest_batch_seconds:.3f} s"
            message += "."
        if result.kept:
            message += f" Kept {result.kept} that other records still refer to."
        if customer and not result.dry_run:
            message += (
                " Deleted the customer record."
                if result.customer_erased
                else " Kept the customer record: open chats or other records refer to it."
            )
        return message
