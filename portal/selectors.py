"""Reads for the portal pages and the health check."""

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse

from cases.models import Case
from cases.selectors import interaction_cases
from chat.events import interaction_sentiment_state
from chat.models import (
    OPEN_INTERACTION_STATUSES,
    Interaction,
    InteractionStatus,
    Message,
    SatisfactionRating,
    SystemEvent,
)
from chat.selectors.satisfaction import satisfaction_label
from chat.selectors.settings import app_studio_settings_get
from chat.services.authentication import auth_request_unavailable, channel_auth_request_unavailable
from chat.services.messages import MAX_MESSAGE_CHARS as MAX_MESSAGE_LENGTH
from chat.signals import manager_may_access
from cobrowse.selectors import (  # noqa: F401 - the reasons, as the panel shows them
    COBROWSE_NOT_ACTIVE,
    COBROWSE_OFF_FOR_CHANNEL,
    COBROWSE_OFF_IN_APP_STUDIO,
    COBROWSE_PUBLIC_CHANNEL,
    cobrowse_unavailable_reason,
    interaction_cobrowse_state,
    open_sessions_prefetch,
)
from config.users import Role, display_name
from portal.models import CSRPreferences
from routing.models import Offer, OfferStatus
from supervision.selectors.scope import supervised_queue_ids


def health_report() -> dict:
    """Whether this process can serve: it needs the database. Redis down only delays live
    updates and tasks (docs/operations.md, "Redis outages"): reported, not failed, so a
    load balancer keeps every daphne in rotation through an outage."""
    checks = {"database": _database_ok(), "redis": _redis_ok()}
    return {"ok": checks["database"], "checks": checks}


def _database_ok() -> bool:
    try:
        connection.ensure_connection()
        return connection.is_usable()
    except Exception:
        return False


def _redis_ok() -> bool:
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
        )
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


# --- CSR Interaction Portal pages -------------------------------------------------------

RECENT_WORK_PAGE_SIZE = 25

AUTH_REQUEST_READ_ONLY = "You are watching this chat read-only"
AUTH_REQUEST_ENDED = "This chat has ended"


class PanelMode(StrEnum):
    """How a portal user sees one interaction."""

    LIVE = "live"  # the CSR handling it: reads and writes
    OBSERVER = "observer"  # a CSR manager watching a live chat
    READ_ONLY = "read_only"  # a closed chat (Recent work), or one no longer live


def _interactions() -> QuerySet[Interaction]:
    # The satisfaction survey's row (reverse one-to-one) joins too: no query per chat.
    return Interaction.objects.select_related(
        "customer", "channel", "queue", "assigned_csr", "satisfaction"
    )


def interaction_rating(interaction: Interaction) -> SatisfactionRating | None:
    """The chat's answered satisfaction survey, else None (read with _interactions)."""
    try:
        rating = interaction.satisfaction
    except ObjectDoesNotExist:
        return None
    return rating if rating.rating is not None else None


def rating_payload(interaction: Interaction) -> dict | None:
    rating = interaction_rating(interaction)
    if rating is None:
        return None
    return {
        "rating": rating.rating,
        "label": satisfaction_label(rating.rating),
        "comment": rating.comment,
        "answered_at": rating.answered_at.isoformat() if rating.answered_at else None,
    }


def portal_interaction_get(*, interaction_id: int) -> Interaction | None:
    """One interaction with everything the chat panel shows about it (and its wrap-up,
    shown under it, in the same query)."""
    return (
        _interactions()
        .select_related("wrapup__code", "wrapup__csr")
        .filter(pk=interaction_id)
        .first()
    )


def portal_panel_mode(*, interaction: Interaction, user, roles: set[Role]) -> PanelMode | None:
    """What `user` (with `roles`, from config.users.user_roles) may do with this
    interaction in the portal; None: nothing (403).

    The CSR it is assigned to works it while it is open and reads it once closed; a CSR
    who handled it before (a transfer or a lost connection moved it on) reads it; a CSR
    manager who took it over works it too; a CSR manager reads any interaction in the
    queues they supervise (chat.signals.manager_access_check); nobody else sees it."""
    mine = interaction.assigned_csr_id is not None and interaction.assigned_csr_id == user.pk
    if mine and roles & {Role.CSR, Role.CSR_MANAGER}:
        return PanelMode.LIVE if interaction.is_open else PanelMode.READ_ONLY
    if Role.CSR_MANAGER in roles and manager_may_access(interaction=interaction, user=user):
        return PanelMode.OBSERVER if interaction.is_open else PanelMode.READ_ONLY
    if Role.CSR in roles and csr_took_part(interaction_id=interaction.pk, user_id=user.pk):
        return PanelMode.READ_ONLY
    return None


def csr_took_part(*, interaction_id: int, user_id: int) -> bool:
    """Whether the CSR ever accepted an offer of this interaction (routing records every
    acceptance). Transcripts' "who may download" also counts a CSR named by a `joined`
    message (transcripts.selectors.transcript_user_may_download)."""
    return _accepted_offers(user_id=user_id).filter(interaction_id=interaction_id).exists()


def _accepted_offers(*, user_id: int) -> QuerySet[Offer]:
    return Offer.objects.filter(csr_id=user_id, status=OfferStatus.ACCEPTED)


def cobrowse_action_reason(*, interaction: Interaction, mode: PanelMode) -> str:
    """Why Start co-browse (and Add task → Co-Browsing Session) is disabled in this chat
    panel; empty when enabled. The channel and App Studio rules are co-browse's own
    (cobrowse.selectors), which the server enforces again on every start."""
    if reason := cobrowse_unavailable_reason(interaction=interaction):
        return reason
    if not interaction.is_open:
        return AUTH_REQUEST_ENDED
    if mode != PanelMode.LIVE:
        return AUTH_REQUEST_READ_ONLY
    if interaction.status != InteractionStatus.ACTIVE:
        return COBROWSE_NOT_ACTIVE
    return ""


def auth_request_unavailable_reason(*, interaction: Interaction, mode: PanelMode) -> str:
    """Why Request authentication is disabled in this chat panel; empty when enabled."""
    if not interaction.is_open:
        return AUTH_REQUEST_ENDED
    if mode != PanelMode.LIVE:
        return AUTH_REQUEST_READ_ONLY
    refusal = auth_request_unavailable(interaction=interaction)
    return refusal.message.rstrip(".") if refusal is not None else ""


def _channel_auth_request_reason(channel) -> str:
    refusal = channel_auth_request_unavailable(channel=channel)
    return refusal.message.rstrip(".") if refusal is not None else ""


def _name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


def _context_items(data: Any) -> list[dict[str, str]]:
    """Key/value pairs for display, values as text (nested values as compact JSON)."""
    if not isinstance(data, dict):
        return []
    items = []
    for key, value in data.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        items.append({"key": str(key), "value": text})
    return items


def interaction_panel(*, interaction: Interaction, mode: PanelMode) -> dict:
    """Everything the chat panel shows besides the conversation, as JSON-ready data.
    The customer is shown as they were in this interaction (its own copy of their
    details), not as a later chat may have changed them."""
    customer = interaction.customer
    channel = interaction.channel
    metadata = [
        {"key": key, "value": value}
        for key, value in (
            ("Name", interaction.customer_name),
            ("Email", interaction.customer_email),
            ("Phone", interaction.customer_phone),
            ("Customer ID", customer.external_id),
            ("Verified identity", interaction.customer_verified_identity),
        )
        if value
    ]
    return {
        "id": interaction.pk,
        "mode": str(mode),
        "status": interaction.status,
        "status_label": interaction.get_status_display(),
        "customer": {
            "name": interaction.customer_name,
            "authenticated": bool(interaction.authenticated),
            "metadata": metadata + _context_items(interaction.customer_metadata),
        },
        "channel": {
            "name": channel.name,
            "public": channel.is_public,
            # Why this channel never allows Request authentication; empty when it may.
            "auth_request_reason": _channel_auth_request_reason(channel),
        },
        "queue": interaction.queue.name,
        "intent": interaction.intent,
        "context": _context_items(interaction.context),
        "assigned_csr": _name(interaction.assigned_csr),
        "created_at": interaction.created_at.isoformat(),
        "accepted_at": interaction.accepted_at.isoformat() if interaction.accepted_at else None,
        "ended_at": interaction.ended_at.isoformat() if interaction.ended_at else None,
        "last_seq": interaction.last_seq,
        "customer_read_seq": interaction.customer_read_seq,
        "csr_read_seq": interaction.csr_read_seq,
        "actions": {
            "cobrowse": cobrowse_action_reason(interaction=interaction, mode=mode),
            # Everyone who may open the panel may download its transcript.
            "download_transcripts": "",
            "request_authentication": auth_request_unavailable_reason(
                interaction=interaction, mode=mode
            ),
        },
        # The chat's co-browse session (requested or on), or None.
        "cobrowse": interaction_cobrowse_state(interaction=interaction),
        "max_message_length": MAX_MESSAGE_LENGTH,
        "transcript_url": reverse("transcripts:download-txt", args=[interaction.pk]),
        # Element 2: shown only while App Studio has sentiment on; None until scored.
        "sentiment_enabled": app_studio_settings_get().sentiment_enabled,
        "sentiment": interaction_sentiment_state(
            interaction_id=interaction.pk,
            label=interaction.sentiment_label,
            score=interaction.sentiment_score,
            seq=interaction.sentiment_seq,
        ),
        # The customer's answer to the satisfaction survey, or None.
        "satisfaction": rating_payload(interaction),
    }


def csr_active_interactions(*, user) -> list[Interaction]:
    """The chats the CSR handles now, oldest accepted first (the tabs of My Work)."""
    return list(
        _interactions()
        .filter(assigned_csr_id=user.pk, status=InteractionStatus.ACTIVE)
        .prefetch_related(open_sessions_prefetch())
        .order_by("accepted_at", "pk")
    )


# --- Recent work ------------------------------------------------------------------------


@dataclass(frozen=True)
class RecentWorkQuery:
    """Recent work's search and filters (portal.forms.RecentWorkForm makes one)."""

    text: str = ""  # customer name, interaction ID or message text
    started_from: datetime | None = None  # the interaction started at or after this...
    started_before: datetime | None = None  # ...and before this
    queue_id: int | None = None  # the interaction's queue, or the one the CSR took it from
    channel_id: int | None = None


@dataclass(frozen=True)
class WorkPart:
    """One stretch of an interaction that a CSR handled: from their accepting it to the
    first of their losing it with their connection, the next CSR's accepting it, or the
    end (None while it is still theirs or no one has taken it since)."""

    start: datetime
    end: datetime | None

    @property
    def duration(self) -> str:
        return duration_text(start=self.start, end=self.end)


@dataclass(frozen=True)
class RecentWorkRow:
    """One line of Recent work: the interaction, the CSR's own part(s) of it, and who
    handles it now if it is still open."""

    interaction: Interaction
    parts: list[WorkPart]
    handled_by: str  # the CSR who has it now, if another one; "" otherwise
    cases: tuple[Case, ...] = ()  # the service cases opened in it

    @property
    def started_at(self) -> datetime:
        return self.interaction.created_at

    @property
    def rating(self) -> SatisfactionRating | None:
        """The customer's answer to the satisfaction survey, if they gave one."""
        return interaction_rating(self.interaction)

    @property
    def duration(self) -> str:
        """The whole interaction's duration, from its escalation to its end."""
        return duration_text(start=self.interaction.created_at, end=self.interaction.ended_at)


def csr_recent_work(*, user, query: RecentWorkQuery | None = None) -> QuerySet[Interaction]:
    """Every interaction the CSR took part in (accepted an offer of, or is assigned) and
    no longer handles: ended or abandoned, or moved on to another CSR or back to a
    queue. The ones they handle now are in My Work. Newest first, by when the
    interaction started; searched and filtered by `query`."""
    query = query or RecentWorkQuery()
    accepted = _accepted_offers(user_id=user.pk)
    interactions = (
        _interactions()
        .select_related("wrapup__code")  # the wrap-up's code and summary in each row
        .filter(Q(pk__in=accepted.values("interaction_id")) | Q(assigned_csr_id=user.pk))
        .exclude(assigned_csr_id=user.pk, status__in=OPEN_INTERACTION_STATUSES)
    )
    if query.text:
        said = Message.objects.filter(interaction=OuterRef("pk"), text__icontains=query.text)
        matches = Q(customer_name__icontains=query.text) | Q(Exists(said))
        number = query.text.removeprefix("#")
        if number.isascii() and number.isdigit() and len(number) <= 18:
            matches |= Q(pk=int(number))
        interactions = interactions.filter(matches)
    if query.started_from is not None:
        interactions = interactions.filter(created_at__gte=query.started_from)
    if query.started_before is not None:
        interactions = interactions.filter(created_at__lt=query.started_before)
    if query.queue_id is not None:
        took_from = accepted.filter(queue_id=query.queue_id).values("interaction_id")
        interactions = interactions.filter(Q(queue_id=query.queue_id) | Q(pk__in=took_from))
    if query.channel_id is not None:
        interactions = interactions.filter(channel_id=query.channel_id)
    return interactions.order_by("-created_at", "-pk")


def recent_work_rows(*, interactions: list[Interaction], user) -> list[RecentWorkRow]:
    """Recent work's lines for one page of `csr_recent_work`, with the CSR's own parts,
    read from the accepted offers of those interactions and the system messages where
    the CSR lost them with their connection (two queries): each part runs from an
    acceptance of theirs to that loss, the next acceptance by anyone, or the end,
    whichever comes first."""
    acceptances: dict[int, list[tuple[int, datetime]]] = {}
    for interaction_id, csr_id, responded_at in (
        Offer.objects.filter(
            interaction_id__in=[interaction.pk for interaction in interactions],
            status=OfferStatus.ACCEPTED,
        )
        .order_by("interaction_id", "responded_at", "pk")
        .values_list("interaction_id", "csr_id", "responded_at")
    ):
        if responded_at is not None:  # an accepted offer always has it
            acceptances.setdefault(interaction_id, []).append((csr_id, responded_at))
    # Where the CSR lost a chat with their connection (back in line): their part ends
    # there, not when the next CSR accepts it. (A transfer keeps the chat theirs until
    # someone accepts it.)
    left: dict[int, list[datetime]] = {}
    for interaction_id, at in Message.objects.filter(
        interaction_id__in=[interaction.pk for interaction in interactions],
        event=SystemEvent.REQUEUED,
        data__left_csr_id=user.pk,
    ).values_list("interaction_id", "created_at"):
        left.setdefault(interaction_id, []).append(at)
    cases = interaction_cases(interaction_ids=[interaction.pk for interaction in interactions])
    rows = []
    for interaction in interactions:
        taken = acceptances.get(interaction.pk, [])
        parts = []
        for index, (csr_id, at) in enumerate(taken):
            if csr_id != user.pk:
                continue
            ends = [moment for moment in left.get(interaction.pk, []) if moment >= at]
            if index + 1 < len(taken):
                ends.append(taken[index + 1][1])
            elif interaction.ended_at is not None:
                ends.append(interaction.ended_at)
            parts.append(WorkPart(start=at, end=min(ends, default=None)))
        if not parts and interaction.assigned_csr_id == user.pk:
            # Assigned without a recorded acceptance (data made by hand): the one part.
            start = interaction.accepted_at or interaction.created_at
            parts = [WorkPart(start=start, end=interaction.ended_at)]
        other = interaction.assigned_csr
        handled_by = (
            display_name(other)
            if interaction.is_open and other is not None and other.pk != user.pk
            else ""
        )
        rows.append(
            RecentWorkRow(
                interaction=interaction,
                parts=parts,
                handled_by=handled_by,
                cases=tuple(cases.get(interaction.pk, ())),
            )
        )
    return rows


def live_interactions(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Interaction]:
    """Every open interaction of the queues the CSR manager supervises (all queues unless
    limited): active first, then waiting, oldest first."""
    interactions = _interactions().filter(status__in=OPEN_INTERACTION_STATUSES)
    scope = supervised_queue_ids(user=user)
    if scope is not None:
        interactions = interactions.filter(queue_id__in=scope)
    return interactions.order_by("status", "created_at")


def interaction_messages(*, interaction_id: int) -> list[Message]:
    return list(Message.objects.filter(interaction_id=interaction_id).order_by("seq"))


def duration_text(*, start, end) -> str:
    """A duration for people: "45 s", "12 min 5 s", "1 h 02 min"."""
    if not start or not end:
        return ""
    seconds = max(0, int((end - start).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


# --- A CSR's preferences ------------------------------------------------------------------


def csr_preferences_get(*, user_id: int) -> dict[str, Any]:
    """The CSR's notification preferences as My Work uses them (the defaults when the
    CSR never saved any)."""
    row = CSRPreferences.objects.filter(user_id=user_id).first()
    if row is None:
        return {
            "sound_enabled": CSRPreferences.DEFAULT_SOUND_ENABLED,
            "sound_volume": CSRPreferences.DEFAULT_SOUND_VOLUME,
        }
    return {"sound_enabled": row.sound_enabled, "sound_volume": row.sound_volume}
