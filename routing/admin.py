"""Queues and their intent rules, who may work which queue, Away reasons, CSR profiles,
and the read-only routing history (offers and routing decisions)."""

from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import Q
from django.http import HttpRequest

from chat.selectors.settings import app_studio_settings_get
from config.admin import ReadOnlyAdmin
from config.users import Role
from routing.models import (
    AwayReason,
    CSRProfile,
    IntentRule,
    Offer,
    Queue,
    QueueMembership,
    RoutingDecision,
)
from routing.selectors.csrs import csr_missed_in_a_row


def _csr_users():
    """Users to pick for queues and profiles: CSRs, and whoever already has one (so a
    user who lost the CSR role does not make the existing rows invalid)."""
    return (
        User.objects.filter(
            Q(groups__name=Role.CSR.value)
            | Q(queue_memberships__isnull=False)
            | Q(csr_profile__isnull=False)
        )
        .distinct()
        .order_by("username")
    )


class IntentRuleInline(admin.TabularInline):
    model = IntentRule
    extra = 1


class QueueMembershipInline(admin.TabularInline):
    """The CSRs allowed to work the queue; whether they joined it is theirs to say."""

    model = QueueMembership
    fields = ["user", "joined", "joined_at"]
    readonly_fields = ["joined", "joined_at"]
    extra = 1
    verbose_name = "CSR allowed on this queue"
    verbose_name_plural = "CSRs allowed on this queue"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = _csr_users()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "strategy",
        "offer_timeout_seconds",
        "priority",
        "service_level_seconds",
        "active",
    ]
    list_filter = ["strategy", "active"]
    search_fields = ["name", "slug"]
    ordering = ["-priority", "name"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at"]
    inlines = [IntentRuleInline, QueueMembershipInline]


@admin.register(IntentRule)
class IntentRuleAdmin(admin.ModelAdmin):
    list_display = ["intent", "queue"]
    list_filter = ["queue"]
    search_fields = ["intent"]
    list_select_related = ["queue"]
    ordering = ["intent"]


@admin.register(QueueMembership)
class QueueMembershipAdmin(admin.ModelAdmin):
    """An administrator allows a CSR on a queue; joining and leaving is the CSR's."""

    list_display = ["user", "queue", "joined", "joined_at", "last_offered_at"]
    list_filter = ["queue", "joined"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "queue__name"]
    list_select_related = ["user", "queue"]
    ordering = ["queue__name", "user__username"]
    readonly_fields = ["joined", "joined_at", "last_offered_at"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = _csr_users()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(AwayReason)
class AwayReasonAdmin(admin.ModelAdmin):
    """The reasons CSRs pick when they go Away; the portal's own ones cannot be removed."""

    list_display = ["label", "code", "active", "system"]
    list_filter = ["active", "system"]
    search_fields = ["label", "code"]
    ordering = ["label"]
    prepopulated_fields = {"code": ["label"]}

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        # The portal finds its system reasons by code.
        if obj is not None and obj.system:
            return ["code", "system"]
        return ["system"]

    def get_prepopulated_fields(self, request: HttpRequest, obj=None):
        return {} if obj is not None and obj.system else self.prepopulated_fields

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        if obj is not None and obj.system:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(CSRProfile)
class CSRProfileAdmin(admin.ModelAdmin):
    """Capacity is the administrator's; presence is the CSR's, changed only by the portal."""

    list_display = ["user", "status", "away_reason", "capacity", "last_heartbeat_at"]
    list_filter = ["status", "away_reason"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    list_select_related = ["user", "away_reason"]
    ordering = ["user__username"]
    fields = [
        "user",
        "capacity",
        "status",
        "away_reason",
        "status_changed_at",
        "last_heartbeat_at",
        "idle_since",
        "missed_offers_in_a_row",
    ]
    readonly_fields = [
        "status",
        "away_reason",
        "status_changed_at",
        "last_heartbeat_at",
        "idle_since",
        "missed_offers_in_a_row",
    ]

    @admin.display(description="Missed offers in a row")
    def missed_offers_in_a_row(self, profile: CSRProfile) -> int:
        limit = app_studio_settings_get().missed_offers_before_away
        return csr_missed_in_a_row(
            user_id=profile.user_id, since=profile.status_changed_at, at_most=limit
        )

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return ["user", *self.readonly_fields] if obj is not None else self.readonly_fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = _csr_users()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Offer)
class OfferAdmin(ReadOnlyAdmin):
    """Read-only routing history."""

    list_display = [
        "id",
        "interaction",
        "csr",
        "queue",
        "status",
        "direct",
        "created_at",
        "expires_at",
        "responded_at",
    ]
    list_filter = ["status", "queue", "direct"]
    search_fields = ["interaction__id__exact", "csr__username", "reason"]
    list_select_related = ["interaction", "csr", "queue"]
    ordering = ["-created_at"]


@admin.register(RoutingDecision)
class RoutingDecisionAdmin(ReadOnlyAdmin):
    """Read-only: why each interaction went where it went."""

    list_display = ["created_at", "interaction", "queue", "strategy", "chosen", "summary"]
    list_filter = ["strategy", "queue"]
    search_fields = ["interaction__id__exact", "summary"]
    list_select_related = ["interaction", "queue", "chosen"]
    ordering = ["-created_at"]
