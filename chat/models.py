"""Channels, App Studio settings, bot API clients, customers, interactions and messages."""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from chat.validators import validate_time_zone


class ChannelKind(models.TextChoices):
    WEB_MESSAGING = "web_messaging", "Web messaging"
    LEGACY_WEBCHAT = "legacy_webchat", "Legacy webchat"
    FACEBOOK = "facebook", "Facebook Messenger"
    WHATSAPP = "whatsapp", "WhatsApp"
    SMS = "sms", "SMS"
    X = "x", "X"


PRIVATE_CHANNEL_KINDS = frozenset({ChannelKind.WEB_MESSAGING, ChannelKind.LEGACY_WEBCHAT})


class Channel(models.Model):
    """A messaging channel, with the App Studio switches that say what it may do."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(
        max_length=50, unique=True, help_text="Used by bots in the escalation API ('channel')."
    )
    kind = models.CharField(
        max_length=20,
        choices=ChannelKind.choices,
        help_text="Web messaging and Legacy webchat are private channels; the others are "
        "public channels reached through a connector.",
    )
    default_queue = models.ForeignKey(
        "routing.Queue",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="default_for_channels",
        help_text="Where escalations land when they name no queue and no intent rule matches.",
    )
    cobrowse_allowed = models.BooleanField(
        default=True,
        help_text="CSRs may start co-browse (private channels only, and only while co-browse "
        "is enabled in App Studio settings).",
    )
    attachments_allowed = models.BooleanField(
        default=True, help_text="Customers and CSRs may send attachments on this channel."
    )
    auth_requests_allowed = models.BooleanField(
        default=True, help_text="CSRs may ask customers on this channel to authenticate."
    )
    csat_enabled = models.BooleanField(
        "satisfaction survey",
        default=True,
        help_text="When a chat ends, ask the customer to rate it (1-5) with an optional "
        "comment: in the widget, or through the connector's webhook on public channels.",
    )
    typing_preview = models.BooleanField(
        default=False,
        help_text="CSRs see what the customer is typing before it is sent (never stored). "
        "The widget tells customers when this is on.",
    )
    identity_secret = models.CharField(
        max_length=200,
        blank=True,
        help_text="Shared secret the host website or connector uses to sign a customer's id "
        "(HMAC-SHA256) to prove who the customer is.",
    )
    webhook_url = models.URLField(
        blank=True,
        help_text="The connector's URL: CSR and system messages are POSTed here as JSON.",
    )
    webhook_secret = models.CharField(
        max_length=200,
        blank=True,
        help_text="Secret used to sign webhook bodies (HMAC-SHA256) so the connector can "
        "verify them.",
    )
    active = models.BooleanField(default=True, help_text="Inactive channels refuse escalations.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_public(self) -> bool:
        return self.kind not in PRIVATE_CHANNEL_KINDS

    is_public.fget.short_description = "Public"  # type: ignore[attr-defined]


# Common images, PDF, plain text and office documents (Microsoft Office and OpenDocument).
DEFAULT_ATTACHMENT_TYPES = ",".join(
    [
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
        "text/plain",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
    ]
)


class AppStudioSettings(models.Model):
    """The one record of global switches and limits; read it with
    `chat.selectors.settings.app_studio_settings_get()`."""

    SINGLETON_ID = 1

    cobrowse_enabled = models.BooleanField(
        default=True, help_text="Off: Start co-browse is unavailable everywhere."
    )
    attachments_enabled = models.BooleanField(
        default=True, help_text="Off: nobody can send attachments, whatever the channel allows."
    )
    max_attachment_bytes = models.PositiveIntegerField(
        default=10 * 1024 * 1024,
        validators=[MinValueValidator(1024), MaxValueValidator(100 * 1024 * 1024)],
        help_text="Largest attachment accepted, in bytes (10 MiB = 10485760).",
    )
    max_message_attachment_bytes = models.PositiveIntegerField(
        default=25 * 1024 * 1024,
        validators=[MinValueValidator(1024), MaxValueValidator(500 * 1024 * 1024)],
        help_text="Largest total of the files one message may carry, in bytes (25 MiB = 26214400).",
    )
    allowed_attachment_types = models.CharField(
        max_length=1000,
        default=DEFAULT_ATTACHMENT_TYPES,
        help_text="Comma-separated MIME types that may be attached, as decided from each "
        "file's content (never its name). SVG and HTML are never shown inline.",
    )
    default_offer_timeout_seconds = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(600)],
        help_text="Seconds a CSR has to accept an offer, for queues that set none.",
    )
    missed_offers_before_away = models.PositiveIntegerField(
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text="A CSR who leaves this many offers unattended in a row is set Away.",
    )
    default_csr_capacity = models.PositiveIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text="How many chats a CSR may hold at once, unless set on the CSR.",
    )
    sentiment_enabled = models.BooleanField(
        default=True, help_text="Score customer sentiment and show it in the chat panel."
    )
    time_zone = models.CharField(
        max_length=64,
        default=settings.TIME_ZONE,
        validators=[validate_time_zone],
        help_text="The contact center's time zone (IANA name, e.g. Europe/Paris): transcripts "
        "show times in it, with the UTC offset.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "App Studio settings"
        verbose_name_plural = "App Studio settings"

    def __str__(self) -> str:
        return "App Studio settings"

    def save(self, *args, **kwargs) -> None:
        # There is only ever one record (its cached copies are dropped on save:
        # chat.selectors.settings).
        self.pk = self.SINGLETON_ID
        super().save(*args, **kwargs)

    @property
    def allowed_attachment_type_list(self) -> list[str]:
        return [t.strip() for t in self.allowed_attachment_types.split(",") if t.strip()]


class BotClient(models.Model):
    """A bot or channel connector allowed to call the escalation API with a token."""

    name = models.CharField(max_length=100, unique=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(
        max_length=12, editable=False, help_text="The token's first characters, to recognise it."
    )
    active = models.BooleanField(default=True, help_text="Inactive clients are refused (403).")
    allowed_channels = models.ManyToManyField(
        Channel,
        blank=True,
        related_name="bot_clients",
        help_text="Channels this client may escalate on. A client with none may use none.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "bot API client"

    def __str__(self) -> str:
        return self.name

    # DRF's permission and throttle classes expect request.user to look like a user.
    @property
    def is_authenticated(self) -> bool:
        return True


class Customer(models.Model):
    external_id = models.CharField(
        max_length=200,
        blank=True,
        help_text="The bot's or channel's id for this customer; escalations with the same id "
        "update the same customer.",
    )
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    authenticated = models.BooleanField(default=False)
    verified_identity = models.CharField(
        max_length=200, blank=True, help_text="The identity proven by the last authentication."
    )
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~Q(external_id=""),
                name="customer_unique_external_id",
            )
        ]

    def __str__(self) -> str:
        return self.name


class InteractionStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    OFFERED = "offered", "Offered"
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"
    ABANDONED = "abandoned", "Abandoned"


OPEN_INTERACTION_STATUSES = (
    InteractionStatus.QUEUED,
    InteractionStatus.OFFERED,
    InteractionStatus.ACTIVE,
)
WAITING_INTERACTION_STATUSES = (InteractionStatus.QUEUED, InteractionStatus.OFFERED)


class SentimentLabel(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEUTRAL = "neutral", "Neutral"
    NEGATIVE = "negative", "Negative"


class Interaction(models.Model):
    """One escalated conversation, from the bot's hand-over to its end."""

    status = models.CharField(
        max_length=20, choices=InteractionStatus.choices, default=InteractionStatus.QUEUED
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="interactions")
    # The customer as they were during this interaction. A later escalation of the same
    # customer (same external_id) updates the Customer row; these keep what this chat
    # showed, so its transcript, panel and history are never rewritten.
    customer_name = models.CharField(
        max_length=200, blank=True, help_text="The customer's name during this interaction."
    )
    customer_email = models.EmailField(blank=True)
    customer_phone = models.CharField(max_length=40, blank=True)
    customer_verified_identity = models.CharField(
        max_length=200,
        blank=True,
        help_text="The identity the customer proved for this interaction; empty when they "
        "did not authenticate.",
    )
    customer_metadata = models.JSONField(
        default=dict, blank=True, help_text="The customer's metadata at the escalation."
    )
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="interactions")
    queue = models.ForeignKey(
        "routing.Queue", on_delete=models.PROTECT, related_name="interactions"
    )
    intent = models.CharField(max_length=100, blank=True)
    context = models.JSONField(default=dict, blank=True)
    priority = models.SmallIntegerField(
        default=0, help_text="Higher is routed first within a queue (0–10)."
    )
    authenticated = models.BooleanField(default=False)
    authenticated_at = models.DateTimeField(null=True, blank=True)
    auth_requested_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a CSR last asked the customer to authenticate; empty once they have.",
    )
    sentiment_label = models.CharField(
        max_length=10,
        choices=SentimentLabel.choices,
        blank=True,
        help_text="Empty: not yet scored.",
    )
    sentiment_score = models.FloatField(
        null=True, blank=True, help_text="-1 (most negative) to 1 (most positive)."
    )
    sentiment_seq = models.PositiveIntegerField(
        default=0, help_text="Sequence number of the newest customer message the score covers."
    )
    assigned_csr = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_interactions",
    )
    bot_client = models.ForeignKey(
        BotClient,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="interactions",
        help_text="The bot that escalated this interaction.",
    )
    idempotency_key = models.CharField(max_length=200, blank=True)
    request_fingerprint = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the escalation request body."
    )
    last_seq = models.PositiveIntegerField(
        default=0, help_text="Sequence number of the newest message."
    )
    customer_read_seq = models.PositiveIntegerField(
        default=0, help_text="The newest message the customer has read."
    )
    csr_read_seq = models.PositiveIntegerField(
        default=0, help_text="The newest message the handling CSR has read."
    )
    created_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(
        default=timezone.now, help_text="When it entered its current queue; oldest first."
    )
    at_front = models.BooleanField(
        default=False,
        help_text="Re-queued after a transfer or a lost CSR: routed before new arrivals.",
    )
    transferred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="While a transfer is pending: the CSR who transferred the chat.",
    )
    transfer_note = models.TextField(
        blank=True, help_text="While a transfer is pending: the note for the receiving CSR."
    )
    offered_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(
        max_length=10, blank=True, help_text="Who ended the chat: csr, customer or system."
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["bot_client", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="interaction_unique_idempotency_key",
            ),
            models.CheckConstraint(
                condition=Q(priority__gte=0) & Q(priority__lte=10),
                name="interaction_priority_range",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "queue", "-at_front", "-priority", "queued_at"]),
            models.Index(fields=["assigned_csr", "status"]),
            # A customer's history (chat.selectors.history): same customer, or the same
            # verified identity on any channel, newest first.
            models.Index(fields=["customer", "-created_at"], name="interaction_customer_hist"),
            models.Index(
                fields=["customer_verified_identity", "-created_at"],
                condition=~Q(customer_verified_identity=""),
                name="interaction_identity_hist",
            ),
        ]

    def __str__(self) -> str:
        return f"Interaction {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_INTERACTION_STATUSES


class CustomerToken(models.Model):
    """A bearer token that lets the customer's widget join one interaction's chat.

    Only its SHA-256 is stored; an idempotent replay of the escalation mints another."""

    interaction = models.ForeignKey(
        Interaction, on_delete=models.CASCADE, related_name="customer_tokens"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Token for interaction {self.interaction_id}"


class SenderKind(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    CSR = "csr", "CSR"
    BOT = "bot", "Bot"
    SYSTEM = "system", "System"


class SystemEvent(models.TextChoices):
    """What a system message records, for styling and for transcripts."""

    ESCALATED = "escalated", "Escalated"
    JOINED = "joined", "CSR joined"
    TRANSFERRED = "transferred", "Transferred"
    REQUEUED = "requeued", "Re-queued"
    AUTH_REQUESTED = "auth_requested", "Authentication requested"
    AUTHENTICATED = "authenticated", "Customer authenticated"
    COBROWSE_STARTED = "cobrowse_started", "Co-browse started"
    COBROWSE_ENDED = "cobrowse_ended", "Co-browse ended"
    COBROWSE_DECLINED = "cobrowse_declined", "Co-browse declined"
    ARTICLE_SHARED = "article_shared", "Knowledge article shared"
    PAGE_PUSHED = "page_pushed", "Page pushed"
    CASE_CREATED = "case_created", "Service case created"
    CASE_UPDATED = "case_updated", "Service case updated"
    SUPERVISOR_MONITORING = "supervisor_monitoring", "Supervisor monitoring"
    SUPERVISOR_JOINED = "supervisor_joined", "Supervisor joined"
    SUPERVISOR_LEFT = "supervisor_left", "Supervisor left"
    TAKEN_OVER = "taken_over", "Taken over by a supervisor"
    WHISPER = "whisper", "Supervisor whisper"
    NOTE = "note", "Internal note"
    CSAT_REQUESTED = "csat_requested", "Satisfaction survey sent"
    CSAT_ANSWERED = "csat_answered", "Satisfaction rated"
    ENDED = "ended", "Chat ended"
    ABANDONED = "abandoned", "Abandoned"


class Message(models.Model):
    """One message of an interaction, numbered by `seq` in the order it was stored."""

    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    sender_kind = models.CharField(max_length=10, choices=SenderKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The CSR who wrote it; empty for customer, bot and system messages.",
    )
    author_name = models.CharField(max_length=200, blank=True)
    text = models.TextField()
    client_msg_id = models.CharField(max_length=64, blank=True)
    pre_escalation = models.BooleanField(
        default=False, help_text="Part of the bot conversation before the escalation."
    )
    event = models.CharField(max_length=30, choices=SystemEvent.choices, blank=True)
    data = models.JSONField(default=dict, blank=True)
    internal = models.BooleanField(
        default=False,
        help_text="Seen only inside the contact center (whispers, internal notes): never sent "
        "to the customer, the connector, the webhook or the customer's transcript.",
    )
    sentiment_score = models.FloatField(
        null=True, blank=True, help_text="Customer messages: this message's own score, -1 to 1."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["interaction", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["interaction", "seq"], name="message_unique_seq"),
            models.UniqueConstraint(
                fields=["interaction", "client_msg_id"],
                condition=~Q(client_msg_id=""),
                name="message_unique_client_msg_id",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.sender_kind}: {self.text[:40]}"


class WebhookDelivery(models.Model):
    """One CSR or system message POSTed to its channel's connector (chat/webhooks.py):
    one row per message, retried with backoff until delivered or failed."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    delivery_id = models.UUIDField(
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text="Sent as X-Portal-Delivery and `delivery_id`; the same on every attempt.",
    )
    interaction = models.ForeignKey(
        Interaction, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, related_name="webhook_delivery"
    )
    seq = models.PositiveIntegerField(help_text="The message's sequence number.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="POSTs tried in the current round (Retry now starts a new one)."
    )
    last_status_code = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="HTTP status of the last answer; empty when none came (timeout, refused).",
    )
    last_error = models.TextField(blank=True, help_text="Why the last attempt failed.")
    next_attempt_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Pending: when the next attempt is due (during an attempt, when it is "
        "given up as lost). Empty once delivered or failed.",
    )
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["interaction", "seq"], name="webhookdelivery_unique_seq"
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"Webhook for #{self.seq} of interaction {self.interaction_id}"


def attachment_upload_to(instance: "Attachment", filename: str) -> str:
    """Files live under attachments/<interaction id>/<random>/: never the sender's name
    (kept in `name` only), so nothing a sender picks reaches a path."""
    return f"attachments/{instance.interaction_id}/{uuid.uuid4().hex}/{filename}"


class Attachment(models.Model):
    """A file sent in a chat (chat/services/attachments.py): uploaded first, then carried
    by one message. The file is in the default storage, never in the database; a file
    the virus scanner blocks is never stored."""

    interaction = models.ForeignKey(
        Interaction, on_delete=models.CASCADE, related_name="attachments"
    )
    message = models.ForeignKey(
        Message,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="attachments",
        help_text="The message that carries it; empty until it is sent.",
    )
    sender_kind = models.CharField(max_length=10, choices=SenderKind.choices)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The CSR who uploaded it; empty for the customer's.",
    )
    upload_key = models.CharField(
        max_length=64,
        blank=True,
        help_text="The uploader's id for the upload: a retried upload is stored once.",
    )
    name = models.CharField(max_length=255, help_text="The file name as sent (shown only).")
    content_type = models.CharField(
        max_length=120, help_text="Decided from the content, not the name."
    )
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to=attachment_upload_to, max_length=300)
    thumbnail = models.FileField(upload_to=attachment_upload_to, max_length=300, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["interaction", "sender_kind", "upload_key"],
                condition=~Q(upload_key=""),
                name="attachment_unique_upload_key",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_image(self) -> bool:
        return bool(self.thumbnail)


class CsatSource(models.TextChoices):
    WIDGET = "widget", "Widget"
    CONNECTOR = "connector", "Connector"


class SatisfactionRating(models.Model):
    """The satisfaction survey of one ended chat: asked once, answered at most once."""

    interaction = models.OneToOneField(
        Interaction, on_delete=models.CASCADE, related_name="satisfaction"
    )
    asked_at = models.DateTimeField(default=timezone.now)
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="1 (very dissatisfied) to 5 (very satisfied)."
    )
    comment = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_via = models.CharField(max_length=10, choices=CsatSource.choices, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="satisfaction_rating_1_to_5",
            ),
        ]
        indexes = [models.Index(fields=["answered_at"], name="satisfaction_answered_idx")]

    def __str__(self) -> str:
        return f"{self.interaction_id}: {self.rating or 'not answered'}"
