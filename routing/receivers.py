"""What routing does on the chat app's hooks (chat.signals): a chat closes, a customer's
socket opens, a customer answers the choice offered after a long wait."""

from typing import Any

from chat.models import Interaction, InteractionStatus
from routing import events
from routing.locks import pending_offer_lock
from routing.services.offers import offer_withdraw
from routing.services.presence import csr_chat_ended
from routing.services.waits import long_wait_choose
from routing.services.wrapups import wrapup_open


def interaction_closed(*, interaction: Interaction, csr_id: int | None, **kwargs: Any) -> None:
    """Inside the closing transaction (the interaction's row locked): a pending offer of
    the chat is withdrawn; the CSR who had it starts its wrap-up, or has room for the
    next chat at once when the queue has none; a chat that left its queue changes the
    queue's counts."""
    pending = pending_offer_lock(interaction_id=interaction.pk)
    if pending is not None:
        offer_withdraw(
            pending, reason="The customer left." if csr_id is None else "The chat ended."
        )
    if interaction.status == InteractionStatus.ABANDONED:
        events.queue_changed(queue_id=interaction.queue_id)
    # In wrap-up the chat keeps the CSR's place until it is released.
    if (
        csr_id is not None
        and interaction.status == InteractionStatus.ENDED
        and wrapup_open(interaction=interaction, csr_id=csr_id) is None
    ):
        csr_chat_ended(user_id=csr_id)


def customer_chat_opened(*, interaction: Interaction, **kwargs: Any) -> list[dict]:
    """A customer's socket opened: their place in line and a choice that stands."""
    return list(events.customer_state_payloads(interaction=interaction))


def customer_wait_choice(
    *, interaction_id: int, choice: str, text: str | None, **kwargs: Any
) -> dict:
    wait, made = long_wait_choose(interaction_id=interaction_id, choice=choice, text=text)
    return {
        **events.wait_chosen_payload(interaction_id=interaction_id, choice=wait.choice),
        "duplicate": not made,
    }
