"""Payload builders for co-browse's live events, and the groups they go to.

The session's state travels on the chat's interaction group (both chat sockets forward
it: the customer's widget shows the consent prompt, the CSR's panel its viewer); the
page itself travels on the session's own group, from the customer's co-browse socket to
the viewers' (cobrowse.consumers)."""

from chat.events import INTERACTION_HANDLER, interaction_group
from cobrowse import schemas
from cobrowse.conf import cobrowse_setting
from cobrowse.models import CobrowseSession
from config.realtime import publish_on_commit
from config.users import display_name

SESSION_CONTROL_HANDLER = "cobrowse.control"
SESSION_EVENTS_HANDLER = "cobrowse.events"
SESSION_POINTER_HANDLER = "cobrowse.pointer"


def viewers_group(session_id: int) -> str:
    """The session's CSR viewer sockets: the page's frames, the session's state."""
    return f"cobrowse.{session_id}.viewers"


def customer_group(session_id: int) -> str:
    """The session's customer sockets: the CSR's pointer, the session's state."""
    return f"cobrowse.{session_id}.customer"


def state_payload(session: CobrowseSession, message: str = "") -> schemas.CobrowseStatePayload:
    return {
        "type": "cobrowse.state",
        "interaction_id": session.interaction_id,
        "session_id": session.pk,
        "status": session.status,
        "csr_name": display_name(session.csr),
        "consent_timeout_seconds": cobrowse_setting("CONSENT_TIMEOUT_SECONDS"),
        "reason": session.end_reason,
        "ended_by": session.ended_by,
        "message": message,
    }


def control_payload(session: CobrowseSession, message: str = "") -> schemas.SessionControlPayload:
    return {
        "type": "state",
        "session_id": session.pk,
        "status": session.status,
        "reason": session.end_reason,
        "ended_by": session.ended_by,
        "message": message,
    }


def session_changed(*, session: CobrowseSession, message: str = "") -> None:
    """Tell both sides of the chat (after commit) what the session's state is now, and
    the session's own sockets, which close once it is over."""
    publish_on_commit(
        interaction_group(session.interaction_id),
        INTERACTION_HANDLER,
        state_payload(session, message),
    )
    control = control_payload(session, message)
    publish_on_commit(viewers_group(session.pk), SESSION_CONTROL_HANDLER, control)
    publish_on_commit(customer_group(session.pk), SESSION_CONTROL_HANDLER, control)
