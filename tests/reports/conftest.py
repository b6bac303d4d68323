"""Hand-counted fixtures for the reports: five closed chats in the America/New_York
time zone, written as the chat and routing services write them, with the figures they
must add up to (docs/reports.md defines each one)."""

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User

from chat.models import (
    AppStudioSettings,
    Channel,
    ChannelKind,
    Interaction,
    InteractionStatus,
    Message,
    SenderKind,
    SystemEvent,
)
from config.users import Role
from reports.models import PresenceSpan
from reports.services.rollup import facts_refresh
from routing.models import Offer, OfferStatus, Queue
from tests.factories import channel_factory, customer_factory, queue_factory, user_factory

NY = ZoneInfo("America/New_York")


def ny(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=NY)


@dataclass
class History:
    billing: Queue
    tech: Queue
    web: Channel
    sms: Channel
    csr1: User
    csr2: User
    csr3: User
    manager: User
    chats: dict[str, Interaction] = field(default_factory=dict)


class ChatWriter:
    """Writes one chat's rows with explicit times."""

    def __init__(self, interaction: Interaction) -> None:
        self.interaction = interaction
        self.seq = 0

    def message(self, at: datetime, kind: str, text: str = "", **fields) -> Message:
        self.seq += 1
        return Message.objects.create(
            interaction=self.interaction,
            seq=self.seq,
            sender_kind=kind,
            text=text or kind,
            created_at=at,
            **fields,
        )

    def system(self, at: datetime, event: str, data: dict | None = None) -> Message:
        return self.message(at, SenderKind.SYSTEM, event, event=event, data=data or {})

    def offer(
        self, csr: User, at: datetime, status: str, responded: datetime | None, **kw
    ) -> Offer:
        return Offer.objects.create(
            interaction=self.interaction,
            csr=csr,
            queue=kw.pop("queue", self.interaction.queue),
            status=status,
            created_at=at,
            expires_at=at,
            responded_at=responded,
            **kw,
        )


def open_chat(queue: Queue, channel: Channel, at: datetime) -> ChatWriter:
    interaction = Interaction.objects.create(
        customer=customer_factory(),
        customer_name="Hand Counted",
        channel=channel,
        queue=queue,
        created_at=at,
        queued_at=at,
    )
    writer = ChatWriter(interaction)
    writer.message(
        at, SenderKind.CUSTOMER, "I need help", pre_escalation=True, sentiment_score=-0.9
    )
    writer.system(at, SystemEvent.ESCALATED, {"queue": queue.slug, "intent": ""})
    return writer


def close(
    writer: ChatWriter, *, status: str, at: datetime, by: str = "", csr=None, **fields
) -> None:
    i = writer.interaction
    i.status = status
    i.ended_at = at
    i.ended_by = by
    i.assigned_csr = csr
    for name, value in fields.items():
        setattr(i, name, value)
    i.save()
    writer.system(
        at, SystemEvent.ABANDONED if status == InteractionStatus.ABANDONED else SystemEvent.ENDED
    )


def build_history() -> History:
    settings = AppStudioSettings.objects.get_or_create(pk=AppStudioSettings.SINGLETON_ID)[0]
    settings.time_zone = "America/New_York"
    settings.save()
    billing = queue_factory(name="Billing", slug="billing", service_level_seconds=60)
    tech = queue_factory(name="Tech", slug="tech", service_level_seconds=120)
    h = History(
        billing=billing,
        tech=tech,
        web=channel_factory(name="Web", slug="web", default_queue=billing),
        sms=channel_factory(name="SMS", slug="sms", kind=ChannelKind.SMS, default_queue=tech),
        csr1=user_factory(role=Role.CSR, username="csr-one"),
        csr2=user_factory(role=Role.CSR, username="csr-two"),
        csr3=user_factory(role=Role.CSR, username="csr-three"),
        manager=user_factory(role=Role.CSR_MANAGER, username="boss"),
    )

    # A: declined, then missed, then accepted after 50 s (within Billing's 60 s); first
    # reply 30 s later; authenticated; the customer's mood went from -0.6 to 0.4.
    a = open_chat(billing, h.web, ny(10, 10))
    a.offer(h.csr1, ny(10, 10, 0, 1), OfferStatus.DECLINED, ny(10, 10, 0, 10), reason="On a call")
    a.offer(h.csr2, ny(10, 10, 0, 11), OfferStatus.EXPIRED, None)
    a.offer(h.csr1, ny(10, 10, 0, 41), OfferStatus.ACCEPTED, ny(10, 10, 0, 50))
    a.system(ny(10, 10, 0, 50), SystemEvent.JOINED, {"csr_id": h.csr1.pk})
    a.message(ny(10, 10, 1, 0), SenderKind.CUSTOMER, "Still there?", sentiment_score=-0.6)
    a.message(ny(10, 10, 1, 10), SenderKind.CSR, "A whisper", internal=True, author=h.csr1)
    a.message(ny(10, 10, 1, 20), SenderKind.CSR, "Hello, I can help", author=h.csr1)
    a.system(ny(10, 10, 2), SystemEvent.AUTH_REQUESTED)
    a.system(ny(10, 10, 3), SystemEvent.AUTHENTICATED, {"via": "link"})
    a.message(ny(10, 10, 5), SenderKind.CUSTOMER, "Thanks!", sentiment_score=0.5)
    close(
        a,
        status=InteractionStatus.ENDED,
        at=ny(10, 10, 11, 50),
        by="csr",
        csr=h.csr1,
        accepted_at=ny(10, 10, 0, 50),
        sentiment_label="positive",
        sentiment_score=0.4,
        sentiment_seq=a.seq,
    )
    h.chats["a"] = a.interaction

    # B: the customer left while the chat was offered: abandoned, its offer withdrawn.
    b = open_chat(billing, h.web, ny(10, 11))
    b.offer(h.csr2, ny(10, 11, 0, 5), OfferStatus.WITHDRAWN, ny(10, 11, 3), reason="chat ended")
    close(b, status=InteractionStatus.ABANDONED, at=ny(10, 11, 3))
    h.chats["b"] = b.interaction

    # C: accepted after 120 s (outside 60 s), transferred to csr2, then to the Tech
    # queue, where csr3 took it; a co-browse; the customer ended it.
    c = open_chat(billing, h.web, ny(10, 12))
    c.offer(h.csr1, ny(10, 12, 1), OfferStatus.ACCEPTED, ny(10, 12, 2))
    c.message(ny(10, 12, 2, 30), SenderKind.CSR, "Hi", author=h.csr1)
    c.system(ny(10, 12, 4), SystemEvent.COBROWSE_STARTED)
    c.system(ny(10, 12, 5), SystemEvent.TRANSFERRED, {"to_csr": "csr-two", "by": "csr-one"})
    c.offer(h.csr2, ny(10, 12, 5), OfferStatus.ACCEPTED, ny(10, 12, 5, 10), transferred_by=h.csr1)
    c.system(ny(10, 12, 10), SystemEvent.TRANSFERRED, {"to_queue": "Tech", "by": "csr-two"})
    c.offer(h.csr3, ny(10, 12, 10, 30), OfferStatus.ACCEPTED, ny(10, 12, 11), queue=tech)
    close(
        c,
        status=InteractionStatus.ENDED,
        at=ny(10, 12, 20),
        by="customer",
        csr=h.csr3,
        queue=tech,
        accepted_at=ny(10, 12, 11),
        sentiment_label="negative",
        sentiment_score=-0.5,
    )
    h.chats["c"] = c.interaction

    # D: across midnight in New York (04:55 UTC on the 11th): escalated 23:55 on the
    # 10th, accepted 5.5 min later, closed by the system at 00:20.
    d = open_chat(tech, h.sms, ny(10, 23, 55))
    d.offer(h.csr2, ny(10, 23, 56), OfferStatus.ACCEPTED, ny(11, 0, 0, 30))
    close(
        d,
        status=InteractionStatus.ENDED,
        at=ny(11, 0, 20),
        by="system",
        csr=h.csr2,
        accepted_at=ny(11, 0, 0, 30),
    )
    h.chats["d"] = d.interaction

    # E: the next day, answered at once.
    e = open_chat(tech, h.sms, ny(11, 1))
    e.offer(h.csr3, ny(11, 1, 0, 1), OfferStatus.ACCEPTED, ny(11, 1, 0, 5))
    close(e, status=InteractionStatus.ENDED, at=ny(11, 1, 10), by="csr", csr=h.csr3)
    h.chats["e"] = e.interaction

    # Logged in on the 10th: csr1 10:00-12:00 with room for 2, csr2 23:00-01:00 with 3,
    # csr3 12:00-13:00 with 1.
    for csr, start, end, capacity in (
        (h.csr1, ny(10, 10), ny(10, 12), 2),
        (h.csr2, ny(10, 23), ny(11, 1), 3),
        (h.csr3, ny(10, 12), ny(10, 13), 1),
    ):
        PresenceSpan.objects.create(csr=csr, started_at=start, ended_at=end, capacity=capacity)

    facts_refresh(interaction_ids=[i.pk for i in h.chats.values()])
    return h


@pytest.fixture
def history(db) -> History:
    return build_history()
