"""Co-browse's part in the chat's life (connected in CobrowseConfig.ready()): a session
ends when its chat closes or is transferred, and a customer's widget that (re)connects —
a reload, or the customer moving to another page of the site — learns the session that
stands."""

from typing import Any

from chat.models import Interaction, Message, SystemEvent
from cobrowse import events, selectors, services
from cobrowse.models import EndReason
from config.oncommit import on_commit_robust

# The system messages of a chat leaving its CSR, and why its session ends then.
MOVED: dict[str, EndReason] = {
    SystemEvent.TRANSFERRED: EndReason.TRANSFERRED,
    SystemEvent.REQUEUED: EndReason.REQUEUED,
    SystemEvent.TAKEN_OVER: EndReason.TRANSFERRED,
}


def interaction_closed(sender: Any, *, interaction: Interaction, **kwargs: Any) -> None:
    """chat.signals.interaction_closed, in the closing transaction (the row is locked)."""
    services.interaction_sessions_end(interaction=interaction, reason=EndReason.CHAT_CLOSED)


def message_saved(sender: Any, *, instance: Message, created: bool, **kwargs: Any) -> None:
    """A transfer or a chat going back to its queue (routing writes a `transferred` or
    `requeued` system message): once that commits, the chat's session ends, in a
    transaction of its own."""
    if created and instance.event in MOVED:
        on_commit_robust(
            services.interaction_sessions_end_by_id,
            interaction_id=instance.interaction_id,
            reason=MOVED[instance.event],
        )


def customer_chat_opened(sender: Any, *, interaction: Interaction, **kwargs: Any) -> list[dict]:
    """chat.signals.customer_chat_opened: the open session, for the widget to show its
    consent prompt again or to carry on sharing the new page."""
    session = selectors.interaction_open_session(interaction_id=interaction.pk)
    return [dict(events.state_payload(session))] if session is not None else []
