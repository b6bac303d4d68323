"""Reads of co-browse: whether a chat may co-browse (and why not), the open session of a
chat, and who may view a session."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Prefetch

from chat.models import Interaction, InteractionStatus
from chat.selectors.settings import app_studio_settings_get
from chat.signals import manager_may_access
from cobrowse.conf import cobrowse_setting
from cobrowse.models import OPEN_STATUSES, CobrowseSession, SessionStatus
from config.users import Role, display_name, user_roles

COBROWSE_PUBLIC_CHANNEL = "Co-browse is not available on public channels"
COBROWSE_OFF_IN_APP_STUDIO = "Co-browse is turned off in App Studio"
COBROWSE_OFF_FOR_CHANNEL = "Co-browse is turned off for this channel in App Studio"
COBROWSE_NOT_ACTIVE = "The chat is not active"
COBROWSE_NOT_YOURS = "You are not handling this chat"
COBROWSE_RUNNING = "A co-browse session is already on in this chat"


def cobrowse_unavailable_reason(*, interaction: Interaction) -> str:
    """Why this chat cannot co-browse at all (its channel, App Studio); "" when it can.
    The rules of the reference page: public channels never, and only while App Studio's
    co-browse switch and the channel's own switch are on."""
    if interaction.channel.is_public:
        return COBROWSE_PUBLIC_CHANNEL
    if not app_studio_settings_get().cobrowse_enabled:
        return COBROWSE_OFF_IN_APP_STUDIO
    if not interaction.channel.cobrowse_allowed:
        return COBROWSE_OFF_FOR_CHANNEL
    return ""


def cobrowse_start_refusal(*, interaction: Interaction, user: AbstractBaseUser) -> str:
    """Why `user` cannot start co-browse in this chat now; "" when they can. The server
    checks this on every start, whatever the page showed."""
    if reason := cobrowse_unavailable_reason(interaction=interaction):
        return reason
    if interaction.assigned_csr_id != user.pk or Role.CSR not in user_roles(user):
        return COBROWSE_NOT_YOURS
    if interaction.status != InteractionStatus.ACTIVE:
        return COBROWSE_NOT_ACTIVE
    return ""


def interaction_open_session(*, interaction_id: int) -> CobrowseSession | None:
    """The chat's requested or running session, if any."""
    return (
        CobrowseSession.objects.select_related("csr")
        .filter(interaction_id=interaction_id, status__in=OPEN_STATUSES)
        .first()
    )


def csr_open_session(*, user_id: int) -> CobrowseSession | None:
    """The CSR's requested or running session, in whatever chat (one at a time)."""
    return CobrowseSession.objects.filter(csr_id=user_id, status__in=OPEN_STATUSES).first()


def session_get(*, session_id: int) -> CobrowseSession | None:
    return (
        CobrowseSession.objects.select_related("csr", "interaction").filter(pk=session_id).first()
    )


def session_viewer_role(
    *, session: CobrowseSession, user: AbstractBaseUser | AnonymousUser
) -> str | None:
    """ "csr" for the CSR who started the session and still handles its chat (views and
    points), "observer" for a CSR manager who may open the chat (views only), None for
    anyone else."""
    if not user.is_authenticated:
        return None
    roles = user_roles(user)
    if (
        session.csr_id == user.pk
        and session.interaction.assigned_csr_id == user.pk
        and Role.CSR in roles
    ):
        return "csr"
    if Role.CSR_MANAGER in roles and manager_may_access(interaction=session.interaction, user=user):
        return "observer"
    return None


def session_state(session: CobrowseSession | None) -> dict[str, Any] | None:
    """What a chat panel or a customer's widget shows of a session (JSON-ready)."""
    if session is None:
        return None
    return {
        "session_id": session.pk,
        "status": session.status,
        "csr_name": display_name(session.csr),
        "requested_at": session.requested_at.isoformat(),
        "started_at": session.started_at.isoformat() if session.started_at else None,
        "consent_timeout_seconds": cobrowse_setting("CONSENT_TIMEOUT_SECONDS"),
    }


OPEN_SESSIONS_ATTR = "open_cobrowse_sessions"


def open_sessions_prefetch() -> Prefetch:
    """Prefetch of each interaction's open session, for pages that show several chats
    (interaction_cobrowse_state then needs no query of its own)."""
    return Prefetch(
        "cobrowse_sessions",
        queryset=CobrowseSession.objects.filter(status__in=OPEN_STATUSES).select_related("csr"),
        to_attr=OPEN_SESSIONS_ATTR,
    )


def interaction_cobrowse_state(*, interaction: Interaction) -> dict[str, Any] | None:
    """The chat panel's co-browse state: its open session, or None (a closed chat has
    none: no query)."""
    if not interaction.is_open:
        return None
    prefetched = getattr(interaction, OPEN_SESSIONS_ATTR, None)
    if prefetched is not None:
        return session_state(prefetched[0] if prefetched else None)
    return session_state(interaction_open_session(interaction_id=interaction.pk))


def session_is_live(session: CobrowseSession) -> bool:
    return session.status == SessionStatus.ACTIVE
