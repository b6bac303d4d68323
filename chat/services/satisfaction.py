"""The satisfaction survey: asked once when a chat with a CSR ends, answered at most once
(in the widget, or by the connector of a public channel)."""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from chat import events
from chat.errors import ChatError
from chat.locks import interaction_lock
from chat.models import (
    Channel,
    CsatSource,
    Interaction,
    InteractionStatus,
    SatisfactionRating,
    SenderKind,
    SystemEvent,
)
from chat.selectors.satisfaction import CSAT_COMMENT_MAX_CHARS, satisfaction_open
from chat.services.messages import message_create
from chat.signals import satisfaction_rated
from config.oncommit import on_commit_robust

ASKED_TEXT = "Satisfaction survey sent to the customer"


def satisfaction_ask(*, interaction: Interaction) -> SatisfactionRating | None:
    """Ask the customer of a chat that just ended to rate it, inside the closing
    transaction (the caller holds the interaction's row lock). Only a chat a CSR took and
    that ended (not abandoned) is asked, only on a channel with the survey on, and never
    twice. The widget is asked after commit (`csat.request`); a public channel's
    connector through the webhook of a `csat_requested` system message (so it comes in
    order after the chat's last messages, retried like them). None when not asked."""
    if interaction.status != InteractionStatus.ENDED or interaction.assigned_csr_id is None:
        return None
    channel = Channel.objects.only("kind", "csat_enabled", "webhook_url").get(
        pk=interaction.channel_id
    )
    if not channel.csat_enabled or (channel.is_public and not channel.webhook_url):
        return None  # off, or a public channel with no connector to ask through
    try:
        with transaction.atomic():  # a savepoint: a second ask must not break the caller's
            rating = SatisfactionRating.objects.create(interaction=interaction)
    except IntegrityError:
        return None  # asked already
    if channel.is_public:
        message_create(
            interaction=interaction,
            sender_kind=SenderKind.SYSTEM,
            text=ASKED_TEXT,
            event=SystemEvent.CSAT_REQUESTED,
        )
    else:
        events.csat_requested(rating=rating)
    return rating


def _rating_check(rating: Any) -> int:
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ChatError("bad_rating", "The rating must be a whole number from 1 to 5.")
    return rating


def _comment_check(comment: Any) -> str:
    if comment is None:
        return ""
    if not isinstance(comment, str):
        raise ChatError("bad_comment", "The comment must be text.")
    comment = comment.strip()
    if len(comment) > CSAT_COMMENT_MAX_CHARS:
        raise ChatError(
            "comment_too_long",
            f"The comment can be at most {CSAT_COMMENT_MAX_CHARS:,} characters; this one has "
            f"{len(comment):,}.",
        )
    return comment


def answered_text(*, rating: int, comment: str) -> str:
    text = f"Customer rated this chat {rating}/5"
    return f"{text}: “{comment}”" if comment else text


def satisfaction_answer(
    *, interaction_id: int, rating: Any, comment: Any, via: CsatSource
) -> SatisfactionRating:
    """Store the customer's answer, once: the row is locked (after the interaction, the
    chat's lock order) so two answers at the same moment store one and refuse the other.
    The CSR sees an internal system message ("Customer rated this chat 4/5"); the
    customer's sockets get `csat.answered`; after commit chat.signals.satisfaction_rated
    is sent (reports). ChatError: bad_rating, bad_comment, comment_too_long (the input),
    csat_not_asked, csat_answered, csat_expired (the state), not_found."""
    rating = _rating_check(rating)
    comment = _comment_check(comment)
    with transaction.atomic():
        interaction = interaction_lock(interaction_id)
        if interaction is None:
            raise ChatError("not_found", "This chat does not exist.")
        row = SatisfactionRating.objects.select_for_update().filter(interaction=interaction).first()
        if row is None:
            raise ChatError(
                "csat_not_asked",
                "This chat has no satisfaction survey: the survey is off on its channel, or "
                "the chat has not ended with a CSR.",
            )
        if row.answered_at is not None:
            raise ChatError("csat_answered", "This chat was already rated: it can be rated once.")
        if not satisfaction_open(rating=row):
            raise ChatError("csat_expired", "The satisfaction survey of this chat has closed.")
        row.rating = rating
        row.comment = comment
        row.answered_at = timezone.now()
        row.answered_via = via
        row.save(update_fields=["rating", "comment", "answered_at", "answered_via"])
        message_create(
            interaction=interaction,
            sender_kind=SenderKind.SYSTEM,
            text=answered_text(rating=rating, comment=comment),
            event=SystemEvent.CSAT_ANSWERED,
            data={"rating": rating, "comment": comment, "via": via},
            internal=True,  # the contact center's: the customer gets csat.answered instead
        )
        events.csat_answered(rating=row)
        on_commit_robust(_rated_send, interaction_id=interaction.pk, rating=rating, comment=comment)
    return row


def _rated_send(*, interaction_id: int, rating: int, comment: str) -> None:
    satisfaction_rated.send(
        sender=SatisfactionRating, interaction_id=interaction_id, rating=rating, comment=comment
    )
