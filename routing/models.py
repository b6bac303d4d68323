"""Queues and the rules that choose a queue for an escalation."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower


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
        help_text="Higher-priority queues are served first when a CSR is in several queues.",
    )
    service_level_seconds = models.PositiveIntegerField(
        default=60,
        help_text="Service-level target: a chat should be accepted within this many seconds.",
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
