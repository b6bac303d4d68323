"""Reads for transcripts: the interaction with who may download it, the CSRs who
handled it, and its messages as transcript entries, read in chunks with a constant
number of queries however long the conversation."""

import logging
import zoneinfo
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, JSONField, OuterRef, Value
from django.db.models.functions import NullIf
from django.urls import reverse

from chat.models import BotClient, Interaction, Message, SenderKind, SystemEvent
from chat.selectors.attachments import message_attachments
from chat.selectors.settings import app_studio_settings_get
from chat.signals import manager_may_access
from config.users import Role
from routing.models import Offer, OfferStatus
from transcripts.formats import Phase, Transcript, TranscriptEntry, TranscriptHeader

logger = logging.getLogger(__name__)

# Messages fetched per round trip (a server-side cursor on PostgreSQL).
MESSAGE_CHUNK_SIZE = 2000

_ENTRY_FIELDS = (
    "seq",
    "created_at",
    "pre_escalation",
    "sender_kind",
    "author_name",
    "text",
    "event",
    "payload",
    "internal",
)


class Audience(StrEnum):
    """Who reads the transcript, which decides what it holds."""

    # CSRs and CSR managers: everything, transfer notes included.
    CONTACT_CENTER = "contact_center"
    # The bot client that escalated the chat: what the customer's side may see, so no
    # transfer notes (like chat.events.customer_view and the connector API).
    BOT_CLIENT = "bot_client"


def transcript_interaction_get(
    *,
    interaction_id: int,
    csr: AbstractBaseUser | AnonymousUser | None = None,
    bot_client: BotClient | None = None,
) -> Interaction | None:
    """The interaction with what the transcript header shows (customer, channel, queue,
    assigned CSR), in one query.

    With `csr`: annotated `handled_by_csr`, whether that user ever accepted an offer of
    it or joined it (a `joined` system message names them); see
    `transcript_user_may_download`. With `bot_client`: None unless that client
    escalated it."""
    interactions = Interaction.objects.select_related(
        "customer", "channel", "queue", "assigned_csr"
    ).filter(pk=interaction_id)
    if bot_client is not None:
        interactions = interactions.filter(bot_client=bot_client)
    if csr is not None and csr.is_authenticated:
        accepted = Offer.objects.filter(
            interaction=OuterRef("pk"), csr_id=csr.pk, status=OfferStatus.ACCEPTED
        )
        joined = Message.objects.filter(
            interaction=OuterRef("pk"), event=SystemEvent.JOINED, data__csr_id=csr.pk
        )
        interactions = interactions.annotate(
            accepted_by_csr=Exists(accepted), joined_by_csr=Exists(joined)
        )
    return interactions.first()


def transcript_user_may_download(
    *, interaction: Interaction, user: AbstractBaseUser | AnonymousUser, roles: set[Role]
) -> bool:
    """CSR managers may download any transcript; a CSR the transcripts of the
    interactions they handle or handled before (a transfer moved it on); nobody else.

    `interaction` comes from `transcript_interaction_get(csr=user)`; `roles` from
    config.users.user_roles."""
    if not user.is_authenticated:
        return False
    if Role.CSR_MANAGER in roles and manager_may_access(interaction=interaction, user=user):
        return True  # unless limited to queues this chat is in none of (chat.signals)
    if Role.CSR not in roles:
        return False
    if interaction.assigned_csr_id is not None and interaction.assigned_csr_id == user.pk:
        return True
    return bool(
        getattr(interaction, "accepted_by_csr", False)
        or getattr(interaction, "joined_by_csr", False)
    )


def _display_name(user: Any) -> str:
    return (user.get_full_name() or user.get_username()).strip()


def transcript_csr_names(*, interaction: Interaction) -> tuple[str, ...]:
    """The CSRs who handled the interaction, in the order they took it: from its
    `joined` system messages (who joined) and `transferred` ones (who transferred it
    away), then the CSR assigned now. One query."""
    names: list[str] = []
    rows = (
        Message.objects.filter(
            interaction_id=interaction.pk,
            event__in=(SystemEvent.JOINED, SystemEvent.TRANSFERRED),
        )
        .order_by("seq")
        .values_list("event", "data")
    )
    for event, data in rows:
        if not isinstance(data, dict):
            continue
        name = data.get("csr") if event == SystemEvent.JOINED else data.get("by")
        if isinstance(name, str) and name.strip() and name.strip() not in names:
            names.append(name.strip())
    if interaction.assigned_csr is not None:
        assigned = _display_name(interaction.assigned_csr)
        if assigned and assigned not in names:
            names.append(assigned)
    return tuple(names)


def attachment_names(data: Any) -> tuple[str, ...]:
    """The attachment names a message's `data` lists under "attachments": each entry a
    file name, or an object with a "name" (or "filename"). Anything else is skipped."""
    if not isinstance(data, dict):
        return ()
    entries = data.get("attachments")
    if not isinstance(entries, list):
        return ()
    names = []
    for item in entries:
        if isinstance(item, dict):
            item = item.get("name") or item.get("filename")
        if isinstance(item, str) and item.strip():
            names.append(item.strip())
    return tuple(names)


def attachment_links(data: Any) -> tuple[dict, ...]:
    """The portal's files a message carries, each with its stable link (the portal
    redirects a logged-in user or a bot token to a signed download: docs/attachments.md)."""
    return tuple(
        {
            "name": item.get("name", ""),
            "content_type": item.get("content_type", ""),
            "size": item.get("size"),
            "url": reverse("attachments:link", args=[item["id"]]),
        }
        for item in message_attachments(data)
    )


def _entries(
    *, interaction: Interaction, audience: Audience, chunk_size: int
) -> Iterator[TranscriptEntry]:
    customer_name = interaction.customer_name
    messages = Message.objects.filter(interaction_id=interaction.pk)
    if audience is not Audience.CONTACT_CENTER:
        # Whispers and internal notes never reach the customer's side.
        messages = messages.filter(internal=False)
    rows = (
        messages
        # Most messages have no data: NULL instead of "{}" spares decoding each one.
        .annotate(payload=NullIf("data", Value({}, output_field=JSONField())))
        .order_by("seq")
        .values_list(*_ENTRY_FIELDS)
        .iterator(chunk_size=chunk_size)
    )
    for seq, created_at, pre_escalation, kind, author_name, text, event, data, internal in rows:
        if kind == SenderKind.SYSTEM:
            sender = ""
        elif kind == SenderKind.CUSTOMER:
            sender = author_name or customer_name
        elif kind == SenderKind.BOT:
            sender = author_name or "Bot"
        else:
            sender = author_name or "CSR"
        note = None
        if (
            event == SystemEvent.TRANSFERRED
            and audience is Audience.CONTACT_CENTER
            and isinstance(data, dict)
        ):
            note = data.get("note") if isinstance(data.get("note"), str) else None
        yield TranscriptEntry(
            seq=seq,
            at=created_at,
            phase=Phase.BOT if pre_escalation else Phase.LIVE,
            sender_kind=kind,
            sender=sender,
            text=text,
            event=event,
            note=note or None,
            attachments=attachment_names(data),
            files=attachment_links(data),
            internal=internal,
        )


def contact_center_time_zone() -> tuple[zoneinfo.ZoneInfo, str]:
    """The App Studio time zone and its name; UTC (logged) if the stored name is not
    one this server knows (the admin's validator normally prevents that)."""
    name = app_studio_settings_get().time_zone
    try:
        return zoneinfo.ZoneInfo(name), name
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        logger.warning("App Studio time zone %r is unknown; transcripts use UTC.", name)
        return zoneinfo.ZoneInfo("UTC"), "UTC"


def transcript_build(
    *,
    interaction: Interaction,
    audience: Audience,
    chunk_size: int = MESSAGE_CHUNK_SIZE,
) -> Transcript:
    """The transcript of `interaction` (from `transcript_interaction_get`): the header
    is read now (one query for the CSRs' names), the messages lazily, in chunks of
    `chunk_size`, when the entries are iterated (one query)."""
    zone, zone_name = contact_center_time_zone()
    header = TranscriptHeader(
        interaction_id=interaction.pk,
        status=interaction.status,
        status_label=str(interaction.get_status_display()),  # type: ignore[attr-defined]
        customer_name=interaction.customer_name,
        customer_external_id=interaction.customer.external_id,
        channel=interaction.channel.name,
        queue=interaction.queue.name,
        csrs=transcript_csr_names(interaction=interaction),
        started_at=interaction.created_at,
        ended_at=interaction.ended_at,
        authenticated=bool(interaction.authenticated),
    )
    return Transcript(
        header=header,
        entries=_entries(interaction=interaction, audience=audience, chunk_size=chunk_size),
        time_zone=zone,
        time_zone_name=zone_name,
    )
