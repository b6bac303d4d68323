"""The satisfaction survey: what is asked, whether it is still open, the rating to show."""

from datetime import datetime, timedelta

from django.utils import timezone

from chat.models import SatisfactionRating

CSAT_QUESTION = "How satisfied are you with this chat?"
CSAT_LABELS = {
    1: "Very dissatisfied",
    2: "Dissatisfied",
    3: "Neither satisfied nor dissatisfied",
    4: "Satisfied",
    5: "Very satisfied",
}
CSAT_COMMENT_MAX_CHARS = 1000
# How long after the chat ends the customer may still answer (and a reconnecting widget
# is asked again).
CSAT_ANSWER_WINDOW = timedelta(hours=24)


def satisfaction_closes_at(*, rating: SatisfactionRating) -> datetime:
    return rating.asked_at + CSAT_ANSWER_WINDOW


def satisfaction_open(*, rating: SatisfactionRating, now: datetime | None = None) -> bool:
    """Whether the survey still takes an answer: unanswered, and within the window."""
    now = now or timezone.now()
    return rating.answered_at is None and now < satisfaction_closes_at(rating=rating)


def satisfaction_pending(*, interaction_id: int) -> SatisfactionRating | None:
    """The chat's survey when the customer may still answer it, else None."""
    rating = SatisfactionRating.objects.filter(interaction_id=interaction_id).first()
    if rating is None or not satisfaction_open(rating=rating):
        return None
    return rating


def satisfaction_label(rating: int | None) -> str:
    """ "4/5 – Satisfied", or "" when not rated."""
    if rating is None:
        return ""
    return f"{rating}/5 – {CSAT_LABELS[rating]}"
