"""State changes of co-browse sessions: request, the customer's answer, the end.

Each runs in one transaction that locks the chat's interaction row first (the chat
app's lock order), writes the session and the system message, and publishes after
commit (cobrowse.events). The page itself never passes through here."""

import contextlib
import logging
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from chat.locks import interaction_lock
from chat.models import Interaction, SenderKind, SystemEvent
from chat.services.messages import message_create
from cobrowse import events, selectors
from cobrowse.conf import cobrowse_setting
from cobrowse.errors import CobrowseError
from cobrowse.models import (
    OPEN_STATUSES,
    CobrowseSession,
    EndedBy,
    EndReason,
    SessionStatus,
    StartedVia,
)
from cobrowse.stream import last_active_at, stream_clear, viewers_count
from config.oncommit import on_commit_robust
from config.tasks import task_enqueue_on_commit
from config.users import display_name

logger = logging.getLogger(__name__)

EXPIRE_TASK = "cobrowse.tasks.session_expire"

# What the conversation (and the transcript) says when a session ends, by reason.
END_TEXTS = {
    EndReason.CHAT_CLOSED: "Co-browse ended: the chat ended",
    EndReason.TRANSFERRED: "Co-browse ended: the chat was transferred",
    EndReason.REQUEUED: "Co-browse ended: the chat went back to its queue",
    EndReason.PANEL_CLOSED: "Co-browse ended: the CSR closed the chat panel",
    EndReason.IDLE: "Co-browse ended: the customer's page was idle",
}


def _too_large_text(size: int, limit: int) -> str:
    return (
        f"Co-browse ended: the customer's page is too large to share "
        f"({size // 1000:,} KB; the limit is {limit // 1000:,} KB)"
    )


def _session_lock(session_id: int) -> CobrowseSession | None:
    return (
        CobrowseSession.objects.select_for_update(of=("self",))
        .select_related("csr")
        .filter(pk=session_id)
        .first()
    )


def cobrowse_request(
    *, interaction_id: int, user: AbstractBaseUser, via: str = StartedVia.ACTIONS
) -> CobrowseSession:
    """The CSR asks the customer to share their page. Refused (CobrowseError) on a
    public channel, with co-browse switched off, when the CSR does not handle the active
    chat, when this chat or this CSR already has a session. The customer's widget shows
    the consent prompt; with no answer within the consent timeout the request lapses."""
    if via not in StartedVia.values:
        raise CobrowseError("bad_via", f"via must be one of: {', '.join(StartedVia.values)}.")
    try:
        with transaction.atomic():
            interaction = interaction_lock(interaction_id, "channel")
            if interaction is None:
                raise CobrowseError("not_found", "This chat does not exist.")
            refusal = selectors.cobrowse_start_refusal(interaction=interaction, user=user)
            if refusal:
                code = "not_party" if refusal == selectors.COBROWSE_NOT_YOURS else "unavailable"
                raise CobrowseError(code, f"{refusal}.")
            if selectors.interaction_open_session(interaction_id=interaction.pk) is not None:
                raise CobrowseError("already_on", f"{selectors.COBROWSE_RUNNING}.")
            if selectors.csr_open_session(user_id=user.pk) is not None:
                raise CobrowseError(
                    "csr_busy",
                    "You already have a co-browse session in another chat: end it first.",
                )
            session = CobrowseSession.objects.create(
                interaction=interaction,
                csr_id=user.pk,
                started_via=via,
                requested_at=timezone.now(),
            )
            events.session_changed(
                session=session,
                message=f"{display_name(user)} would like to see this page with you",
            )
            task_enqueue_on_commit(
                EXPIRE_TASK, session.pk, countdown=cobrowse_setting("CONSENT_TIMEOUT_SECONDS")
            )
    except IntegrityError as error:
        # Two starts at once: the constraint let one through.
        raise CobrowseError("already_on", f"{selectors.COBROWSE_RUNNING}.") from error
    logger.info(
        "CSR %s requested co-browse %s in interaction %s", user.pk, session.pk, interaction_id
    )
    return session


def cobrowse_answer(*, session_id: int, interaction_id: int, allow: bool) -> CobrowseSession:
    """The customer's Allow or Decline. Allow starts the session ("Co-browse started");
    Decline ends it and tells the CSR."""
    with transaction.atomic():
        interaction = interaction_lock(interaction_id)
        session = _session_lock(session_id)
        if interaction is None or session is None or session.interaction_id != interaction_id:
            raise CobrowseError("not_found", "This co-browse session does not exist.")
        if session.status != SessionStatus.REQUESTED:
            if allow and session.status == SessionStatus.ACTIVE:
                return session  # a repeated Allow (another tab, a retry)
            raise CobrowseError("not_requested", "This co-browse request is no longer open.")
        now = timezone.now()
        if allow:
            session.status = SessionStatus.ACTIVE
            session.started_at = now
            session.save(update_fields=["status", "started_at"])
            text = "Co-browse started"
        else:
            session.status = SessionStatus.DECLINED
            session.ended_at = now
            session.ended_by = EndedBy.CUSTOMER
            session.end_reason = EndReason.DECLINED
            session.save(update_fields=["status", "ended_at", "ended_by", "end_reason"])
            text = "The customer declined co-browse"
        message_create(
            interaction=interaction,
            sender_kind=SenderKind.SYSTEM,
            text=text,
            event=SystemEvent.COBROWSE_STARTED if allow else SystemEvent.COBROWSE_DECLINED,
            data={"session_id": session.pk, "csr": display_name(session.csr)},
        )
        events.session_changed(session=session, message=text)
    return session


def cobrowse_expire(*, session_id: int) -> CobrowseSession | None:
    """The consent timeout: a request still unanswered when it is due lapses and the CSR
    is told; None when nothing changed."""
    session = (
        CobrowseSession.objects.filter(pk=session_id).only("interaction_id", "requested_at").first()
    )
    if session is None:
        return None
    due = session.requested_at.timestamp() + cobrowse_setting("CONSENT_TIMEOUT_SECONDS")
    if timezone.now().timestamp() < due:
        return None  # not yet (an eager run, or a timer that fired early)
    with transaction.atomic():
        interaction = interaction_lock(session.interaction_id)
        locked = _session_lock(session_id)
        if interaction is None or locked is None or locked.status != SessionStatus.REQUESTED:
            return None
        locked.status = SessionStatus.UNANSWERED
        locked.ended_at = timezone.now()
        locked.ended_by = EndedBy.SYSTEM
        locked.end_reason = EndReason.NO_ANSWER
        locked.save(update_fields=["status", "ended_at", "ended_by", "end_reason"])
        text = "The customer did not answer the co-browse request"
        message_create(
            interaction=interaction,
            sender_kind=SenderKind.SYSTEM,
            text=text,
            event=SystemEvent.COBROWSE_DECLINED,
            data={"session_id": locked.pk, "reason": EndReason.NO_ANSWER},
        )
        events.session_changed(session=locked, message=text)
    return locked


def cobrowse_end(
    *,
    session_id: int,
    ended_by: str,
    reason: str,
    user: AbstractBaseUser | None = None,
    interaction_id: int | None = None,
    detail: str = "",
) -> CobrowseSession:
    """End a requested or running session: by the customer (End in the widget), by the
    CSR (End co-browse; only the CSR who started it), or by the system (idle, panel
    closed, page too large). "Co-browse ended …" goes into the conversation."""
    found = CobrowseSession.objects.filter(pk=session_id).only("interaction_id").first()
    if found is None or (interaction_id is not None and found.interaction_id != interaction_id):
        raise CobrowseError("not_found", "This co-browse session does not exist.")
    with transaction.atomic():
        interaction = interaction_lock(found.interaction_id)
        session = _session_lock(session_id)
        if interaction is None or session is None:
            raise CobrowseError("not_found", "This co-browse session does not exist.")
        if ended_by == EndedBy.CSR and (user is None or session.csr_id != user.pk):
            raise CobrowseError("not_party", "Only the CSR who started it may end this session.")
        if session.status not in OPEN_STATUSES:
            raise CobrowseError("not_open", "This co-browse session has already ended.")
        _end(interaction, session, ended_by=ended_by, reason=reason, detail=detail)
    return session


def _end(
    interaction: Interaction,
    session: CobrowseSession,
    *,
    ended_by: str,
    reason: str,
    detail: str = "",
) -> None:
    """Close the session (the interaction row is locked by the caller), say so in the
    chat and on both sides, and forget its page."""
    was_running = session.status == SessionStatus.ACTIVE
    session.status = SessionStatus.ENDED
    session.ended_at = timezone.now()
    session.ended_by = ended_by
    session.end_reason = reason
    session.save(update_fields=["status", "ended_at", "ended_by", "end_reason"])
    if detail:
        text = detail
    elif reason in END_TEXTS:
        text = END_TEXTS[EndReason(reason)]
    elif ended_by == EndedBy.CUSTOMER:
        text = "Co-browse ended by the customer"
    else:
        text = f"Co-browse ended by {display_name(session.csr)}"
    if not was_running:
        text = text.replace("Co-browse ended", "Co-browse request withdrawn", 1)
    message_create(
        interaction=interaction,
        sender_kind=SenderKind.SYSTEM,
        text=text,
        event=SystemEvent.COBROWSE_ENDED,
        data={"session_id": session.pk, "ended_by": ended_by, "reason": reason},
    )
    events.session_changed(session=session, message=text)
    on_commit_robust(_forget_page, session.pk)


def _forget_page(session_id: int) -> None:
    stream_clear(session_id)


def interaction_sessions_end(*, interaction: Interaction, reason: str) -> None:
    """End the chat's open session, if any, inside the caller's transaction, which holds
    the interaction's row lock (the chat closing or being transferred)."""
    session = (
        CobrowseSession.objects.select_for_update(of=("self",))
        .select_related("csr")
        .filter(interaction_id=interaction.pk, status__in=OPEN_STATUSES)
        .first()
    )
    if session is not None:
        _end(interaction, session, ended_by=EndedBy.SYSTEM, reason=reason)


def interaction_sessions_end_by_id(*, interaction_id: int, reason: str) -> None:
    """interaction_sessions_end in a transaction of its own (after a transfer commits)."""
    if not CobrowseSession.objects.filter(
        interaction_id=interaction_id, status__in=OPEN_STATUSES
    ).exists():
        return
    with transaction.atomic():
        interaction = interaction_lock(interaction_id)
        if interaction is not None:
            interaction_sessions_end(interaction=interaction, reason=reason)


def session_too_large(*, session_id: int, size: int, limit: int) -> None:
    """The customer's page is over the snapshot limit: the session ends, and both sides
    are told why (instead of a viewer that waits for ever)."""
    with contextlib.suppress(CobrowseError):  # ended meanwhile
        cobrowse_end(
            session_id=session_id,
            ended_by=EndedBy.SYSTEM,
            reason=EndReason.TOO_LARGE,
            detail=_too_large_text(size, limit),
        )


def session_idle_check(*, session_id: int) -> bool:
    """End a running session whose customer page has been silent past IDLE_SECONDS
    (counted from its start at the earliest); True when it ended."""
    session = CobrowseSession.objects.filter(pk=session_id).first()
    if session is None or session.status != SessionStatus.ACTIVE:
        return False
    started = session.started_at.timestamp() if session.started_at else 0.0
    last = max(last_active_at(session_id) or 0.0, started)
    if timezone.now().timestamp() - last < cobrowse_setting("IDLE_SECONDS"):
        return False
    return _end_quietly(session_id, EndReason.IDLE)


def session_viewer_check(*, session_id: int) -> bool:
    """End an open session that has had no CSR viewer connected for
    VIEWER_GRACE_SECONDS (the CSR closed the chat panel); True when it ended."""
    session = CobrowseSession.objects.filter(pk=session_id).first()
    if session is None or not session.is_open or viewers_count(session_id) > 0:
        return False
    since = session.started_at or session.requested_at
    if (timezone.now() - since).total_seconds() < cobrowse_setting("VIEWER_GRACE_SECONDS"):
        return False
    return _end_quietly(session_id, EndReason.PANEL_CLOSED)


def _end_quietly(session_id: int, reason: str) -> bool:
    try:
        cobrowse_end(session_id=session_id, ended_by=EndedBy.SYSTEM, reason=reason)
    except CobrowseError:
        return False  # ended meanwhile
    return True


def sessions_sweep() -> int:
    """The backstop for timers lost with their socket or worker: lapse unanswered
    requests, end idle sessions and sessions whose CSR viewer is gone. Returns how many
    it changed."""
    changed = 0
    timeout = cobrowse_setting("CONSENT_TIMEOUT_SECONDS")
    overdue = timezone.now() - timedelta(seconds=timeout)
    for session_id in CobrowseSession.objects.filter(
        status=SessionStatus.REQUESTED, requested_at__lte=overdue
    ).values_list("pk", flat=True):
        changed += cobrowse_expire(session_id=session_id) is not None
    for session_id in CobrowseSession.objects.filter(status__in=OPEN_STATUSES).values_list(
        "pk", flat=True
    ):
        changed += session_idle_check(session_id=session_id) or session_viewer_check(
            session_id=session_id
        )
    return changed
