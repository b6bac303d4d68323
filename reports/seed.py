"""Realistic history for the reports: closed chats with their offers and the messages
the figures read, spread over the past days, and their facts computed by the same
function as the rollup's (reports.metrics). For load tests and demos, never on a real
portal: the rows are invented.

Rows are written in batches: with PostgreSQL through COPY (psycopg's copy API), with
SQLite by bulk_create. Ids are taken from the current maximum, so nothing else may
write chats while it runs."""

import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max

from chat.models import (
    Channel,
    ChannelKind,
    Customer,
    Interaction,
    InteractionStatus,
    Message,
    SenderKind,
    SystemEvent,
)
from config.users import Role
from reports.metrics import QueueTarget, chat_facts_compute
from reports.models import ChatFact, OfferFact, PresenceSpan
from reports.selectors.filters import local_today, report_time_zone
from reports.services.rollup import days_rebuild_range
from reports.sql import copy_rows
from routing.models import CSRProfile, Offer, OfferStatus, Queue, QueueMembership

QUEUES = (
    ("billing", "Billing", 60, 40.0),
    ("technical-support", "Technical support", 120, 90.0),
    ("general", "General", 60, 30.0),
    ("cards", "Cards", 45, 25.0),
    ("mortgages", "Mortgages", 180, 150.0),
    ("fraud", "Fraud", 30, 15.0),
)  # slug, name, service-level target (s), typical wait (s)
CHANNELS = (
    ("web-messaging", "Web messaging", ChannelKind.WEB_MESSAGING, 0.55),
    ("facebook", "Facebook Messenger", ChannelKind.FACEBOOK, 0.15),
    ("whatsapp", "WhatsApp", ChannelKind.WHATSAPP, 0.2),
    ("sms", "SMS", ChannelKind.SMS, 0.1),
)
DECLINE_REASONS = ("", "On a call", "Wrong skill", "Finishing a case", "Break", "Training")
# Escalations by local hour: a working day's two peaks.
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 4, 8, 14, 18, 18, 16, 13, 15, 17, 17, 15, 12, 9, 7, 5, 3, 2, 1)
CSRS = 40
CUSTOMERS = 20000


@dataclass
class Cast:
    queues: list[Queue]
    channels: list[Channel]
    channel_weights: list[float]
    csrs: list[int]
    customers: list[int]


def _cast(n_customers: int) -> Cast:
    queues = []
    for slug, name, target, _ in QUEUES:
        queue, _ = Queue.objects.get_or_create(
            slug=slug, defaults={"name": name, "service_level_seconds": target}
        )
        queues.append(queue)
    channels = []
    for slug, name, kind, _ in CHANNELS:
        channel, _ = Channel.objects.get_or_create(
            slug=slug, defaults={"name": name, "kind": kind, "default_queue": queues[2]}
        )
        channels.append(channel)
    group, _ = Group.objects.get_or_create(name=Role.CSR.value)
    csrs = []
    for n in range(1, CSRS + 1):
        user, created = User.objects.get_or_create(
            username=f"history-csr-{n:02d}",
            defaults={"first_name": "History", "last_name": f"CSR {n:02d}"},
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            user.groups.add(group)
            CSRProfile.objects.get_or_create(user=user)
            for queue in random.sample(queues, 3):
                QueueMembership.objects.get_or_create(user=user, queue=queue)
        csrs.append(user.pk)
    have = list(
        Customer.objects.filter(external_id__startswith="history-").values_list("pk", flat=True)[
            :n_customers
        ]
    )
    if len(have) < n_customers:
        start = len(have)
        Customer.objects.bulk_create(
            [
                Customer(external_id=f"history-{n}", name=f"History customer {n}")
                for n in range(start, n_customers)
            ],
            batch_size=5000,
            ignore_conflicts=True,
        )
        have = list(
            Customer.objects.filter(external_id__startswith="history-").values_list(
                "pk", flat=True
            )[:n_customers]
        )
    return Cast(queues, channels, [c[3] for c in CHANNELS], csrs, have)


def _defaults(model: type[models.Model]) -> list[tuple[str, Any, Any]]:
    """Each concrete field's attname, column and default value."""
    out = []
    for field in model._meta.concrete_fields:
        default = None if field.null and not field.has_default() else field.get_default()
        out.append((field.attname, field.column, default))
    return out


class Writer:
    """Writes rows (dicts of attnames) of one model: COPY on PostgreSQL, bulk_create
    elsewhere."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self.fields = _defaults(model)
        self.json = {
            f.attname for f in model._meta.concrete_fields if isinstance(f, models.JSONField)
        }

    def write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if connection.vendor == "postgresql":
            copy_rows(
                self.model,
                [column for _, column, _ in self.fields],
                (
                    [
                        json.dumps(row.get(attname, default))
                        if attname in self.json
                        else row.get(attname, default)
                        for attname, _, default in self.fields
                    ]
                    for row in rows
                ),
            )
        else:
            self.model.objects.bulk_create(  # type: ignore[attr-defined]
                [self.model(**row) for row in rows], batch_size=2000
            )


def _reset_sequences(models_: Iterable[type[models.Model]]) -> None:
    """After rows written with their own ids (COPY), the id sequences continue past them
    (the statements Django's loaddata runs for the same reason)."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(models_))
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def _next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(m=Max("id"))["m"] or 0) + 1  # type: ignore[attr-defined]


def history_seed(
    *,
    interactions: int,
    days: int = 365,
    batch: int = 10000,
    seed: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Seed `interactions` closed chats over the last `days` days; returns how many."""
    rng = random.Random(seed)  # noqa: S311 -- invented history, not secrets
    cast = _cast(min(CUSTOMERS, max(1, interactions)))
    targets = {q.slug: QueueTarget(q.pk, q.service_level_seconds) for q in cast.queues}
    targets_by_id = {t.id: t for t in targets.values()}
    tz = report_time_zone()
    last_day = local_today(tz)
    writers = {m: Writer(m) for m in (Interaction, Offer, Message, ChatFact, OfferFact)}
    ids = {m: _next_id(m) for m in (Interaction, Offer, Message)}
    now = datetime.now(tz)
    done = 0
    while done < interactions:
        size = min(batch, interactions - done)
        rows: dict[type[models.Model], list[dict[str, Any]]] = {m: [] for m in writers}
        for _ in range(size):
            day = last_day - timedelta(days=rng.randrange(days))
            hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
            start = datetime.combine(day, time(hour), tz) + timedelta(seconds=rng.randrange(3600))
            if start > now - timedelta(hours=2):
                start -= timedelta(days=1)
            chat = _chat(rng, cast, start, ids)
            for model, model_rows in chat.items():
                rows[model] += model_rows
            fact, offer_facts = chat_facts_compute(
                interaction=chat[Interaction][0],
                offers=chat[Offer],
                messages=[m for m in chat[Message] if not m["pre_escalation"]],
                queues=targets,
                queues_by_id=targets_by_id,
            )
            rows[ChatFact].append(
                {f.attname: getattr(fact, f.attname) for f in ChatFact._meta.concrete_fields}
            )
            rows[OfferFact] += [
                {f.attname: getattr(o, f.attname) for f in OfferFact._meta.concrete_fields}
                for o in offer_facts
            ]
        with transaction.atomic():
            for model in (Interaction, Offer, Message, ChatFact, OfferFact):
                writers[model].write(rows[model])
        done += size
        if progress:
            progress(done)
    _reset_sequences((Interaction, Offer, Message))
    # A chat escalated before midnight may be offered after it: one day more.
    days_rebuild_range(start=last_day - timedelta(days=days + 1), end=last_day)
    presence_seed(csr_ids=cast.csrs, days=days, seed=seed)
    return done


def presence_seed(*, csr_ids: list[int], days: int, seed: int | None = None) -> int:
    """The CSRs' logged-in spans over the last `days` days (replacing theirs): a shift of
    eight hours on most days, with a capacity of 2 to 4 chats."""
    rng = random.Random(seed)  # noqa: S311 -- invented history, not secrets
    tz = report_time_zone()
    last_day = local_today(tz)
    first = datetime.combine(last_day - timedelta(days=days - 1), time.min, tz)
    now = datetime.now(tz)
    spans = []
    for csr_id in csr_ids:
        capacity = rng.choice((2, 3, 3, 4))
        for n in range(days):
            day = last_day - timedelta(days=n)
            if rng.random() < 0.25:
                continue  # a day off
            start = datetime.combine(day, time(rng.choice((7, 8, 9, 12, 14))), tz)
            end = start + timedelta(hours=8)
            if end < now:
                spans.append(
                    PresenceSpan(csr_id=csr_id, started_at=start, ended_at=end, capacity=capacity)
                )
    with transaction.atomic():
        PresenceSpan.objects.filter(csr_id__in=csr_ids, started_at__gte=first).delete()
        PresenceSpan.objects.bulk_create(spans, batch_size=5000)
    return len(spans)


def _chat(rng: random.Random, cast: Cast, start: datetime, ids: dict) -> dict[type, list[dict]]:
    """One closed chat's rows."""
    queue_index = rng.randrange(len(cast.queues))
    queue = cast.queues[queue_index]
    typical_wait = QUEUES[queue_index][3]
    channel = rng.choices(cast.channels, cast.channel_weights)[0]
    pk = ids[Interaction]
    ids[Interaction] += 1
    offers: list[dict] = []
    messages: list[dict] = []
    seq = 0

    def message(at: datetime, kind: str, text: str, **fields: Any) -> None:
        nonlocal seq
        seq += 1
        messages.append(
            {
                "id": ids[Message],
                "interaction_id": pk,
                "seq": seq,
                "sender_kind": kind,
                "text": text,
                "created_at": at,
                "pre_escalation": False,
                "event": "",
                "data": {},
                "internal": False,
                "sentiment_score": None,
                **fields,
            }
        )
        ids[Message] += 1

    def offer(
        csr: int, at: datetime, status: str, responded: datetime | None, **fields: Any
    ) -> None:
        offers.append(
            {
                "id": ids[Offer],
                "interaction_id": pk,
                "csr_id": csr,
                "queue_id": fields.pop("queue_id", queue.pk),
                "status": status,
                "created_at": at,
                "expires_at": at + timedelta(seconds=30),
                "responded_at": responded,
                "reason": "",
                "transferred_by_id": None,
                "note": "",
                "direct": False,
                **fields,
            }
        )
        ids[Offer] += 1

    start_score = round(rng.uniform(-0.9, 0.3), 2)
    message(
        start, SenderKind.CUSTOMER, "I need help", pre_escalation=True, sentiment_score=start_score
    )
    message(
        start,
        SenderKind.SYSTEM,
        f"Customer escalated to the {queue.name} queue",
        event=SystemEvent.ESCALATED,
        data={"queue": queue.slug, "intent": ""},
    )
    wait = rng.expovariate(1 / typical_wait)
    abandoned = rng.random() < 0.07 + min(0.2, wait / 3000)
    at = start + timedelta(seconds=2)
    csrs = rng.sample(cast.csrs, 6)
    for _ in range(rng.choices((0, 1, 2), (0.8, 0.15, 0.05))[0]):
        if abandoned and rng.random() < 0.5:
            break
        status = rng.choice((OfferStatus.DECLINED, OfferStatus.EXPIRED))
        responded = at + timedelta(seconds=rng.uniform(3, 30))
        reason = rng.choice(DECLINE_REASONS) if status == OfferStatus.DECLINED else ""
        offer(csrs.pop(), at, status, responded, reason=reason)
        at = responded + timedelta(seconds=1)
    interaction: dict[str, Any] = {
        "id": pk,
        "customer_id": rng.choice(cast.customers),
        "customer_name": "History customer",
        "channel_id": channel.pk,
        "queue_id": queue.pk,
        "created_at": start,
        "queued_at": start,
        "sentiment_seq": 0,
        "sentiment_label": "",
        "sentiment_score": None,
        "accepted_at": None,
        "offered_at": None,
        "assigned_csr_id": None,
        "ended_by": "",
    }
    if abandoned:
        end = max(at, start + timedelta(seconds=wait)) + timedelta(seconds=1)
        if offers and rng.random() < 0.5:
            offer(csrs.pop(), at, OfferStatus.WITHDRAWN, end, reason="chat ended")
        message(end, SenderKind.SYSTEM, "The customer left", event=SystemEvent.ABANDONED)
        interaction.update(status=InteractionStatus.ABANDONED, ended_at=end, last_seq=seq)
        return {Interaction: [interaction], Offer: offers, Message: messages}

    accepted = max(at, start + timedelta(seconds=wait))
    csr = csrs.pop()
    offer(csr, accepted - timedelta(seconds=rng.uniform(2, 10)), OfferStatus.ACCEPTED, accepted)
    message(
        accepted,
        SenderKind.SYSTEM,
        "A CSR joined the chat",
        event=SystemEvent.JOINED,
        data={"csr_id": csr},
    )
    t = accepted + timedelta(seconds=rng.uniform(5, 90))
    message(t, SenderKind.CSR, "Hello, how can I help?", author_id=csr)
    t += timedelta(seconds=rng.uniform(5, 60))
    message(t, SenderKind.CUSTOMER, "It still does not work", sentiment_score=start_score)
    end_score = max(-1.0, min(1.0, start_score + rng.uniform(-0.3, 0.9)))
    if rng.random() < 0.15:
        t += timedelta(seconds=rng.uniform(20, 120))
        message(
            t,
            SenderKind.SYSTEM,
            "Authentication request is sent to customer",
            event=SystemEvent.AUTH_REQUESTED,
        )
        if rng.random() < 0.8:
            t += timedelta(seconds=rng.uniform(10, 90))
            message(t, SenderKind.SYSTEM, "Customer authenticated", event=SystemEvent.AUTHENTICATED)
    if rng.random() < 0.03:
        t += timedelta(seconds=30)
        message(t, SenderKind.SYSTEM, "Co-browse started", event=SystemEvent.COBROWSE_STARTED)
    t += timedelta(seconds=rng.uniform(20, 200))
    message(t, SenderKind.CUSTOMER, "Thanks", sentiment_score=round(end_score, 2))
    last_customer_seq = seq
    roll = rng.random()
    if roll < 0.05:  # to another CSR
        t += timedelta(seconds=rng.uniform(60, 400))
        message(
            t,
            SenderKind.SYSTEM,
            "Transfer requested",
            event=SystemEvent.TRANSFERRED,
            data={"to_csr": "CSR"},
        )
        target = csrs.pop()
        offer(
            target,
            t,
            OfferStatus.ACCEPTED,
            t + timedelta(seconds=8),
            transferred_by_id=csr,
            direct=True,
        )
        csr = target
    elif roll < 0.08:  # to another queue
        t += timedelta(seconds=rng.uniform(60, 400))
        other = rng.choice(cast.queues)
        message(
            t,
            SenderKind.SYSTEM,
            "Transferred",
            event=SystemEvent.TRANSFERRED,
            data={"to_queue": other.name},
        )
        target = csrs.pop()
        offer(
            target,
            t + timedelta(seconds=20),
            OfferStatus.ACCEPTED,
            t + timedelta(seconds=30),
            queue_id=other.pk,
        )
        csr = target
        interaction["queue_id"] = other.pk
    end = t + timedelta(seconds=rng.uniform(60, 1200))
    label = "positive" if end_score > 0.2 else "negative" if end_score < -0.2 else "neutral"
    ended_by = rng.choices(("csr", "customer", "system"), (0.6, 0.35, 0.05))[0]
    message(
        end, SenderKind.SYSTEM, "The chat ended", event=SystemEvent.ENDED, data={"by": ended_by}
    )
    interaction.update(
        status=InteractionStatus.ENDED,
        accepted_at=accepted,
        offered_at=accepted,
        assigned_csr_id=csr,
        ended_at=end,
        ended_by=ended_by,
        sentiment_label=label,
        sentiment_score=round(end_score, 2),
        sentiment_seq=last_customer_seq,
        last_seq=seq,
    )
    return {Interaction: [interaction], Offer: offers, Message: messages}
