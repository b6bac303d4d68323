"""Case types (configured in the admin), their form fields, the cases opened from a chat
with their notes and history, back-office API clients and case webhook deliveries."""

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    PENDING_CUSTOMER = "pending_customer", "Pending customer"
    RESOLVED = "resolved", "Resolved"
    CANCELLED = "cancelled", "Cancelled"


OPEN_CASE_STATUSES = (CaseStatus.OPEN, CaseStatus.PENDING_CUSTOMER)


class FieldKind(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    MONEY = "money", "Money"
    DATE = "date", "Date"
    CHOICE = "choice", "Choice"
    YES_NO = "yes_no", "Yes/no"


class Extractor(models.TextChoices):
    """What the assistant looks for in the customer's messages to pre-fill a field."""

    NONE = "", "Nothing"
    AMOUNT = "amount", "An amount of money"
    DATE = "date", "A date (also 'yesterday', 'on Monday')"
    CARD_ENDING = "card_ending", "A card's last four digits"


class IdentityField(models.TextChoices):
    """The customer's field that pre-fills a case field."""

    NONE = "", "Nothing"
    NAME = "name", "Name"
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    VERIFIED_IDENTITY = "verified_identity", "Verified identity (authenticated customers only)"


class CaseType(models.Model):
    """A service request a CSR can open from a chat: Add task → <category> → <name>."""

    name = models.CharField(max_length=100, unique=True)
    prefix = models.CharField(
        max_length=5,
        unique=True,
        validators=[RegexValidator(r"^[A-Z]{2,5}$", "Two to five capital letters, e.g. DSP.")],
        help_text="Starts every reference of this type: DSP gives DSP-00042.",
    )
    category = models.CharField(
        max_length=50,
        default="General",
        help_text="The Add task menu's category that lists it (e.g. Cards, Payments, Account).",
    )
    description = models.CharField(max_length=300, blank=True)
    channels = models.ManyToManyField(
        "chat.Channel",
        blank=True,
        related_name="case_types",
        help_text="Channels whose chats offer it; none: every channel.",
    )
    queues = models.ManyToManyField(
        "routing.Queue",
        blank=True,
        related_name="case_types",
        help_text="Queues whose chats offer it; none: every queue.",
    )
    requires_authentication = models.BooleanField(
        default=False,
        help_text="Only for an authenticated customer: the CSR is reminded to request "
        "authentication first, and the case cannot be saved before.",
    )
    intents = models.CharField(
        max_length=300,
        blank=True,
        help_text="Comma-separated bot intents that signal this case type (e.g. card_dispute).",
    )
    example_phrases = models.TextField(
        blank=True,
        help_text="One per line: what customers say when they need this (the assistant "
        "ranks case types by them).",
    )
    webhook_url = models.URLField(
        blank=True,
        help_text="The back office's URL: the case is POSTed here when created and when its "
        "status changes.",
    )
    webhook_secret = models.CharField(
        max_length=200,
        blank=True,
        help_text="Secret that signs webhook bodies (HMAC-SHA256, as the connector webhooks).",
    )
    active = models.BooleanField(default=True, help_text="Inactive types are offered nowhere.")
    order = models.PositiveSmallIntegerField(default=0)
    last_number = models.PositiveIntegerField(
        default=0, editable=False, help_text="The number of the newest reference."
    )

    class Meta:
        ordering = ["category", "order", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def phrase_list(self) -> list[str]:
        return [line.strip() for line in self.example_phrases.splitlines() if line.strip()]

    @property
    def intent_list(self) -> list[str]:
        return [i.strip().lower() for i in self.intents.split(",") if i.strip()]


class CaseField(models.Model):
    """One field of a case type's form, and where its value may be found."""

    case_type = models.ForeignKey(CaseType, on_delete=models.CASCADE, related_name="fields")
    key = models.SlugField(max_length=50, help_text="The value's name in the API and webhook.")
    label = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=FieldKind.choices, default=FieldKind.TEXT)
    required = models.BooleanField(default=False)
    help_text = models.CharField(max_length=300, blank=True)
    choices = models.TextField(blank=True, help_text="Choice fields: the options, one per line.")
    context_keys = models.CharField(
        max_length=300,
        blank=True,
        help_text="Comma-separated keys of the bot's context or the customer's metadata that "
        "pre-fill this field (the first found wins).",
    )
    identity_field = models.CharField(
        max_length=20,
        choices=IdentityField.choices,
        blank=True,
        help_text="The customer's field that pre-fills this one.",
    )
    extractor = models.CharField(
        max_length=20,
        choices=Extractor.choices,
        blank=True,
        help_text="What the assistant looks for in the customer's messages to pre-fill it.",
    )
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["case_type", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["case_type", "key"], name="casefield_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.case_type}: {self.label}"

    @property
    def choice_list(self) -> list[str]:
        return [line.strip() for line in self.choices.splitlines() if line.strip()]

    @property
    def context_key_list(self) -> list[str]:
        return [k.strip() for k in self.context_keys.split(",") if k.strip()]


class Case(models.Model):
    """A service case: one customer's request, opened in one interaction."""

    reference = models.CharField(max_length=20, unique=True, editable=False)
    case_type = models.ForeignKey(CaseType, on_delete=models.PROTECT, related_name="cases")
    customer = models.ForeignKey("chat.Customer", on_delete=models.PROTECT, related_name="cases")
    interaction = models.ForeignKey(
        "chat.Interaction", on_delete=models.PROTECT, related_name="cases"
    )
    status = models.CharField(max_length=20, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    values = models.JSONField(
        default=dict,
        blank=True,
        help_text="The filled fields by key: money as {amount, currency}, dates as "
        "YYYY-MM-DD, yes/no as true/false.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["customer", "status"])]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_CASE_STATUSES


class CaseChange(models.Model):
    """The case's history: who changed what, and when."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        STATUS = "status", "Status changed"
        NOTE = "note", "Note added"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="changes")
    action = models.CharField(max_length=10, choices=Action.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.CharField(
        max_length=200, help_text="Who: the CSR's name, or 'Back office: <client>'."
    )
    old_status = models.CharField(max_length=20, choices=CaseStatus.choices, blank=True)
    new_status = models.CharField(max_length=20, choices=CaseStatus.choices, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["case", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.case}: {self.get_action_display()} by {self.actor}"


class BackOfficeClient(models.Model):
    """A back-office system allowed to read and update cases with a token (it cannot read
    chats; bot tokens cannot read cases)."""

    name = models.CharField(max_length=100, unique=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(max_length=12, editable=False)
    active = models.BooleanField(default=True, help_text="Inactive clients are refused (403).")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "back-office API client"

    def __str__(self) -> str:
        return self.name

    # DRF's permission and throttle classes expect request.user to look like a user.
    @property
    def is_authenticated(self) -> bool:
        return True


class CaseWebhookDelivery(models.Model):
    """One case event POSTed to its case type's back office, retried with backoff."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="webhook_deliveries")
    event = models.CharField(max_length=30)
    payload = models.JSONField(help_text="The body, the same on every attempt.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name = "case webhook delivery"
        verbose_name_plural = "case webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} of {self.case_id}"
