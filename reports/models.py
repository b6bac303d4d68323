"""The facts reports read (one row per closed chat, one per offer) and the dashboards
users build."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class EndedBy(models.TextChoices):
    CSR = "csr", "CSR"
    CUSTOMER = "customer", "Customer"
    SYSTEM = "system", "System"


class ChatFact(models.Model):
    """What one closed chat counts for in the reports, computed once it closed
    (reports.metrics.chat_facts_compute); every figure is attributed to the moment of
    its escalation."""

    interaction = models.OneToOneField(
        "chat.Interaction", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    escalated_at = models.DateTimeField()
    queue = models.ForeignKey(
        "routing.Queue",
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The queue the chat was escalated to.",
    )
    channel = models.ForeignKey("chat.Channel", on_delete=models.CASCADE, related_name="+")
    csr = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The CSR who had the chat at its end; empty when none accepted it.",
    )
    abandoned = models.BooleanField(default=False)
    ended_by = models.CharField(max_length=10, choices=EndedBy.choices)
    answered = models.BooleanField(default=False)
    wait_seconds = models.FloatField(null=True, blank=True)
    within_service_level = models.BooleanField(default=False)
    first_response_seconds = models.FloatField(null=True, blank=True)
    handle_seconds = models.FloatField(null=True, blank=True)
    transfers_to_csr = models.PositiveSmallIntegerField(default=0)
    transfers_to_queue = models.PositiveSmallIntegerField(default=0)
    sentiment_end = models.CharField(max_length=10, blank=True)
    sentiment_start_score = models.FloatField(null=True, blank=True)
    sentiment_end_score = models.FloatField(null=True, blank=True)
    sentiment_improved = models.BooleanField(null=True, blank=True)
    auth_requests = models.PositiveSmallIntegerField(default=0)
    auth_successes = models.PositiveSmallIntegerField(default=0)
    cobrowse_sessions = models.PositiveSmallIntegerField(default=0)
    disposition = models.ForeignKey(
        "routing.DispositionCode",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The disposition code its CSR picked in the wrap-up; empty when none.",
    )
    csat_asked = models.BooleanField(
        default=False, help_text="The customer was asked the satisfaction survey."
    )
    csat_rating = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The customer's rating (1-5); empty until answered."
    )
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # Newest first, with the id as tie-breaker: the drill-down's order, so a
            # year's CSV streams from its first row without a sort.
            models.Index(fields=["escalated_at", "interaction"]),
            models.Index(fields=["queue", "escalated_at"]),
            models.Index(fields=["csr", "escalated_at"]),
        ]

    def __str__(self) -> str:
        return f"Facts of interaction {self.interaction_id}"


class OfferOutcome(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    MISSED = "missed", "Missed"
    WITHDRAWN = "withdrawn", "Withdrawn"


class OfferFact(models.Model):
    """One offer of a closed chat and how it ended."""

    offer = models.OneToOneField(
        "routing.Offer", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    interaction = models.ForeignKey("chat.Interaction", on_delete=models.CASCADE, related_name="+")
    offered_at = models.DateTimeField()
    queue = models.ForeignKey("routing.Queue", on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey("chat.Channel", on_delete=models.CASCADE, related_name="+")
    csr = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    outcome = models.CharField(max_length=10, choices=OfferOutcome.choices)
    reason = models.CharField(max_length=200, blank=True)
    transfer = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["offered_at"]),
            models.Index(fields=["csr", "offered_at"]),
            # The decline reasons of a range, read from the index alone.
            models.Index(
                fields=["offered_at", "reason"],
                condition=models.Q(outcome="declined"),
                name="reports_offerfact_declined",
            ),
        ]

    def __str__(self) -> str:
        return f"Facts of offer {self.offer_id}"


class Dashboard(models.Model):
    """A user's own arrangement of widgets; a manager may share theirs with other
    managers, who see it read-only."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dashboards"
    )
    name = models.CharField(max_length=100, default="My dashboard")
    widgets = models.JSONField(
        default=list, help_text="The widgets in order (reports.dashboards.validate_widget)."
    )
    shared_with = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="shared_dashboards"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["owner", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="dashboard_unique_owner_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.owner})"


class PresenceSpan(models.Model):
    """A stretch of time a CSR was logged in (any status but Offline), with the capacity
    they had: what historical occupancy is measured against."""

    csr = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True, help_text="Empty: still logged in.")
    capacity = models.PositiveSmallIntegerField()

    class Meta:
        indexes = [models.Index(fields=["started_at"]), models.Index(fields=["csr", "started_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["csr"], condition=models.Q(ended_at=None), name="presencespan_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.csr_id} from {self.started_at}"


class RollupDay(models.Model):
    """One local day of the daily tables: its row is locked while the day is rebuilt, so
    two rebuilds of the same day never interleave."""

    day = models.DateField(unique=True)
    rebuilt_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return str(self.day)


class DailyStats(models.Model):
    """The chat figures of one local day × queue × channel × CSR, summed from ChatFact
    (reports.services.rollup.days_rebuild): what reports of whole days read."""

    day = models.DateField()
    queue = models.ForeignKey("routing.Queue", on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey("chat.Channel", on_delete=models.CASCADE, related_name="+")
    csr = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    escalations = models.PositiveIntegerField(default=0)
    answered = models.PositiveIntegerField(default=0)
    abandoned = models.PositiveIntegerField(default=0)
    within_service_level = models.PositiveIntegerField(default=0)
    wait_sum = models.FloatField(default=0)
    wait_n = models.PositiveIntegerField(default=0)
    first_response_sum = models.FloatField(default=0)
    first_response_n = models.PositiveIntegerField(default=0)
    handle_sum = models.FloatField(default=0)
    handle_n = models.PositiveIntegerField(default=0)
    transfers_to_csr = models.PositiveIntegerField(default=0)
    transfers_to_queue = models.PositiveIntegerField(default=0)
    ended_by_csr = models.PositiveIntegerField(default=0)
    ended_by_customer = models.PositiveIntegerField(default=0)
    ended_by_system = models.PositiveIntegerField(default=0)
    sentiment_positive = models.PositiveIntegerField(default=0)
    sentiment_neutral = models.PositiveIntegerField(default=0)
    sentiment_negative = models.PositiveIntegerField(default=0)
    sentiment_improved = models.PositiveIntegerField(default=0)
    sentiment_compared = models.PositiveIntegerField(default=0)
    auth_requests = models.PositiveIntegerField(default=0)
    auth_successes = models.PositiveIntegerField(default=0)
    cobrowse_sessions = models.PositiveIntegerField(default=0)
    # The waits as a histogram (WAIT_BUCKETS): the chats whose wait is at most the
    # bucket's upper edge and more than the previous one's. Buckets add up over days, so
    # a wait p90 can be read for any range.
    wait_le_10 = models.PositiveIntegerField(default=0)
    wait_le_20 = models.PositiveIntegerField(default=0)
    wait_le_30 = models.PositiveIntegerField(default=0)
    wait_le_45 = models.PositiveIntegerField(default=0)
    wait_le_60 = models.PositiveIntegerField(default=0)
    wait_le_90 = models.PositiveIntegerField(default=0)
    wait_le_120 = models.PositiveIntegerField(default=0)
    wait_le_180 = models.PositiveIntegerField(default=0)
    wait_le_300 = models.PositiveIntegerField(default=0)
    wait_le_600 = models.PositiveIntegerField(default=0)
    wait_le_1200 = models.PositiveIntegerField(default=0)
    wait_over_1200 = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.queue_id}/{self.channel_id}/{self.csr_id}"


# The wait histogram of DailyStats: (column, lower edge, upper edge) in seconds, a wait
# w counting in the bucket with lower < w <= upper (the first one from 0 included; the
# last has no upper edge).
WAIT_BUCKETS: tuple[tuple[str, float | None, float | None], ...] = (
    ("wait_le_10", None, 10),
    ("wait_le_20", 10, 20),
    ("wait_le_30", 20, 30),
    ("wait_le_45", 30, 45),
    ("wait_le_60", 45, 60),
    ("wait_le_90", 60, 90),
    ("wait_le_120", 90, 120),
    ("wait_le_180", 120, 180),
    ("wait_le_300", 180, 300),
    ("wait_le_600", 300, 600),
    ("wait_le_1200", 600, 1200),
    ("wait_over_1200", 1200, None),
)


class DailyOfferStats(models.Model):
    """The offers made on one local day × queue × channel × CSR, by outcome."""

    day = models.DateField()
    queue = models.ForeignKey("routing.Queue", on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey("chat.Channel", on_delete=models.CASCADE, related_name="+")
    csr = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    offers_made = models.PositiveIntegerField(default=0)
    offers_accepted = models.PositiveIntegerField(default=0)
    offers_declined = models.PositiveIntegerField(default=0)
    offers_missed = models.PositiveIntegerField(default=0)
    offers_withdrawn = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.queue_id}/{self.channel_id}/{self.csr_id}"
