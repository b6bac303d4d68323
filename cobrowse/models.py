"""Co-browse sessions: who asked, whether the customer allowed it, when it ran and how it
ended. The page itself (rrweb events) is never stored here: it lives in Redis while the
session runs (cobrowse.stream)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from chat.models import Interaction


class SessionStatus(models.TextChoices):
    REQUESTED = "requested", "Waiting for the customer"
    ACTIVE = "active", "On"
    DECLINED = "declined", "Declined by the customer"
    UNANSWERED = "unanswered", "Not answered in time"
    ENDED = "ended", "Ended"


OPEN_STATUSES = (SessionStatus.REQUESTED, SessionStatus.ACTIVE)


class StartedVia(models.TextChoices):
    ACTIONS = "actions", "Actions → Start co-browse"
    ADD_TASK = "add_task", "Add task → General → Co-Browsing Session"


class EndedBy(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    CSR = "csr", "CSR"
    SYSTEM = "system", "System"


class EndReason(models.TextChoices):
    CUSTOMER = "customer", "The customer ended it"
    CSR = "csr", "The CSR ended it"
    DECLINED = "declined", "The customer declined"
    NO_ANSWER = "no_answer", "The customer did not answer"
    CHAT_CLOSED = "chat_closed", "The chat ended"
    TRANSFERRED = "transferred", "The chat was transferred"
    REQUEUED = "requeued", "The chat went back to its queue"
    PANEL_CLOSED = "panel_closed", "The CSR closed the chat panel"
    IDLE = "idle", "The customer's page was idle"
    TOO_LARGE = "too_large", "The page was too large to share"


class CobrowseSession(models.Model):
    """One co-browse request in a chat and, if the customer allowed it, the session."""

    interaction = models.ForeignKey(
        Interaction, on_delete=models.CASCADE, related_name="cobrowse_sessions"
    )
    csr = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cobrowse_sessions"
    )
    status = models.CharField(
        max_length=12, choices=SessionStatus.choices, default=SessionStatus.REQUESTED
    )
    started_via = models.CharField(max_length=10, choices=StartedVia.choices)
    requested_at = models.DateTimeField()
    # When the customer allowed it (the session's start); empty if they never did.
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(max_length=10, choices=EndedBy.choices, blank=True)
    end_reason = models.CharField(max_length=15, choices=EndReason.choices, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            # One session at a time per chat and per CSR, whatever the races.
            models.UniqueConstraint(
                fields=["interaction"],
                condition=Q(status__in=["requested", "active"]),
                name="cobrowse_one_open_per_interaction",
            ),
            models.UniqueConstraint(
                fields=["csr"],
                condition=Q(status__in=["requested", "active"]),
                name="cobrowse_one_open_per_csr",
            ),
        ]
        indexes = [models.Index(fields=["csr", "requested_at"])]

    def __str__(self) -> str:
        return f"Co-browse {self.pk} in interaction {self.interaction_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def duration_seconds(self) -> int | None:
        """How long the page was shared (from Allow to the end); None if it never ran
        or runs still."""
        if self.started_at is None or self.ended_at is None:
            return None
        return max(0, int((self.ended_at - self.started_at).total_seconds()))
