"""Hooks the chat app offers the apps built on it.

chat sits below routing (docs/architecture.md) and never imports it; when a chat closes,
routing has work of its own to do on it (withdraw a pending offer, give the CSR's room
to the next chat); when a customer's socket opens, routing tells the customer their place
in line; when a customer who waited long answers the choice routing offered them, routing
acts on it. It subscribes here, in its AppConfig.ready().
"""

from typing import Any

from django.dispatch import Signal

from chat.errors import ChatError
from chat.models import Interaction

# Sent by chat.services.interactions.interaction_end inside the transaction that closes
# an interaction, with its row locked: kwargs `interaction` (status `ended` or
# `abandoned`) and `csr_id` (the CSR who had it, or None). Receivers write in the same
# transaction and publish only after it commits.
interaction_closed = Signal()

# Sent by the customer's chat socket after its replay, outside any transaction: kwargs
# `interaction`. Each receiver returns a list of payloads for that socket: what the app
# above holds about the chat for its customer (routing: the queue position, and the
# choice offered after a long wait while it stands).
customer_chat_opened = Signal()

# Sent when the customer answers the choice offered after a long wait (the socket's
# `wait.choice`): kwargs `interaction_id`, `choice`, `text`. The receiver makes the
# choice and returns the payload to answer with, or raises ChatError.
customer_wait_choice = Signal()

# Sent after the transaction that stored a customer's message commits (never inside it):
# kwargs `interaction_id`, `seq`. The apps above react without slowing the send down
# (assist queues its suggestions for the CSR's panel).
customer_message_stored = Signal()

# Sent whenever a CSR manager (not the chat's own CSR) would open a chat: the portal's
# interaction window, the observer's chat socket, its attachments, its transcript:
# kwargs `interaction`, `user`. A receiver returning False refuses (supervision: the
# manager is limited to queues and this chat is in none of them); None or True lets it be.
manager_access_check = Signal()

# Sent after the transaction that stored a customer's answer to the satisfaction survey
# commits: kwargs `interaction_id`, `rating` (1-5), `comment`. The apps above update what
# they keep about the chat (reports: its fact row).
satisfaction_rated = Signal()


def customer_message_stored_send(*, interaction_id: int, seq: int) -> None:
    """Tell the apps above about a customer's message (called after commit)."""
    customer_message_stored.send(sender=Interaction, interaction_id=interaction_id, seq=seq)


def customer_chat_payloads(*, interaction: Interaction) -> list[dict[str, Any]]:
    """What the apps above send a customer's socket once it has replayed."""
    responses: list[tuple[Any, Any]] = customer_chat_opened.send(
        sender=Interaction, interaction=interaction
    )
    return [payload for _, payloads in responses for payload in payloads or ()]


def customer_wait_choice_make(
    *, interaction_id: int, choice: str, text: str | None
) -> dict[str, Any]:
    """Hand the customer's choice to the app that offered it; its answer."""
    responses: list[tuple[Any, Any]] = customer_wait_choice.send(
        sender=Interaction, interaction_id=interaction_id, choice=choice, text=text
    )
    for _, answer in responses:
        if answer is not None:
            return answer
    raise ChatError("no_wait_choice", "There is no choice to make in this chat.")


def manager_may_access(*, interaction: Interaction, user: Any) -> bool:
    """Whether no app above refuses this CSR manager the chat (manager_access_check)."""
    responses: list[tuple[Any, Any]] = manager_access_check.send(
        sender=Interaction, interaction=interaction, user=user
    )
    return all(answer is not False for _, answer in responses)
