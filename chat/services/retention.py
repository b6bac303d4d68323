"""Retention: closed interactions past the retention period, or every closed one of a
customer (an erasure request), deleted with everything that belongs to them
(docs/operations.md#retention).

An interaction goes with its messages, files (rows, then the stored files once the
deletion commits), webhook deliveries, tokens, satisfaction rating, and the rows of the
apps above that cascade from it (offers, routing decisions, long waits, supervisor
joins, co-browse sessions, reports' facts); records that only mention it (manager
actions) lose the link. One a record protects (a service case) is kept and counted.
What cascades is read from the models of every installed app, so chat imports none of
them; on PostgreSQL it becomes one statement per table and batch (chat/sql.py), else
Django's collector deletes.
"""

import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, models, transaction
from django.db.models import ProtectedError, QuerySet
from django.db.models.signals import post_delete, pre_delete
from django_redis import get_redis_connection
from redis.exceptions import LockError

from chat import sql
from chat.locks import customer_lock
from chat.models import Attachment, Customer, Interaction
from chat.selectors.retention import files_unsent, interactions_due, protected_filter
from chat.services.attachments import attachment_files_delete_on_commit
from config.redis import REDIS_ERRORS

logger = logging.getLogger(__name__)

# Measured on PostgreSQL (docs/benchmarks.md#retention-purge-testsbenchbench_purgepy):
# a batch of 500 chats of five messages takes about a quarter of a second.
DEFAULT_BATCH_SIZE = 500
DEFAULT_UNSENT_HOURS = 24
# The scheduled purge holds this Redis lock, renewed after every batch, so that two
# runs never overlap; a worker that dies frees it within this long.
LOCK_NAME = "retention-purge"
LOCK_SECONDS = 300


class RetentionError(ValueError):
    """A purge asked for with options that cannot work; the message says why."""


@dataclass
class PurgeResult:
    """What a purge deleted (or, in a dry run, would delete)."""

    dry_run: bool = False
    interactions: int = 0
    files: int = 0  # stored files (a file and its thumbnail count as two)
    unsent_files: int = 0
    kept: int = 0  # due, but another record protects them
    customer_erased: bool = False
    batches: int = 0
    longest_batch_seconds: float = 0.0
    rows: Counter[str] = field(default_factory=Counter)  # deleted rows per model label


@dataclass(frozen=True)
class Step:
    """One statement of a delete plan: delete the rows of the link, or (unlink) clear
    its column."""

    link: sql.Link
    unlink: bool = False


def interactions_purge(
    *,
    older_than_days: int | None = None,
    customer_external_id: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    unsent_hours: int = DEFAULT_UNSENT_HOURS,
    dry_run: bool = False,
    on_batch: Callable[[PurgeResult], None] | None = None,
) -> PurgeResult:
    """Delete the closed interactions that ended more than `older_than_days` ago and/or
    those of the customer with `customer_external_id` (then the customer too, once
    nothing refers to it), and the uploads never sent for `unsent_hours`. Works in
    batches of `batch_size` interactions, one short transaction each, skipping rows
    another transaction holds (the next run takes them); `on_batch` is called after
    each."""
    if older_than_days is None and not customer_external_id:
        raise RetentionError("Say what to delete: --older-than DAYS and/or --customer ID.")
    if older_than_days is not None and older_than_days < 0:
        raise RetentionError("--older-than must be 0 or more days.")
    if batch_size < 1:
        raise RetentionError("--batch-size must be at least 1.")
    if (
        customer_external_id
        and not Customer.objects.filter(external_id=customer_external_id).exists()
    ):
        raise RetentionError(f"No customer has the external id {customer_external_id!r}.")
    due = interactions_due(
        older_than_days=older_than_days, customer_external_id=customer_external_id
    )
    unsent = files_unsent(older_than_hours=unsent_hours)
    result = PurgeResult(dry_run=dry_run, kept=due.filter(protected_filter()).count())
    candidates = due.exclude(protected_filter())
    if dry_run:
        result.interactions = candidates.count()
        result.files = len(_stored_names(Attachment.objects.filter(interaction__in=candidates)))
        result.unsent_files = unsent.count()
        return result
    _unsent_delete(unsent, batch_size, result, on_batch)
    plan = delete_plan() if connection.vendor == "postgresql" else None
    last_id = 0
    while ids := list(candidates.filter(pk__gt=last_id).values_list("pk", flat=True)[:batch_size]):
        last_id = ids[-1]
        try:
            _batch_delete(due, ids, result, plan)
        except (ProtectedError, IntegrityError) as error:
            # A record came to protect one of them since the batch was read: one by one,
            # through the collector, which names what protects it.
            logger.warning("Retention purge: a batch is retried chat by chat: %s", error)
            for interaction_id in ids:
                try:
                    _batch_delete(due, [interaction_id], result, None)
                except ProtectedError:
                    result.kept += 1
        if on_batch is not None:
            on_batch(result)
    if customer_external_id:
        result.customer_erased = _customer_erase(customer_external_id, result)
    return result


@contextlib.contextmanager
def _timed(result: PurgeResult) -> Iterator[None]:
    """Keeps the longest batch's time: its transaction, commit included."""
    started = time.monotonic()
    try:
        yield
    finally:
        elapsed = time.monotonic() - started
        result.longest_batch_seconds = max(result.longest_batch_seconds, elapsed)


def _batch_delete(
    due: QuerySet[Interaction], ids: list[int], result: PurgeResult, plan: list[Step] | None
) -> None:
    """One batch in one transaction: those of `ids` still due and not held by another
    transaction are deleted, by the plan's statements or else by Django's collector;
    their stored files go after the commit."""
    with _timed(result), transaction.atomic():
        locked = list(
            due.filter(pk__in=ids)
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", flat=True)
        )
        if not locked:
            return
        names = _stored_names(Attachment.objects.filter(interaction_id__in=locked))
        if plan is None:
            _, counts = Interaction.objects.filter(pk__in=locked).delete()
        else:
            counts = {}
            for step in plan:
                if step.unlink:
                    sql.rows_unlink(step.link, locked)
                else:
                    label = step.link.model._meta.label
                    counts[label] = counts.get(label, 0) + sql.rows_delete(step.link, locked)
        attachment_files_delete_on_commit(names)
    result.batches += 1
    result.interactions += counts.get(Interaction._meta.label, 0)
    result.files += len(names)
    result.rows.update({label: count for label, count in counts.items() if count})


def delete_plan() -> list[Step] | None:
    """The statements that delete a batch of interactions as Django's collector would
    (every CASCADE, children first; SET_NULL columns cleared), read from the models of
    every installed app. None when a relation needs the collector itself: delete
    signals, many-to-many or generic relations, other on_delete rules, cycles."""
    root = sql.Link(Interaction, Interaction._meta.get_field("id").column or "id")
    steps: list[Step] = []
    if not _plan_children(root, steps, seen=(Interaction,)):
        return None
    return [*steps, Step(root)]


def _plan_children(link: sql.Link, steps: list[Step], seen: tuple[type, ...]) -> bool:
    model = link.model
    if (
        pre_delete.has_listeners(model)
        or post_delete.has_listeners(model)
        or model._meta.many_to_many
        or model._meta.private_fields
    ):
        return False
    for relation in model._meta.get_fields(include_hidden=True):
        if not isinstance(relation, models.ForeignObjectRel):
            continue
        if isinstance(relation, models.ManyToManyRel):
            return False
        child, field = relation.related_model, relation.field
        column, target = field.column, field.target_field.column
        if not isinstance(child, type) or column is None or target is None:
            return False
        child_link = sql.Link(child, column, target, link)
        if relation.on_delete is models.CASCADE:
            if child in seen or not _plan_children(child_link, steps, (*seen, child)):
                return False
            steps.append(Step(child_link))
        elif relation.on_delete is models.SET_NULL:
            steps.append(Step(child_link, unlink=True))
        elif relation.on_delete in (models.PROTECT, models.RESTRICT) and link.parent is None:
            # Chats such a record points at are not due; one that gained one since the
            # batch was read fails the batch at commit (the foreign key), and the batch
            # goes again through the collector.
            continue
        else:
            return False
    return True


def _unsent_delete(
    unsent: QuerySet[Attachment],
    batch_size: int,
    result: PurgeResult,
    on_batch: Callable[[PurgeResult], None] | None,
) -> None:
    """The uploads never sent, a batch per transaction; their files after commit."""
    while True:
        with _timed(result), transaction.atomic():
            rows = list(
                unsent.select_for_update(skip_locked=True, of=("self",)).values_list(
                    "pk", "file", "thumbnail"
                )[:batch_size]
            )
            if not rows:
                return
            # Only those still unsent: a send may have taken one meanwhile.
            deleted, _ = Attachment.objects.filter(
                pk__in=[row[0] for row in rows], message__isnull=True
            ).delete()
            attachment_files_delete_on_commit([name for row in rows for name in row[1:] if name])
        result.batches += 1
        result.unsent_files += deleted
        result.rows[Attachment._meta.label] += deleted
        if on_batch is not None:
            on_batch(result)


def _customer_erase(external_id: str, result: PurgeResult) -> bool:
    """Delete the customer record once no interaction or other record refers to it.
    Locked as escalations lock it, so none can attach a new chat meanwhile."""
    with transaction.atomic():
        customer = customer_lock(external_id=external_id)
        if customer is None:
            return False
        try:
            with transaction.atomic():
                _, counts = customer.delete()
        except ProtectedError:
            return False
    result.rows.update({label: count for label, count in counts.items() if count})
    return True


def _stored_names(attachments: QuerySet[Attachment]) -> list[str]:
    return [name for pair in attachments.values_list("file", "thumbnail") for name in pair if name]


def lock_key() -> str:
    """The Redis key of the purge's lock, under the cache's prefix (CACHE_KEY_PREFIX)."""
    return cache.make_key(LOCK_NAME)


def retention_purge_scheduled() -> PurgeResult | None:
    """The daily purge of beat (PORTAL_RETENTION_DAYS): None when retention is off, or
    when another purge holds the lock or Redis is down (the next day's run catches up)."""
    days = settings.PORTAL["RETENTION_DAYS"]
    if days <= 0:
        return None
    lock = get_redis_connection("default").lock(lock_key(), timeout=LOCK_SECONDS)
    try:
        if not lock.acquire(blocking=False):
            logger.info("Retention purge skipped: another purge is running")
            return None
    except REDIS_ERRORS:
        logger.warning("Retention purge skipped: Redis is not answering")
        return None
    try:
        result = interactions_purge(older_than_days=days, on_batch=lambda _result: lock.reacquire())
    finally:
        with contextlib.suppress(LockError, *REDIS_ERRORS):
            lock.release()
    logger.info(
        "Retention purge: %d interaction(s), %d stored file(s), %d unsent file(s) deleted; "
        "%d kept; longest batch %.3f s",
        result.interactions,
        result.files,
        result.unsent_files,
        result.kept,
        result.longest_batch_seconds,
    )
    return result
