"""The retention purge (chat.services.retention, manage.py purge_interactions and its
beat task): it deletes everything of the chats it should, and nothing else."""

import io
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Model
from django_redis import get_redis_connection

from cases.models import Case, CaseType
from chat import tasks
from chat.models import (
    Attachment,
    Customer,
    CustomerToken,
    Interaction,
    InteractionStatus,
    Message,
    SatisfactionRating,
    SenderKind,
    WebhookDelivery,
)
from chat.services import retention
from chat.services.retention import interactions_purge
from cobrowse.models import CobrowseSession, StartedVia
from config.users import Role
from reports.models import ChatFact, EndedBy, OfferFact, OfferOutcome
from routing.models import LongWait, Offer, RoutingDecision, RoutingStrategy, Wrapup
from supervision.models import AuditAction, AuditEntry, ChatJoin, JoinMode
from tests.factories import customer_factory, interaction_factory, user_factory

pytestmark = pytest.mark.django_db(transaction=True)

OLD = timedelta(days=40)


def _now():
    from django.utils import timezone

    return timezone.now()


def _stored(name: str) -> str:
    return default_storage.save(f"attachments/test/{name}", ContentFile(b"file " + name.encode()))


def chat_with_everything(
    *, ended_ago: timedelta | None = OLD, customer: Customer | None = None, tag: str = "x"
) -> dict[str, list]:
    """A chat (ended `ended_ago` ago; open when None) with a row of every kind that
    points at it, in every app. Returns each row's model and pk, and its stored files."""
    csr = user_factory(role=Role.CSR)
    manager = user_factory(role=Role.CSR_MANAGER)
    fields: dict = {"customer": customer} if customer else {}
    if ended_ago is None:
        interaction = interaction_factory(
            status=InteractionStatus.ACTIVE, assigned_csr=csr, **fields
        )
    else:
        interaction = interaction_factory(
            status=InteractionStatus.ENDED,
            assigned_csr=csr,
            ended_at=_now() - ended_ago,
            created_at=_now() - ended_ago - timedelta(minutes=10),
            **fields,
        )
    rows: list[Model] = [interaction]
    messages = [
        Message.objects.create(
            interaction=interaction, seq=seq, sender_kind=SenderKind.CUSTOMER, text=f"hi {seq}"
        )
        for seq in (1, 2, 3)
    ]
    rows += messages
    names = [_stored(f"{tag}-{interaction.pk}.png"), _stored(f"{tag}-{interaction.pk}-thumb.png")]
    offer = Offer.objects.create(
        interaction=interaction, csr=csr, queue=interaction.queue, expires_at=_now()
    )
    rows += [
        Attachment.objects.create(
            interaction=interaction,
            message=messages[0],
            sender_kind=SenderKind.CUSTOMER,
            name="cat.png",
            content_type="image/png",
            size=8,
            sha256="0" * 64,
            file=names[0],
            thumbnail=names[1],
        ),
        WebhookDelivery.objects.create(interaction=interaction, message=messages[1], seq=2),
        CustomerToken.objects.create(interaction=interaction, token_hash=f"h-{interaction.pk}"),
        SatisfactionRating.objects.create(interaction=interaction, rating=4),
        offer,
        RoutingDecision.objects.create(
            interaction=interaction,
            queue=interaction.queue,
            strategy=RoutingStrategy.LONGEST_IDLE,
            summary="offered",
        ),
        LongWait.objects.create(interaction=interaction, queue=interaction.queue, waited_seconds=9),
        Wrapup.objects.create(
            interaction=interaction, csr=csr, queue=interaction.queue, due_at=_now()
        ),
        ChatJoin.objects.create(interaction=interaction, manager=manager, mode=JoinMode.MONITORING),
        CobrowseSession.objects.create(
            interaction=interaction, csr=csr, started_via=StartedVia.ACTIONS, requested_at=_now()
        ),
        ChatFact.objects.create(
            interaction=interaction,
            escalated_at=interaction.created_at,
            queue=interaction.queue,
            channel=interaction.channel,
            ended_by=EndedBy.CSR,
        ),
        OfferFact.objects.create(
            offer=offer,
            interaction=interaction,
            offered_at=_now(),
            queue=interaction.queue,
            channel=interaction.channel,
            csr=csr,
            outcome=OfferOutcome.ACCEPTED,
        ),
    ]
    audit = AuditEntry.objects.create(
        actor=manager, action=AuditAction.CHAT_REASSIGN, interaction=interaction
    )
    return {"rows": [(type(row), row.pk) for row in rows], "names": names, "audit": [audit.pk]}


def assert_gone(chat: dict) -> None:
    for model, pk in chat["rows"]:
        assert not model._default_manager.filter(pk=pk).exists(), f"{model.__name__} {pk} left"
    assert not any(default_storage.exists(name) for name in chat["names"])
    # A manager's action is kept (it is the manager's record), without the link.
    assert AuditEntry.objects.get(pk=chat["audit"][0]).interaction_id is None


def assert_kept(chat: dict) -> None:
    for model, pk in chat["rows"]:
        assert model._default_manager.filter(pk=pk).exists(), f"{model.__name__} {pk} deleted"
    assert all(default_storage.exists(name) for name in chat["names"])
    assert AuditEntry.objects.get(pk=chat["audit"][0]).interaction_id is not None


def test_purge_deletes_old_chats_with_every_row_and_file_of_theirs_and_nothing_else():
    old = [chat_with_everything(tag="old1"), chat_with_everything(tag="old2")]
    open_chat = chat_with_everything(ended_ago=None, tag="open")
    recent = chat_with_everything(ended_ago=timedelta(days=5), tag="recent")
    out = io.StringIO()
    call_command("purge_interactions", "--older-than", "30", "--batch-size", "1", stdout=out)
    for chat in old:
        assert_gone(chat)
    assert_kept(open_chat)
    assert_kept(recent)
    assert "Deleted 2 interaction(s) and 4 stored file(s)" in out.getvalue()
    assert "in 2 batch(es)" in out.getvalue()


def test_a_chat_with_a_service_case_is_kept_and_counted():
    protected = chat_with_everything(tag="case")
    interaction = Interaction.objects.get(pk=protected["rows"][0][1])
    case_type = CaseType.objects.create(name="Dispute", prefix="DSP")
    Case.objects.create(
        reference="DSP-00001",
        case_type=case_type,
        customer=interaction.customer,
        interaction=interaction,
    )
    old = chat_with_everything(tag="plain")
    result = interactions_purge(older_than_days=30, batch_size=10)
    assert_kept(protected)
    assert_gone(old)
    assert (result.interactions, result.kept) == (1, 1)
    out = io.StringIO()
    call_command("purge_interactions", "--older-than", "30", stdout=out)
    assert "Deleted 0 interaction(s)" in out.getvalue()
    assert "Kept 1 that other records still refer to." in out.getvalue()


def test_an_erasure_request_deletes_the_customers_closed_chats_and_record_only():
    customer = customer_factory(external_id="erase-me")
    theirs = [
        chat_with_everything(customer=customer, ended_ago=timedelta(days=1), tag="c1"),
        chat_with_everything(customer=customer, ended_ago=timedelta(days=400), tag="c2"),
    ]
    other = chat_with_everything(ended_ago=timedelta(days=1), tag="other")
    out = io.StringIO()
    call_command("purge_interactions", "--customer", "erase-me", stdout=out)
    for chat in theirs:
        assert_gone(chat)
    assert_kept(other)
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert "Deleted 2 interaction(s)" in out.getvalue()
    assert "Deleted the customer record." in out.getvalue()


def test_an_erasure_request_keeps_an_open_chat_and_so_the_customer():
    customer = customer_factory(external_id="still-talking")
    closed = chat_with_everything(customer=customer, ended_ago=timedelta(days=1), tag="closed")
    live = chat_with_everything(customer=customer, ended_ago=None, tag="live")
    result = interactions_purge(customer_external_id="still-talking")
    assert_gone(closed)
    assert_kept(live)
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert (result.interactions, result.customer_erased) == (1, False)


def test_a_dry_run_counts_and_deletes_nothing():
    old = chat_with_everything(tag="dry")
    out = io.StringIO()
    call_command("purge_interactions", "--older-than", "30", "--dry-run", stdout=out)
    assert out.getvalue().startswith("Would delete 1 interaction(s) and 2 file(s)")
    assert_kept(old)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "Say what to delete"),
        (["--older-than", "-1"], "--older-than must be 0 or more days"),
        (["--older-than", "30", "--batch-size", "0"], "--batch-size must be at least 1"),
        (["--customer", "nobody"], "No customer has the external id 'nobody'"),
    ],
)
def test_bad_options_are_refused_with_a_clear_message(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("purge_interactions", *arguments)


def test_batches_are_timed_and_counted():
    for n in range(5):
        chat_with_everything(tag=f"b{n}")
    result = interactions_purge(older_than_days=30, batch_size=2)
    assert result.interactions == 5
    assert result.batches == 3
    assert 0 < result.longest_batch_seconds < 5
    assert result.rows["chat.Message"] == 15
    assert result.rows["routing.Offer"] == 5


# --- The scheduled purge ----------------------------------------------------------------------


@pytest.fixture
def retention_on(settings):
    settings.PORTAL = {**settings.PORTAL, "RETENTION_DAYS": 30}
    get_redis_connection("default").delete(retention.lock_key())
    yield
    get_redis_connection("default").delete(retention.lock_key())


def test_the_beat_task_does_nothing_while_retention_is_off(settings):
    settings.PORTAL = {**settings.PORTAL, "RETENTION_DAYS": 0}
    old = chat_with_everything(tag="off")
    tasks.retention_purge()
    assert_kept(old)


def test_the_beat_task_purges_with_the_configured_period(retention_on):
    old = chat_with_everything(tag="on")
    recent = chat_with_everything(ended_ago=timedelta(days=29), tag="recent")
    tasks.retention_purge()
    assert_gone(old)
    assert_kept(recent)
    assert not get_redis_connection("default").exists(retention.lock_key())


def test_two_purges_never_run_at_once(retention_on):
    """While one purge holds the lock, another run does nothing; once it is free, the
    next run purges."""
    old = chat_with_everything(tag="locked")
    running = get_redis_connection("default").lock(retention.lock_key(), timeout=60)
    assert running.acquire(blocking=False)
    assert retention.retention_purge_scheduled() is None
    assert_kept(old)
    running.release()
    result = retention.retention_purge_scheduled()
    assert result is not None and result.interactions == 1
    assert_gone(old)


def test_the_lock_is_renewed_after_every_batch(retention_on):
    """A purge longer than the lock's lifetime keeps it: each batch renews it."""
    for n in range(3):
        chat_with_everything(tag=f"renew{n}")
    client = get_redis_connection("default")
    seen: list[int] = []
    lock = client.lock(retention.lock_key(), timeout=retention.LOCK_SECONDS)
    assert lock.acquire(blocking=False)

    def on_batch(_result):
        client.pexpire(retention.lock_key(), 1000)  # nearly expired …
        lock.reacquire()  # … and renewed, as the scheduled purge does
        seen.append(client.pttl(retention.lock_key()))

    interactions_purge(older_than_days=30, batch_size=1, on_batch=on_batch)
    lock.release()
    assert len(seen) == 3
    assert all(ttl > (retention.LOCK_SECONDS - 5) * 1000 for ttl in seen)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's row locks")
def test_a_chat_another_transaction_holds_is_left_for_the_next_run():
    """SKIP LOCKED: the purge never waits for a live transaction; the next run takes it."""
    import threading

    from django.db import close_old_connections, transaction

    held = chat_with_everything(tag="held")
    free = chat_with_everything(tag="free")
    held_id = held["rows"][0][1]
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                Interaction.objects.select_for_update().get(pk=held_id)
                locked.set()
                release.wait(10)
        finally:
            close_old_connections()

    thread = threading.Thread(target=hold)
    thread.start()
    assert locked.wait(10)
    try:
        result = interactions_purge(older_than_days=30)
    finally:
        release.set()
        thread.join()
    assert result.interactions == 1
    assert_gone(free)
    assert_kept(held)
    assert interactions_purge(older_than_days=30).interactions == 1
    assert_gone(held)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="seeds with PostgreSQL's COPY")
def test_a_batched_purge_of_thousands_deletes_exactly_the_chats_due():
    """The benchmark's data, smaller: 2,000 old closed chats go, in batches; the 60 open
    or recent ones keep every row and file."""
    from tests.bench.bench_purge import MESSAGES_PER_CHAT, counts, seed

    seeded = seed(2000, 60)
    before = counts()
    result = interactions_purge(older_than_days=30, batch_size=150)
    after = counts()
    assert (result.interactions, result.batches, result.kept) == (2000, 14, 0)
    assert set(Interaction.objects.values_list("pk", flat=True)) == set(seeded["ids"])
    assert after["chat.Message"] == 60 * MESSAGES_PER_CHAT
    assert after["routing.Offer"] == after["reports.OfferFact"] == 60
    assert after["chat.CustomerToken"] == 60
    assert after["chat.Attachment"] == len(seeded["files"])
    assert before["chat.Message"] - after["chat.Message"] == result.rows["chat.Message"]
    assert result.files == len(seeded["due_files"]) > 0
    assert all(default_storage.exists(name) for name in seeded["files"])
    assert not any(default_storage.exists(name) for name in seeded["due_files"])


# --- The set-based deletes of chat/sql.py against Django's collector ---------------------------

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the set-based deletes are PostgreSQL's"
)


@postgresql_only
def test_the_set_based_deletes_do_what_the_collector_does():
    """chat/sql.py's statements, planned from the models, delete the same rows of every
    table as QuerySet.delete() and clear the same links."""
    from chat.services.retention import PurgeResult, _batch_delete, delete_plan

    plan = delete_plan()
    assert plan is not None
    planned = {step.link.model._meta.label for step in plan}
    assert {"chat.Message", "routing.Offer", "reports.OfferFact", "routing.Wrapup"} <= planned
    by_collector, by_sql = chat_with_everything(tag="orm"), chat_with_everything(tag="sql")
    due = Interaction.objects.all()
    results = []
    for chat, chat_plan in ((by_collector, None), (by_sql, plan)):
        result = PurgeResult()
        _batch_delete(due, [chat["rows"][0][1]], result, chat_plan)
        assert_gone(chat)
        results.append(result)
    assert results[0].rows == results[1].rows
    assert results[1].rows["chat.Message"] == 3
    assert (results[1].interactions, results[1].files) == (1, 2)


@postgresql_only
def test_a_delete_signal_on_a_model_of_the_tree_leaves_the_work_to_the_collector():
    from django.db.models.signals import post_delete

    from chat.services.retention import delete_plan

    deleted: list[int] = []

    def on_delete(sender, instance, **kwargs):
        deleted.append(instance.pk)

    post_delete.connect(on_delete, sender=Message, dispatch_uid="test-retention")
    try:
        assert delete_plan() is None
        chat = chat_with_everything(tag="signal")
        assert interactions_purge(older_than_days=30).interactions == 1
    finally:
        post_delete.disconnect(sender=Message, dispatch_uid="test-retention")
    assert_gone(chat)
    assert len(deleted) == 3  # the receiver heard every message go
    assert delete_plan() is not None


@postgresql_only
def test_a_case_opened_after_the_batch_was_read_keeps_its_chat(monkeypatch):
    """The foreign key refuses the set-based batch at commit; the batch goes again one
    chat at a time through the collector, which keeps the protected one."""
    from django.db.models import Q

    from chat.selectors import retention as selectors

    protected = chat_with_everything(tag="late-case")
    plain = chat_with_everything(tag="late-plain")
    interaction = Interaction.objects.get(pk=protected["rows"][0][1])
    Case.objects.create(
        reference="DSP-00002",
        case_type=CaseType.objects.create(name="Dispute", prefix="DSQ"),
        customer=interaction.customer,
        interaction=interaction,
    )
    # As if the case were opened between the read of the batch and its deletion.
    monkeypatch.setattr(retention, "protected_filter", lambda: Q(pk__in=[]))
    assert selectors.protected_filter() != Q(pk__in=[])
    result = interactions_purge(older_than_days=30)
    assert (result.interactions, result.kept) == (1, 1)
    assert_kept(protected)
    assert_gone(plain)
