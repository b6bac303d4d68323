"""App Studio in the Django admin: channels, settings, bot API clients, customers, and
read-only interactions, messages and webhook deliveries.

Secrets (a channel's identity and webhook secrets, a bot client's token) are write-only:
set or generated here, shown at most once, never on a list, form or read-only page."""

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.debug import sensitive_post_parameters

from chat.models import (
    AppStudioSettings,
    Attachment,
    BotClient,
    Channel,
    Customer,
    Interaction,
    Message,
    SatisfactionRating,
    WebhookDelivery,
)
from chat.selectors.settings import app_studio_settings_get
from chat.services.bot_clients import bot_client_create, bot_client_rotate_token
from chat.services.channels import ChannelSecret, channel_secret_rotate
from chat.webhooks import deliveries_retry_failed
from config.admin import ReadOnlyAdmin

# CustomerToken is deliberately not registered: it holds only a digest and its
# interaction, nothing an administrator can read or should edit; tokens are minted by
# the escalation API and go away with their interaction.

TOKEN_SHOWN_ONCE = "Copy this token now; it will not be shown again: {token}"  # noqa: S105

WRITE_ONLY_HELP = (
    "Write-only: once saved it is never shown again. Type one to set or replace it; leave "
    "blank to keep the current one. The channel list's “Rotate {label}” action "
    "generates a new one and shows it once."
)


def _secret_field(secret: ChannelSecret) -> forms.CharField:
    return forms.CharField(
        label=f"New {secret.label}",
        required=False,
        max_length=cast("models.CharField", Channel._meta.get_field(secret.value)).max_length,
        # Never rendered back into the page, not even after a failed save.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=WRITE_ONLY_HELP.format(label=secret.label),
    )


def _channel_formfield(db_field: models.Field, **kwargs: Any) -> forms.Field | None:
    # A scheme-less connector URL means HTTPS (as Django 6 will assume).
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class ChannelAdminForm(forms.ModelForm):
    """The channel form without the stored secrets: new ones can be typed in (write-only
    fields), the stored ones never reach the page."""

    new_identity_secret = _secret_field(ChannelSecret.IDENTITY)
    new_webhook_secret = _secret_field(ChannelSecret.WEBHOOK)

    class Meta:
        model = Channel
        # Every field but the secrets (an allow-list: a secret added later stays out).
        fields = [
            "name",
            "slug",
            "kind",
            "active",
            "default_queue",
            "cobrowse_allowed",
            "attachments_allowed",
            "auth_requests_allowed",
            "csat_enabled",
            "typing_preview",
            "webhook_url",
        ]
        formfield_callback = _channel_formfield


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelAdminForm
    list_display = [
        "name",
        "slug",
        "kind",
        "public",
        "default_queue",
        "cobrowse_allowed",
        "attachments_allowed",
        "auth_requests_allowed",
        "csat_enabled",
        "typing_preview",
        "identity_verification",
        "webhook",
        "active",
    ]
    list_filter = [
        "kind",
        "active",
        "cobrowse_allowed",
        "attachments_allowed",
        "auth_requests_allowed",
        "csat_enabled",
        "typing_preview",
    ]
    # Never search the secrets: a search box would let anyone with view permission
    # guess them character by character.
    search_fields = ["name", "slug", "webhook_url"]
    list_select_related = ["default_queue"]
    ordering = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at", "identity_secret_state", "webhook_secret_state"]
    # A scheme-less connector URL means HTTPS (as Django 6 will assume).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ["rotate_identity_secret", "rotate_webhook_secret"]

    def get_fieldsets(self, request: HttpRequest, obj: Channel | None = None) -> Any:
        # The write-only secret fields only for those who may save the form; everyone
        # else (a view-only user) sees whether a secret is set, and no more.
        may_write = (
            self.has_change_permission(request, obj)
            if obj is not None
            else self.has_add_permission(request)
        )
        identity = ["new_identity_secret"] if may_write else []
        webhook = ["new_webhook_secret"] if may_write else []
        if obj is not None:
            identity.insert(0, "identity_secret_state")
            webhook.insert(0, "webhook_secret_state")
        return [
            ("Identity", {"fields": ["name", "slug", "kind", "active", "created_at"]}),
            ("Routing", {"fields": ["default_queue"]}),
            (
                "Capabilities — App Studio switches",
                {
                    "fields": [
                        "cobrowse_allowed",
                        "attachments_allowed",
                        "auth_requests_allowed",
                        "csat_enabled",
                        "typing_preview",
                    ],
                    "description": "What CSRs and customers may do on this channel. The "
                    "global App Studio settings can switch co-browse and attachments off "
                    "everywhere. The typing preview is off by default: when on, the widget "
                    "tells customers that the CSR sees what they type before they send it.",
                },
            ),
            ("Identity verification", {"fields": identity}),
            ("Connector webhook", {"fields": ["webhook_url", *webhook]}),
        ]

    # A typed secret never reaches an error report or its log line.
    @method_decorator(sensitive_post_parameters(*(f"new_{s.value}" for s in ChannelSecret)))
    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any):
        return super().changeform_view(request, *args, **kwargs)

    def save_model(self, request: HttpRequest, obj: Channel, form, change: bool) -> None:
        for secret in ChannelSecret:
            typed = form.cleaned_data.get(f"new_{secret.value}")
            if typed:
                setattr(obj, secret.value, typed)
        super().save_model(request, obj, form, change)

    @admin.display(description="Identity secret")
    def identity_secret_state(self, channel: Channel) -> str:
        return "Set (hidden)" if channel.identity_secret else "Not set"

    @admin.display(description="Webhook secret")
    def webhook_secret_state(self, channel: Channel) -> str:
        return "Set (hidden)" if channel.webhook_secret else "Not set"

    @admin.action(description="Rotate identity secret (shown once)", permissions=["change"])
    def rotate_identity_secret(
        self, request: HttpRequest, queryset: QuerySet[Channel]
    ) -> TemplateResponse:
        return self._secrets_rotate(request, queryset, ChannelSecret.IDENTITY)

    @admin.action(description="Rotate webhook secret (shown once)", permissions=["change"])
    def rotate_webhook_secret(
        self, request: HttpRequest, queryset: QuerySet[Channel]
    ) -> TemplateResponse:
        return self._secrets_rotate(request, queryset, ChannelSecret.WEBHOOK)

    def _secrets_rotate(
        self, request: HttpRequest, queryset: QuerySet[Channel], secret: ChannelSecret
    ) -> TemplateResponse:
        """New secrets for the selected channels, shown on this one page only: not put in
        a message (which the session or a cookie would keep), and the page not cached."""
        rotated = []
        with transaction.atomic():
            for channel in queryset.order_by("name"):
                value = channel_secret_rotate(channel_id=channel.pk, secret=secret)
                self.log_change(request, channel, f"Rotated the {secret.label}.")
                rotated.append({"channel": channel, "secret": value})
        context = {
            **self.admin_site.each_context(request),
            "title": f"New {secret.label}s",
            "opts": self.opts,
            "secret_label": secret.label,
            "rotated": rotated,
        }
        response = TemplateResponse(request, "admin/chat/channel/secrets_rotated.html", context)
        add_never_cache_headers(response)
        return response

    @admin.display(boolean=True, description="Public", ordering="kind")
    def public(self, channel: Channel) -> bool:
        return channel.is_public

    @admin.display(boolean=True, description="Identity secret")
    def identity_verification(self, channel: Channel) -> bool:
        return bool(channel.identity_secret)

    @admin.display(boolean=True, description="Webhook")
    def webhook(self, channel: Channel) -> bool:
        return bool(channel.webhook_url and channel.webhook_secret)


@admin.register(AppStudioSettings)
class AppStudioSettingsAdmin(admin.ModelAdmin):
    """One record: the list page opens it, it cannot be added twice or deleted."""

    readonly_fields = ["updated_at"]
    fieldsets = [
        ("Co-browse", {"fields": ["cobrowse_enabled"]}),
        (
            "Attachments",
            {
                "fields": [
                    "attachments_enabled",
                    "max_attachment_bytes",
                    "max_message_attachment_bytes",
                    "allowed_attachment_types",
                ],
                "description": "Both this switch and the channel's must allow attachments. "
                "Types are decided from each file's content; see docs/attachments.md.",
            },
        ),
        (
            "Routing",
            {
                "fields": [
                    "default_offer_timeout_seconds",
                    "missed_offers_before_away",
                    "default_csr_capacity",
                ]
            },
        ),
        ("Sentiment", {"fields": ["sentiment_enabled"]}),
        ("Transcripts", {"fields": ["time_zone"]}),
        (None, {"fields": ["updated_at"]}),
    ]

    def changelist_view(self, request: HttpRequest, extra_context=None):
        if not self.has_view_or_change_permission(request):
            return super().changelist_view(request, extra_context)  # refuses as usual
        record = app_studio_settings_get()
        return HttpResponseRedirect(
            reverse("admin:chat_appstudiosettings_change", args=[record.pk])
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return (
            super().has_add_permission(request)
            and not AppStudioSettings.objects.filter(pk=AppStudioSettings.SINGLETON_ID).exists()
        )

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(BotClient)
class BotClientAdmin(admin.ModelAdmin):
    """The token is generated on creation and shown once; only its digest is kept."""

    list_display = ["name", "token_prefix", "active", "channels", "created_at", "last_used_at"]
    list_filter = ["active", "allowed_channels"]
    search_fields = ["name", "token_prefix"]
    ordering = ["name"]
    filter_horizontal = ["allowed_channels"]
    readonly_fields = ["token_prefix", "created_at", "last_used_at"]
    fields = ["name", "active", "allowed_channels", "token_prefix", "created_at", "last_used_at"]
    actions = ["rotate_token"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[BotClient]:
        return super().get_queryset(request).prefetch_related("allowed_channels")

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        # No token exists before the client is saved.
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request: HttpRequest, obj=None):
        return self.fields if obj is not None else ["name", "active", "allowed_channels"]

    @admin.display(description="Allowed channels")
    def channels(self, client: BotClient) -> str:
        return ", ".join(channel.name for channel in client.allowed_channels.all()) or "—"

    def save_model(self, request: HttpRequest, obj: BotClient, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        client, token = bot_client_create(
            name=obj.name,
            active=obj.active,
            channels=list(form.cleaned_data.get("allowed_channels", [])),
        )
        # The admin goes on with `obj` (saving its channels, logging, redirecting):
        # make it the stored client.
        obj.pk = client.pk
        obj.refresh_from_db()
        obj._state.adding = False
        self.message_user(request, TOKEN_SHOWN_ONCE.format(token=token), messages.SUCCESS)

    @admin.action(description="Rotate token", permissions=["change"])
    def rotate_token(self, request: HttpRequest, queryset: QuerySet[BotClient]) -> None:
        for client in queryset:
            token = bot_client_rotate_token(client=client)
            self.message_user(
                request,
                f"New token for “{client}”, the old one no longer works. "
                + TOKEN_SHOWN_ONCE.format(token=token),
                messages.SUCCESS,
            )


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "phone", "external_id", "authenticated", "created_at"]
    list_filter = ["authenticated"]
    search_fields = ["name", "email", "phone", "external_id"]
    ordering = ["name"]
    # Set by the authentication flow only: editing them would fake a verified identity.
    readonly_fields = ["authenticated", "verified_identity", "created_at", "updated_at"]


class MessageInline(admin.TabularInline):
    model = Message
    fields = ["seq", "sender_kind", "author_name", "text", "created_at"]
    readonly_fields = cast("list[str]", fields)  # every field shown is read-only
    ordering = ["seq"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Interaction)
class InteractionAdmin(ReadOnlyAdmin):
    """Read-only: the conversation's history must not be rewritten. The customer is
    shown as they were in the interaction (its own copy of their details); the customer
    record, which later chats may have changed, is a link."""

    list_display = [
        "id",
        "customer_name",
        "channel",
        "queue",
        "status",
        "assigned_csr",
        "created_at",
        "ended_at",
    ]
    list_filter = ["status", "channel", "queue", "authenticated"]
    search_fields = ["id__exact", "customer_name", "intent"]
    list_select_related = ["channel", "queue", "assigned_csr"]
    ordering = ["-created_at"]
    date_hierarchy = "created_at"
    inlines = [MessageInline]
    fieldsets = [
        (None, {"fields": ["status", "channel", "queue", "intent", "priority"]}),
        (
            "Customer, as in this interaction",
            {
                "fields": [
                    "customer_name",
                    "customer_email",
                    "customer_phone",
                    "customer_verified_identity",
                    "customer_metadata",
                    "customer_record",
                ]
            },
        ),
        ("Routing", {"fields": ["assigned_csr", "queued_at", "at_front", "offered_at"]}),
        ("Transfer", {"fields": ["transferred_by", "transfer_note"]}),
        (
            "Escalation",
            {
                "fields": [
                    "bot_client",
                    "idempotency_key",
                    "request_fingerprint",
                    "context",
                ]
            },
        ),
        ("Authentication", {"fields": ["authenticated", "authenticated_at", "auth_requested_at"]}),
        ("Sentiment", {"fields": ["sentiment_label", "sentiment_score", "sentiment_seq"]}),
        ("Times", {"fields": ["created_at", "accepted_at", "ended_at", "last_seq"]}),
    ]

    @admin.display(description="Customer record")
    def customer_record(self, interaction: Interaction) -> str:
        url = reverse("admin:chat_customer_change", args=[interaction.customer_id])
        label = interaction.customer.external_id or f"Customer {interaction.customer_id}"
        return format_html('<a href="{}">{}</a> (as it is now)', url, label)


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    """Read-only, like the interactions they belong to."""

    list_display = [
        "interaction",
        "seq",
        "sender_kind",
        "author_name",
        "short_text",
        "event",
        "pre_escalation",
        "created_at",
    ]
    list_filter = ["sender_kind", "pre_escalation", "event"]
    search_fields = ["text"]
    list_select_related = ["interaction"]
    ordering = ["-id"]
    fields = [
        "interaction",
        "seq",
        "sender_kind",
        "author",
        "author_name",
        "text",
        "event",
        "data",
        "pre_escalation",
        "client_msg_id",
        "sentiment_score",
        "created_at",
    ]

    @admin.display(description="Text")
    def short_text(self, message: Message) -> str:
        return message.text if len(message.text) <= 80 else message.text[:79] + "…"


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    """Read-only: what was sent, by whom, its checks' results. The files themselves are
    opened from the chat (signed URLs), not from here; retention deletes them
    (manage.py purge_interactions)."""

    list_display = ["name", "content_type", "size", "sender_kind", "interaction", "sent_in"]
    list_filter = ["sender_kind", "content_type"]
    search_fields = ["name", "sha256"]
    list_select_related = ["interaction", "message"]
    ordering = ["-id"]
    fields = [
        "interaction",
        "message",
        "sender_kind",
        "uploaded_by",
        "name",
        "content_type",
        "size",
        "sha256",
        "width",
        "height",
        "stored_as",
        "upload_key",
        "created_at",
    ]
    readonly_fields = ["stored_as"]

    @admin.display(description="Message")
    def sent_in(self, attachment: Attachment) -> str:
        return f"#{attachment.message.seq}" if attachment.message else "Not sent"

    @admin.display(description="Stored as")
    def stored_as(self, attachment: Attachment) -> str:
        return attachment.file.name or ""


@admin.register(SatisfactionRating)
class SatisfactionRatingAdmin(ReadOnlyAdmin):
    """Read-only: the satisfaction surveys asked when chats ended, and their answers."""

    list_display = ["interaction", "rating", "answered_via", "asked_at", "answered_at"]
    list_filter = ["rating", "answered_via"]
    search_fields = ["comment"]
    list_select_related = ["interaction"]
    ordering = ["-asked_at"]
    date_hierarchy = "asked_at"
    fields = ["interaction", "asked_at", "rating", "comment", "answered_via", "answered_at"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """Read-only: what was sent to the connectors and how it went. "Retry now" gives
    failed deliveries a new round of attempts."""

    list_display = [
        "id",
        "interaction",
        "seq",
        "channel",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
        "created_at",
    ]
    list_filter = ["status", "interaction__channel"]
    search_fields = ["interaction__id__exact", "delivery_id__exact"]
    list_select_related = ["interaction__channel"]
    ordering = ["-id"]
    date_hierarchy = "created_at"
    fields = [
        "delivery_id",
        "interaction",
        "message",
        "seq",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
        "created_at",
        "updated_at",
    ]
    actions = ["retry_now"]

    @admin.display(description="Channel", ordering="interaction__channel__name")
    def channel(self, delivery: WebhookDelivery) -> Channel:
        return delivery.interaction.channel

    def has_retry_permission(self, request: HttpRequest) -> bool:
        # The admin is read-only, so the action has its own check: the model's change
        # permission, which Administrators hold and CSR managers do not.
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description="Retry now (failed deliveries)", permissions=["retry"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        selected = list(queryset.values_list("pk", flat=True))
        queued = deliveries_retry_failed(delivery_ids=selected)
        skipped = len(selected) - queued
        text = f"{queued} failed deliver{'y' if queued == 1 else 'ies'} queued again."
        if skipped:
            text += f" {skipped} not failed, left alone."
        self.message_user(request, text, messages.SUCCESS if queued else messages.WARNING)
