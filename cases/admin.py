"""Admin: case types with their form fields, cases (read-mostly), back-office API clients
and case webhook deliveries."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.http import HttpRequest

from cases.models import (
    BackOfficeClient,
    Case,
    CaseChange,
    CaseField,
    CaseType,
    CaseWebhookDelivery,
)
from cases.services import back_office_client_create

TOKEN_SHOWN_ONCE = "Copy this token now; it will not be shown again: {token}"  # noqa: S105


class CaseFieldInline(admin.StackedInline):
    model = CaseField
    extra = 0
    fields = [
        ("key", "label", "kind", "required", "order"),
        "help_text",
        "choices",
        ("context_keys", "identity_field", "extractor"),
    ]


def _case_type_formfield(db_field: models.Field, **kwargs: Any) -> forms.Field | None:
    # A scheme-less back-office URL means HTTPS (as Django 6 will assume).
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class CaseTypeAdminForm(forms.ModelForm):
    """The case type form without the stored webhook secret: a new one can be typed in
    (write-only), the stored one never reaches the page."""

    new_webhook_secret = forms.CharField(
        label="New webhook secret",
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: once saved it is never shown again. Type one to set or replace "
        "it; leave blank to keep the current one.",
    )

    class Meta:
        model = CaseType
        # Every field but the secret (an allow-list: a secret added later stays out).
        fields = [
            "name",
            "prefix",
            "category",
            "description",
            "active",
            "order",
            "channels",
            "queues",
            "requires_authentication",
            "intents",
            "example_phrases",
            "webhook_url",
        ]
        formfield_callback = _case_type_formfield

    def save(self, commit: bool = True) -> CaseType:
        case_type = super().save(commit=False)
        if self.cleaned_data.get("new_webhook_secret"):
            case_type.webhook_secret = self.cleaned_data["new_webhook_secret"]
        if commit:
            case_type.save()
            self.save_m2m()
        return case_type


@admin.register(CaseType)
class CaseTypeAdmin(admin.ModelAdmin):
    form = CaseTypeAdminForm
    # A scheme-less back-office URL means HTTPS (as Django 6 will assume).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "prefix", "category", "requires_authentication", "active", "webhook"]
    list_filter = ["category", "active", "requires_authentication"]
    search_fields = ["name", "prefix", "intents"]
    filter_horizontal = ["channels", "queues"]
    inlines = [CaseFieldInline]
    fieldsets = [
        (None, {"fields": ["name", "prefix", "category", "description", "active", "order"]}),
        ("Where it is offered", {"fields": ["channels", "queues", "requires_authentication"]}),
        ("What signals it", {"fields": ["intents", "example_phrases"]}),
        (
            "Back-office webhook",
            {"fields": ["webhook_url", "webhook_secret_state", "new_webhook_secret"]},
        ),
    ]
    readonly_fields = ["webhook_secret_state"]

    @admin.display(description="Webhook secret")
    def webhook_secret_state(self, case_type: CaseType) -> str:
        return "Set (hidden)" if case_type.webhook_secret else "Not set"

    @admin.display(description="Webhook", boolean=True)
    def webhook(self, case_type: CaseType) -> bool:
        return bool(case_type.webhook_url and case_type.webhook_secret)


class CaseChangeInline(admin.TabularInline):
    model = CaseChange
    extra = 0
    can_delete = False
    readonly_fields = ["action", "actor", "old_status", "new_status", "note", "created_at"]
    fields = ["action", "actor", "old_status", "new_status", "note", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    """Cases are opened from chats and changed in the portal or by the back office: the
    admin shows them."""

    list_display = ["reference", "case_type", "status", "customer", "interaction", "created_at"]
    list_filter = ["status", "case_type"]
    search_fields = ["reference", "customer__name", "customer__external_id"]
    readonly_fields = [
        "reference",
        "case_type",
        "customer",
        "interaction",
        "status",
        "values",
        "created_by",
        "created_at",
        "updated_at",
    ]
    inlines = [CaseChangeInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(BackOfficeClient)
class BackOfficeClientAdmin(admin.ModelAdmin):
    """The token is generated on creation and shown once; only its digest is kept."""

    list_display = ["name", "token_prefix", "active", "created_at", "last_used_at"]
    readonly_fields = ["token_prefix", "created_at", "last_used_at"]
    fields = ["name", "active", "token_prefix", "created_at", "last_used_at"]

    def get_fields(self, request: HttpRequest, obj=None):
        return self.fields if obj is not None else ["name", "active"]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return self.readonly_fields if obj is not None else []

    def save_model(self, request: HttpRequest, obj: BackOfficeClient, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        client, token = back_office_client_create(name=obj.name, active=obj.active)
        obj.pk = client.pk
        obj.refresh_from_db()
        obj._state.adding = False
        self.message_user(request, TOKEN_SHOWN_ONCE.format(token=token), messages.SUCCESS)


@admin.register(CaseWebhookDelivery)
class CaseWebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["case", "event", "status", "attempts", "last_status_code", "created_at"]
    list_filter = ["status", "event"]
    readonly_fields = [
        "delivery_id",
        "case",
        "event",
        "payload",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
        "created_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
