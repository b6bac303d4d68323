"""What the manager tools keep: the queues each manager supervises, the audit log of
manager actions, and who joined which chat."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class SupervisedQueue(models.Model):
    """A queue a CSR manager supervises. A manager with none supervises every queue."""

    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="supervised_queues"
    )
    queue = models.ForeignKey("routing.Queue", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["manager", "queue"], name="supervisedqueue_unique")
        ]

    def __str__(self) -> str:
        return f"{self.manager} supervises {self.queue}"


class AuditAction(models.TextChoices):
    CSR_STATUS = "csr_status", "Set a CSR's status"
    CSR_CAPACITY = "csr_capacity", "Changed a CSR's capacity"
    CHAT_REASSIGN = "chat_reassign", "Reassigned a chat"
    QUEUE_ADD = "queue_add", "Added a CSR to a queue"
    QUEUE_REMOVE = "queue_remove", "Removed a CSR from a queue"
    CHAT_MONITOR = "chat_monitor", "Monitored a chat"
    CHAT_WHISPER = "chat_whisper", "Whispered to a CSR"
    CHAT_BARGE_IN = "chat_barge_in", "Barged in"
    CHAT_TAKE_OVER = "chat_take_over", "Took a chat over"
    CHAT_LEAVE = "chat_leave", "Left a chat"


class AuditEntry(models.Model):
    """One manager action: who, when, on whom or what, and why."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    interaction = models.ForeignKey(
        "chat.Interaction", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    queue = models.ForeignKey(
        "routing.Queue", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "manager action"

    def __str__(self) -> str:
        return f"{self.actor}: {self.get_action_display()}"


class JoinMode(models.TextChoices):
    MONITORING = "monitoring", "Monitoring"
    BARGED_IN = "barged_in", "Barged in"


class ChatJoin(models.Model):
    """A manager in a chat: watching unseen, or barged in (visible, writing to the
    customer). Open while left_at is empty."""

    interaction = models.ForeignKey(
        "chat.Interaction", on_delete=models.CASCADE, related_name="supervisor_joins"
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    mode = models.CharField(max_length=12, choices=JoinMode.choices)
    joined_at = models.DateTimeField(default=timezone.now)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["interaction", "manager"],
                condition=models.Q(left_at__isnull=True),
                name="chatjoin_one_open_per_manager",
            )
        ]

    def __str__(self) -> str:
        return f"{self.manager} in {self.interaction} ({self.mode})"
