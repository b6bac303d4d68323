"""manage.py purge_interactions: the retention command (docs/attachments.md#retention).

Deletes ended and abandoned interactions — with their messages, files (rows and stored
files), webhook deliveries and everything else that belongs to them — either those that
closed more than --older-than DAYS ago, or every closed one of one customer
(--customer EXTERNAL_ID, an erasure request). Open chats are never deleted. Works in
batches of --batch-size interactions, one transaction each; the stored files of a batch
are deleted once it commits. An interaction another record protects (a service case,
say) is kept and counted as kept.

Every run also deletes the files uploaded but never sent in a message (a cancelled or
abandoned upload) more than --unsent-hours hours ago (default 24).
"""

from datetime import timedelta
from functools import partial
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import ProtectedError, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from chat.models import OPEN_INTERACTION_STATUSES, Attachment, Interaction
from chat.services.attachments import files_delete


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
            help="Delete the closed interactions of the customer with this external id.",
        )
        parser.add_argument("--batch-size", type=int, default=200)
        parser.add_argument(
            "--unsent-hours",
            type=int,
            default=24,
            help="Also delete files uploaded this many hours ago or more and never sent.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days, customer = options["older_than"], options["customer"]
        if days is None and not customer:
            raise CommandError("Say what to delete: --older-than DAYS and/or --customer ID.")
        if days is not None and days < 0:
            raise CommandError("--older-than must be 0 or more days.")
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        chosen = self.chosen(days=days, customer=customer)
        unsent = Attachment.objects.filter(
            message__isnull=True,
            created_at__lt=timezone.now() - timedelta(hours=max(options["unsent_hours"], 0)),
        )
        if options["dry_run"]:
            count = chosen.count()
            files = Attachment.objects.filter(interaction__in=chosen).count()
            self.stdout.write(
                f"Would delete {count} interaction(s) and {files} file(s), and "
                f"{unsent.count()} file(s) never sent."
            )
            return
        unsent_count = self.delete_unsent(unsent, batch_size)
        deleted = files = 0
        kept: set[int] = set()
        while True:
            ids = list(chosen.exclude(pk__in=kept).values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            for interaction_id in ids:
                names = self.delete_one(interaction_id)
                if names is None:
                    kept.add(interaction_id)
                    continue
                deleted += 1
                files += len([name for name in names if name])
        message = (
            f"Deleted {deleted} interaction(s) and {files} stored file(s), and "
            f"{unsent_count} file(s) never sent."
        )
        if kept:
            message += f" Kept {len(kept)} that other records still refer to."
        self.stdout.write(message)

    def chosen(self, *, days: int | None, customer: str | None) -> QuerySet[Interaction]:
        closed = Interaction.objects.exclude(status__in=OPEN_INTERACTION_STATUSES)
        if days is not None:
            cutoff = timezone.now() - timedelta(days=days)
            closed = closed.annotate(closed_at=Coalesce("ended_at", "created_at")).filter(
                closed_at__lt=cutoff
            )
        if customer:
            closed = closed.filter(Q(customer__external_id=customer))
        return closed.order_by("pk")

    def delete_unsent(self, unsent: QuerySet[Attachment], batch_size: int) -> int:
        """The never-sent uploads, a batch per transaction; their files after commit."""
        count = 0
        while True:
            with transaction.atomic():
                rows = list(
                    unsent.select_for_update().values_list("pk", "file", "thumbnail")[:batch_size]
                )
                if not rows:
                    return count
                # Only those still unsent (a send may have taken one meanwhile).
                Attachment.objects.filter(
                    pk__in=[row[0] for row in rows], message__isnull=True
                ).delete()
                names: list[str] = [name for row in rows for name in row[1:] if name]
                transaction.on_commit(partial(files_delete, names))
            count += len(rows)

    def delete_one(self, interaction_id: int) -> list[str] | None:
        """Delete one interaction and what belongs to it; its stored files go after the
        commit. None when another record protects it."""
        try:
            with transaction.atomic():
                names = []
                for file_name, thumb_name in Attachment.objects.filter(
                    interaction_id=interaction_id
                ).values_list("file", "thumbnail"):
                    names += [file_name, thumb_name]
                Interaction.objects.filter(pk=interaction_id).delete()
                transaction.on_commit(lambda: files_delete(names))
        except ProtectedError:
            return None
        return names
