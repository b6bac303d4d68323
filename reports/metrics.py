"""The facts of one closed chat, computed from its interaction, offers and messages.

A pure function over plain values, so that the rollup (reading the database) and the
history seed (generating rows) compute every figure the one same way. Definitions:
docs/reports.md."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chat.models import InteractionStatus, SenderKind, SystemEvent
from reports.models import ChatFact, EndedBy, OfferFact, OfferOutcome
from routing.models import OfferStatus

OFFER_OUTCOMES = {
    OfferStatus.ACCEPTED: OfferOutcome.ACCEPTED,
    OfferStatus.DECLINED: OfferOutcome.DECLINED,
    OfferStatus.EXPIRED: OfferOutcome.MISSED,
    OfferStatus.WITHDRAWN: OfferOutcome.WITHDRAWN,
}

# The messages the facts need (reports.services.rollup reads only these).
FACT_EVENTS = (
    SystemEvent.ESCALATED,
    SystemEvent.TRANSFERRED,
    SystemEvent.AUTH_REQUESTED,
    SystemEvent.AUTHENTICATED,
    SystemEvent.COBROWSE_STARTED,
)


@dataclass(frozen=True)
class QueueTarget:
    id: int
    service_level_seconds: int


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def chat_facts_compute(
    *,
    interaction: Mapping[str, Any],
    offers: Sequence[Mapping[str, Any]],
    messages: Sequence[Mapping[str, Any]],
    queues: Mapping[str, QueueTarget],
    queues_by_id: Mapping[int, QueueTarget],
    disposition_id: int | None = None,
    csat_asked: bool = False,
    csat_rating: int | None = None,
) -> tuple[ChatFact, list[OfferFact]]:
    """The facts of one closed interaction (unsaved).

    `interaction`: id, status, created_at, accepted_at, ended_at, ended_by, queue_id,
    channel_id, assigned_csr_id, sentiment_label, sentiment_score, sentiment_seq.
    `offers`: id, csr_id, queue_id, status, reason, created_at, responded_at,
    transferred_by_id. `messages` (in seq order, after the bot transcript, as
    FACT_EVENTS, CSR messages that are not internal and scored customer messages): seq,
    sender_kind, event, data, internal, sentiment_score, created_at. `disposition_id`:
    the code picked in the chat's wrap-up; `csat_asked`, `csat_rating`: its
    satisfaction survey (the rating None until answered)."""
    escalated_at: datetime = interaction["created_at"]
    queue = queues_by_id[interaction["queue_id"]]
    for message in messages:
        if message["event"] == SystemEvent.ESCALATED:
            queue = queues.get((message["data"] or {}).get("queue", ""), queue)
            break

    ordered_offers = sorted(offers, key=lambda o: (o["created_at"], o["id"]))
    accepts = [
        o["responded_at"] or o["created_at"]
        for o in ordered_offers
        if o["status"] == OfferStatus.ACCEPTED
    ]
    accepted_at: datetime | None = accepts[0] if accepts else interaction["accepted_at"]
    abandoned = interaction["status"] == InteractionStatus.ABANDONED
    answered = accepted_at is not None and not abandoned
    wait = _seconds(escalated_at, accepted_at) if answered else None

    first_response = None
    transfers_to_csr = transfers_to_queue = auth_requests = auth_successes = cobrowse = 0
    start_seq = start_score = None
    for message in messages:
        event, kind = message["event"], message["sender_kind"]
        if event == SystemEvent.TRANSFERRED:
            data = message["data"] or {}
            transfers_to_csr += "to_csr" in data
            transfers_to_queue += "to_queue" in data
        elif event == SystemEvent.AUTH_REQUESTED:
            auth_requests += 1
        elif event == SystemEvent.AUTHENTICATED:
            auth_successes += 1
        elif event == SystemEvent.COBROWSE_STARTED:
            cobrowse += 1
        elif (
            kind == SenderKind.CSR
            and not message["internal"]
            and first_response is None
            and accepted_at is not None
            and message["created_at"] >= accepted_at
        ):
            first_response = _seconds(accepted_at, message["created_at"])
        elif (
            kind == SenderKind.CUSTOMER
            and start_seq is None
            and message["sentiment_score"] is not None
        ):
            start_seq, start_score = message["seq"], message["sentiment_score"]

    end_score = interaction["sentiment_score"]
    improved = None
    if start_seq is not None and end_score is not None and interaction["sentiment_seq"] > start_seq:
        improved = end_score > start_score

    ended_by = EndedBy.CUSTOMER if abandoned else (interaction["ended_by"] or EndedBy.SYSTEM)
    fact = ChatFact(
        interaction_id=interaction["id"],
        escalated_at=escalated_at,
        queue_id=queue.id,
        channel_id=interaction["channel_id"],
        csr_id=None if abandoned else interaction["assigned_csr_id"],
        abandoned=abandoned,
        ended_by=ended_by,
        answered=answered,
        wait_seconds=wait,
        within_service_level=wait is not None and wait <= queue.service_level_seconds,
        first_response_seconds=first_response,
        handle_seconds=_seconds(accepted_at, interaction["ended_at"]) if answered else None,
        transfers_to_csr=transfers_to_csr,
        transfers_to_queue=transfers_to_queue,
        sentiment_end=interaction["sentiment_label"] or "",
        sentiment_start_score=start_score,
        sentiment_end_score=end_score,
        sentiment_improved=improved,
        auth_requests=auth_requests,
        auth_successes=auth_successes,
        cobrowse_sessions=cobrowse,
        disposition_id=disposition_id,
        csat_asked=csat_asked,
        csat_rating=csat_rating if csat_asked else None,
    )
    offer_facts = [
        OfferFact(
            offer_id=o["id"],
            interaction_id=interaction["id"],
            offered_at=o["created_at"],
            queue_id=o["queue_id"],
            channel_id=interaction["channel_id"],
            csr_id=o["csr_id"],
            outcome=OFFER_OUTCOMES[o["status"]],
            reason=(o["reason"] or "")[:200] if o["status"] == OfferStatus.DECLINED else "",
            transfer=o["transferred_by_id"] is not None,
        )
        for o in ordered_offers
        if o["status"] in OFFER_OUTCOMES
    ]
    return fact, offer_facts
