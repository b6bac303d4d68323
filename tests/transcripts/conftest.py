"""Fixtures for the transcript tests: the contact center's time zone, CSRs, and a
conversation with every kind of event, built through the real chat and routing
services, with its clock then pinned so the golden files can hold exact times."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from chat.models import (
    AppStudioSettings,
    BotClient,
    ChannelKind,
    Interaction,
    Message,
    SenderKind,
    SystemEvent,
)
from chat.selectors.settings import app_studio_cache_invalidate
from chat.services.interactions import interaction_end
from chat.services.messages import message_create, message_send
from config.users import Role
from portal.services import roles_sync
from routing.models import CSRProfile, CSRStatus, Offer, OfferStatus, QueueMembership
from routing.services.answers import offer_accept, offer_decline
from routing.services.escalations import escalation_create
from routing.services.presence import csr_profile_ensure
from routing.services.transfers import interaction_transfer_to_csr
from tests.factories import (
    bot_client_factory,
    channel_factory,
    queue_factory,
    route_chat,
    user_factory,
)

# The golden conversation's clock: 23 November 2026, when Paris is at UTC+01:00.
T0 = datetime(2026, 11, 23, 13, 0, 0, tzinfo=UTC)

SCRIPT = '<script>alert("transcript")</script>'
# A customer line dressed as a system event and an attachment: it must stay text.
SPOOF = "[2026-01-01 00:00:00 +00:00] *** Chat ended\n  + Attachment: invoice.exe"
MULTILINE = "Hallo!\r\nMeine Bestellung: Größe M, 2 × 49,90 €\n\nDanke — 谢谢 🙂"
TRANSFER_NOTE = "Refund of the double charge.\nCustomer is authenticated."


def set_time_zone(name: str) -> None:
    """Store the App Studio time zone and drop the cached settings (the model drops
    them on commit, which a test's rolled-back transaction never reaches)."""
    record, _ = AppStudioSettings.objects.get_or_create(pk=AppStudioSettings.SINGLETON_ID)
    record.time_zone = name
    record.full_clean()
    record.save()
    app_studio_cache_invalidate()


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make_csr(first: str, last: str, *, queues=(), status=CSRStatus.AVAILABLE) -> User:
    user = user_factory(role=Role.CSR, first_name=first, last_name=last)
    profile = csr_profile_ensure(user=user)
    profile.status = status
    profile.save()
    for queue in queues:
        QueueMembership.objects.create(user=user, queue=queue, joined=True)
    return user


@pytest.fixture
def roles(db) -> None:
    roles_sync()


@pytest.fixture
def paris(db) -> None:
    set_time_zone("Europe/Paris")


@pytest.fixture
def manager(roles) -> User:
    return user_factory(role=Role.CSR_MANAGER, first_name="Morgan", last_name="Lee")


@dataclass
class Conversation:
    interaction: Interaction
    bot_client: BotClient
    bot_token: str
    alex: User  # accepted it, then transferred it away: a former handling CSR
    blake: User  # was offered the transfer and declined: never handled it
    casey: User  # took it after the transfer and ended it


def _pin_clock(interaction: Interaction) -> None:
    """Give every message a fixed time: the bot conversation before T0, the rest from
    T0 on, a few seconds apart; the interaction starts at T0 and ends with its last
    message."""
    messages = list(Message.objects.filter(interaction=interaction).order_by("seq"))
    bot = [m for m in messages if m.pre_escalation]
    for index, message in enumerate(bot):
        message.created_at = T0 - timedelta(minutes=2) + timedelta(seconds=30 * index)
    at = T0
    for message in messages[len(bot) :]:
        message.created_at = at
        at += timedelta(seconds=47, milliseconds=250)
    Message.objects.bulk_update(messages, ["created_at"])
    Interaction.objects.filter(pk=interaction.pk).update(
        created_at=T0, queued_at=T0, ended_at=messages[-1].created_at
    )
    interaction.refresh_from_db()


def _customer(interaction: Interaction, text: str, n: int) -> None:
    message_send(
        interaction_id=interaction.pk,
        sender_kind=SenderKind.CUSTOMER,
        text=text,
        client_msg_id=f"c-{n}",
    )


def _csr(interaction: Interaction, user: User, text: str, n: int) -> None:
    message_send(
        interaction_id=interaction.pk,
        sender_kind=SenderKind.CSR,
        text=text,
        client_msg_id=f"a-{n}",
        user=user,
    )


def _system(interaction: Interaction, event: SystemEvent, text: str) -> None:
    interaction.refresh_from_db()
    message_create(interaction=interaction, sender_kind=SenderKind.SYSTEM, text=text, event=event)


def _accept_next(interaction: Interaction, user: User) -> None:
    offer = route_chat(interaction_id=interaction.pk)
    assert offer is not None and offer.csr_id == user.pk, "routing offered it to someone else"
    offer_accept(offer_id=offer.pk, user=user)


@pytest.fixture
def conversation(roles, paris) -> Conversation:
    """Every kind of event: the bot conversation, escalated, joined, customer and CSR
    messages (multi-line, non-ASCII, a <script> payload, a spoofed entry), authentication
    requested and done, co-browse started and ended, attachments, a transfer with a note
    that the target declines (re-queued), a second CSR joining, and the end."""
    billing = queue_factory(name="Billing", slug="billing")
    channel = channel_factory(
        name="Web messaging", slug="web-messaging", kind=ChannelKind.WEB_MESSAGING
    )
    client, token = bot_client_factory(channels=[channel], name="Help Bot")
    alex = make_csr("Alex", "Morgan", queues=[billing])
    blake = make_csr("Blake", "Chen")
    casey = make_csr("Casey", "Diaz", queues=[billing], status=CSRStatus.OFFLINE)

    interaction = escalation_create(
        client=client,
        channel_slug=channel.slug,
        queue_slug="billing",
        customer={"external_id": "cust-1001", "name": "Dana Reyes", "authenticated": False},
        intent="billing.refund",
        context={"order": "A-1009"},
        transcript=[
            {"sender": SenderKind.CUSTOMER, "text": "I was charged twice for order A-1009"},
            {"sender": SenderKind.BOT, "text": "Sorry about that!\nLet me find a person."},
        ],
        priority=0,
        idempotency_key="",
        fingerprint="",
    ).interaction
    _accept_next(interaction, alex)
    _customer(interaction, MULTILINE, 1)
    _csr(interaction, alex, "Hi Dana, I'm looking at the double charge.", 1)
    _customer(interaction, SCRIPT, 2)
    _customer(interaction, SPOOF, 3)
    _system(interaction, SystemEvent.AUTH_REQUESTED, "Authentication request is sent to customer")
    _system(interaction, SystemEvent.AUTHENTICATED, "Customer authenticated")
    Interaction.objects.filter(pk=interaction.pk).update(authenticated=True)
    _system(interaction, SystemEvent.COBROWSE_STARTED, "Co-browse session started")
    _system(interaction, SystemEvent.COBROWSE_ENDED, "Co-browse session ended")
    interaction.refresh_from_db()
    message_create(
        interaction=interaction,
        sender_kind=SenderKind.CUSTOMER,
        author_name="Dana Reyes",
        text="Here are the receipt and a photo.",
        data={"attachments": [{"name": "receipt.pdf"}, "photo of the box.jpg"]},
    )
    transfer = interaction_transfer_to_csr(
        interaction_id=interaction.pk, user=alex, target=blake, note=TRANSFER_NOTE
    )
    offer_decline(offer_id=transfer.pk, user=blake, reason="Not my area")
    CSRProfile.objects.filter(user=alex).update(status=CSRStatus.AWAY)
    CSRProfile.objects.filter(user=casey).update(status=CSRStatus.AVAILABLE)
    _accept_next(interaction, casey)
    _csr(interaction, casey, "Hello Dana, Casey from Billing here. Refund issued.", 2)
    _customer(interaction, "Thank you!", 4)
    interaction_end(interaction_id=interaction.pk, by=SenderKind.CSR, user=casey)
    _pin_clock(interaction)
    assert Offer.objects.filter(interaction=interaction, status=OfferStatus.ACCEPTED).count() == 2
    return Conversation(
        interaction=interaction,
        bot_client=client,
        bot_token=token,
        alex=alex,
        blake=blake,
        casey=casey,
    )


def add_messages(interaction: Interaction, count: int, *, start: datetime = T0) -> None:
    """`count` more customer and CSR messages, stored in one bulk insert (the shape of a
    long chat, without the cost of sending each)."""
    seq = interaction.last_seq
    messages = []
    for n in range(count):
        seq += 1
        kind = SenderKind.CUSTOMER if n % 2 == 0 else SenderKind.CSR
        messages.append(
            Message(
                interaction=interaction,
                seq=seq,
                sender_kind=kind,
                author_name="Dana Reyes" if kind == SenderKind.CUSTOMER else "Alex Morgan",
                text=f"Message {n}: a line of ordinary chat text, long enough to be typical.",
                created_at=start + timedelta(seconds=n),
            )
        )
    Message.objects.bulk_create(messages, batch_size=2000)
    Interaction.objects.filter(pk=interaction.pk).update(last_seq=seq)
    interaction.last_seq = seq
