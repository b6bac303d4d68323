"""What routing does when the chat app closes a chat (chat.signals)."""

from typing import Any

from chat.models import Interaction, InteractionStatus
from routing import events
from routing.locks import pending_offer_lock
from routing.services.offers import offer_withdraw
from routing.services.presence import csr_chat_ended


def interaction_closed(*, interaction: Interaction, csr_id: int | None, **kwargs: Any) -> None:
    """Inside the closing transaction (the interaction's row locked): a pending offer of
    the chat is withdrawn; the CSR who had it has room for the next chat; a chat that
    left its queue changes the queue's counts."""
    pending = pending_offer_lock(interaction_id=interaction.pk)
    if pending is not None:
        offer_withdraw(
            pending, reason="The customer left." if csr_id is None else "The chat ended."
        )
    if interaction.status == InteractionStatus.ABANDONED:
        events.queue_changed(queue_id=interaction.queue_id)
    if csr_id is not None and interaction.status == InteractionStatus.ENDED:
        csr_chat_ended(user_id=csr_id)
