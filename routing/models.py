"""Queues, intent rules, CSR presence and membership, offers and the routing log."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone


class RoutingStrategy(models.TextChoices):
    LONGEST_IDLE = "longest_idle", "Longest idle"
    LEAST_BUSY = "least_busy", "Least busy"
    ROUND_ROBIN = "round_robin", "Round robin"


class Queue(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(
        max_length=50, unique=True, help_text="Used by bots in the escalation API ('queue')."
    )
    strategy = models.CharField(
        max_length=20,
        choices=RoutingStrategy.choices,
        default=RoutingStrategy.LONGEST_IDLE,
        help_text="How the routing engine picks among eligible CSRs.",
    )
    offer_timeout_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(5), MaxValueValidator(600)],
        help_text="Seconds a CSR has to accept an offer. Empty: the App Studio default.",
    )
    priority = models.IntegerField(
        default=0,
        help_text="Orders the queues, highest first, in the admin and in each CSR's queue list.",
    )
    service_level_seconds = models.PositiveIntegerField(
        default=60,
        help_text="Service-level target: a chat should be accepted within this many seconds.",
    )
    reoffer_cooldown_seconds = models.PositiveIntegerField(
        "re-offer cool-down (seconds)",
        default=60,
        validators=[MinValueValidator(5), MaxValueValidator(3600)],
        help_text="When every CSR free to take a chat has declined or missed it, it is offered "
        "to them again this many seconds after the last one passed.",
    )
    max_wait_seconds = models.PositiveIntegerField(
        "maximum wait (seconds)",
        null=True,
        blank=True,
        default=600,
        validators=[MinValueValidator(30), MaxValueValidator(86400)],
        help_text="A customer who has waited this long is offered a choice: keep waiting, leave "
        "a message for follow-up, or end the chat; managers see the chat flagged. Empty: never.",
    )
    wrapup_seconds = models.PositiveIntegerField(
        "wrap-up time limit (seconds)",
        default=0,
        validators=[MaxValueValidator(3600)],
        help_text="After a chat ends, its CSR has this long to pick a disposition code and "
        "write a summary before the chat stops taking one of their places; then it is "
        "released anyway (e.g. 120). 0: no wrap-up, the place is free at once.",
    )
    wrapup_required = models.BooleanField(
        "disposition code required",
        default=False,
        help_text="The CSR must pick a disposition code to finish the wrap-up.",
    )
    active = models.BooleanField(
        default=True, help_text="Inactive queues take no new escalations and route nothing."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-priority", "name"]

    def __str__(self) -> str:
        return self.name


class IntentRule(models.Model):
    """Sends an escalation without an explicit queue to a queue chosen by its intent."""

    intent = models.CharField(
        max_length=100,
        help_text="The bot's intent, matched without regard to case (e.g. 'billing.refund').",
    )
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="intent_rules")

    class Meta:
        ordering = ["intent"]
        constraints = [
            models.UniqueConstraint(Lower("intent"), name="intent_rule_unique_intent"),
        ]

    def __str__(self) -> str:
        return f"{self.intent} → {self.queue}"


class QueueMembership(models.Model):
    """An administrator allows a CSR to work a queue; the CSR joins and leaves it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="queue_memberships"
    )
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="memberships")
    joined = models.BooleanField(
        default=False, help_text="The CSR has joined this queue and may be offered its chats."
    )
    joined_at = models.DateTimeField(null=True, blank=True)
    last_offered_at = models.DateTimeField(
        null=True, blank=True, help_text="Round robin offers to the least recently offered CSR."
    )

    class Meta:
        ordering = ["queue", "user"]
        constraints = [
            models.UniqueConstraint(fields=["user", "queue"], name="membership_unique_user_queue")
        ]
        verbose_name = "queue membership"

    def __str__(self) -> str:
        return f"{self.user} in {self.queue}"


class AwayReason(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=80)
    active = models.BooleanField(default=True, help_text="Offered to CSRs in the status menu.")
    system = models.BooleanField(
        default=False,
        editable=False,
        help_text="Set by the portal itself (e.g. Missed offers); CSRs cannot pick it.",
    )

    class Meta:
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label


MISSED_OFFERS_REASON_CODE = "missed-offers"
DISCONNECTED_REASON_CODE = "disconnected"


class CSRStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    AWAY = "away", "Away"
    OFFLINE = "offline", "Offline"


class CSRProfile(models.Model):
    """A CSR's presence, capacity and routing bookkeeping."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="csr_profile"
    )
    status = models.CharField(max_length=10, choices=CSRStatus.choices, default=CSRStatus.OFFLINE)
    away_reason = models.ForeignKey(AwayReason, null=True, blank=True, on_delete=models.SET_NULL)
    status_changed_at = models.DateTimeField(default=timezone.now)
    capacity = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text="Chats this CSR may hold at once. Empty: the App Studio default.",
    )
    last_heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life from the CSR's socket."
    )
    idle_since = models.DateTimeField(
        default=timezone.now,
        help_text="Longest idle routing offers first to the CSR idle the longest.",
    )

    class Meta:
        verbose_name = "CSR profile"

    def __str__(self) -> str:
        return f"{self.user} ({self.get_status_display()})"


class OfferStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired (unattended)"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Offer(models.Model):
    """An interaction offered to one CSR, who may accept, decline or leave it."""

    interaction = models.ForeignKey(
        "chat.Interaction", on_delete=models.CASCADE, related_name="offers"
    )
    csr = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="offers"
    )
    status = models.CharField(
        max_length=10, choices=OfferStatus.choices, default=OfferStatus.PENDING
    )
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="+")
    transferred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Set when this offer is a transfer from another CSR.",
    )
    note = models.TextField(blank=True, help_text="The transfer note shown with the offer.")
    direct = models.BooleanField(
        default=False,
        help_text="A transfer to this CSR by name; declined or unanswered, the chat goes back "
        "to the front of its queue.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(
        max_length=200, blank=True, help_text="Why it was declined or withdrawn."
    )
    cooled_down_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Declined or missed: when the queue's re-offer cool-down ended, after which "
        "this answer no longer keeps the CSR from being offered the chat again.",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The database itself guarantees one live offer per interaction and per CSR.
            models.UniqueConstraint(
                fields=["interaction"],
                condition=Q(status="pending"),
                name="offer_one_pending_per_interaction",
            ),
            models.UniqueConstraint(
                fields=["csr"], condition=Q(status="pending"), name="offer_one_pending_per_csr"
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"Offer of {self.interaction} to {self.csr} ({self.status})"


class RoutingDecision(models.Model):
    """Why an interaction went to a CSR, or why it could not."""

    interaction = models.ForeignKey(
        "chat.Interaction", on_delete=models.CASCADE, related_name="routing_decisions"
    )
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="+")
    strategy = models.CharField(max_length=20, choices=RoutingStrategy.choices)
    chosen = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    candidates = models.JSONField(
        default=list,
        help_text="Every member of the queue considered: eligible or the reason they were not.",
    )
    summary = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.summary


class LongWaitChoice(models.TextChoices):
    PENDING = "pending", "Not answered"
    KEEP_WAITING = "keep_waiting", "Kept waiting"
    LEAVE_MESSAGE = "leave_message", "Left a message for follow-up"
    END = "end", "Ended the chat"


class LongWait(models.Model):
    """A chat that waited past its queue's maximum wait: when its customer was offered
    the choice (keep waiting, leave a message for follow-up, or end), what they chose,
    and the follow-up they left."""

    interaction = models.OneToOneField(
        "chat.Interaction", on_delete=models.CASCADE, related_name="long_wait"
    )
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="+")
    waited_seconds = models.PositiveIntegerField(
        help_text="How long the customer had waited when first offered the choice."
    )
    offered_at = models.DateTimeField(
        default=timezone.now, help_text="When the customer was last offered the choice."
    )
    times_offered = models.PositiveSmallIntegerField(
        default=1, help_text="A customer who keeps waiting is asked again a maximum wait later."
    )
    choice = models.CharField(
        max_length=20, choices=LongWaitChoice.choices, default=LongWaitChoice.PENDING
    )
    chosen_at = models.DateTimeField(null=True, blank=True)
    follow_up_text = models.TextField(
        blank=True, help_text="The message the customer left for follow-up."
    )
    follow_up_done_at = models.DateTimeField(
        null=True, blank=True, help_text="When someone marked the follow-up done."
    )
    follow_up_done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-offered_at"]
        indexes = [models.Index(fields=["choice", "follow_up_done_at"])]

    def __str__(self) -> str:
        return f"Long wait of interaction {self.interaction_id} ({self.get_choice_display()})"

    @property
    def waited_minutes(self) -> int:
        return max(1, round(self.waited_seconds / 60))

    @property
    def follow_up_open(self) -> bool:
        return self.choice == LongWaitChoice.LEAVE_MESSAGE and self.follow_up_done_at is None


class DispositionCode(models.Model):
    """A wrap-up outcome a CSR may pick for a chat of the queue (e.g. Resolved,
    Follow-up needed, Complaint)."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="disposition_codes")
    code = models.SlugField(max_length=40, help_text="Short name in reports and CSV files.")
    label = models.CharField(max_length=80, help_text="What CSRs see in the wrap-up form.")
    active = models.BooleanField(
        default=True, help_text="Offered in the wrap-up form; an inactive code stays in reports."
    )
    order = models.PositiveSmallIntegerField(default=0, help_text="Lower comes first.")

    class Meta:
        ordering = ["queue", "order", "label"]
        constraints = [
            models.UniqueConstraint(fields=["queue", "code"], name="disposition_unique_queue_code")
        ]
        verbose_name = "disposition code"

    def __str__(self) -> str:
        return self.label


class WrapupOutcome(models.TextChoices):
    COMPLETED = "completed", "Completed"
    TIMED_OUT = "timed_out", "Timed out"


class Wrapup(models.Model):
    """The after-chat work of the CSR who had a chat when it ended: a disposition code
    and a summary. While it is open (not released) the chat still takes one of the CSR's
    places; it is released when the CSR finishes it or its queue's time limit passes."""

    interaction = models.OneToOneField(
        "chat.Interaction", on_delete=models.CASCADE, related_name="wrapup"
    )
    csr = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wrapups"
    )
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(help_text="Released at this moment if not finished before.")
    code = models.ForeignKey(
        DispositionCode,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="wrapups",
        help_text="Codes in use cannot be deleted: make them inactive instead.",
    )
    summary = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=WrapupOutcome.choices, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            # The open wrap-ups count toward capacity on every routing run.
            models.Index(
                fields=["csr"], condition=Q(released_at__isnull=True), name="wrapup_open_by_csr"
            ),
            models.Index(
                fields=["due_at"], condition=Q(released_at__isnull=True), name="wrapup_open_due"
            ),
        ]

    def __str__(self) -> str:
        return f"Wrap-up of interaction {self.interaction_id}"

    @property
    def is_open(self) -> bool:
        return self.released_at is None
