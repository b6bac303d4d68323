"""Queues with their intent rules and disposition codes, who may work which queue, Away
reasons, CSR profiles, the read-only routing history (offers, routing decisions and
wrap-ups), and the chats that waited past their queue's maximum (long waits, with the
follow-ups customers left)."""

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import Q
from django.http import HttpRequest

from chat.selectors.settings import app_studio_settings_get
from config.admin import ReadOnlyAdmin
from config.users import Role
from routing.models import (
    AwayReason,
    CSRProfile,
    DispositionCode,
    IntentRule,
    LongWait,
    Offer,
    Queue,
    QueueMembership,
    RoutingDecision,
    Wrapup,
)
from routing.selectors.csrs import csr_missed_in_a_row
from routing.services.waits import follow_ups_mark_done


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


class DispositionCodeInline(admin.TabularInline):
    """The codes a CSR picks from in the wrap-up of the queue's chats (used when the
    queue's wrap-up time limit is above 0)."""

    model = DispositionCode
    fields = ["label", "code", "order", "active"]
    prepopulated_fields = {"code": ["label"]}
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
        "reoffer_cooldown_seconds",
        "max_wait_seconds",
        "wrapup_seconds",
        "active",
    ]
    list_filter = ["strategy", "active"]
    search_fields = ["name", "slug"]
    ordering = ["-priority", "name"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at"]
    inlines = [IntentRuleInline, DispositionCodeInline, QueueMembershipInline]


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


@admin.register(DispositionCode)
class DispositionCodeAdmin(admin.ModelAdmin):
    """Every queue's codes in one list (each queue's page edits its own inline)."""

    list_display = ["label", "code", "queue", "order", "active"]
    list_filter = ["queue", "active"]
    search_fields = ["label", "code"]
    list_select_related = ["queue"]
    prepopulated_fields = {"code": ["label"]}


@admin.register(Wrapup)
class WrapupAdmin(ReadOnlyAdmin):
    """Read-only: the wrap-ups of ended chats, with their codes and summaries."""

    list_display = ["interaction", "csr", "queue", "code", "outcome", "started_at", "released_at"]
    list_filter = ["outcome", "queue", "code"]
    search_fields = ["interaction__id__exact", "csr__username", "summary"]
    list_select_related = ["interaction", "csr", "queue", "code"]
    ordering = ["-started_at"]


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


class FollowUpOpenFilter(admin.SimpleListFilter):
    title = "follow-up"
    parameter_name = "follow_up"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("done", "Done")]

    def queryset(self, request, queryset):
        left = queryset.filter(choice="leave_message")
        if self.value() == "open":
            return left.filter(follow_up_done_at__isnull=True)
        if self.value() == "done":
            return left.filter(follow_up_done_at__isnull=False)
        return queryset


@admin.register(LongWait)
class LongWaitAdmin(ReadOnlyAdmin):
    """Chats whose customer waited past the queue's maximum wait: what they chose, and
    the messages left for follow-up. Read-only, but for marking follow-ups done."""

    list_display = [
        "interaction",
        "queue",
        "waited_minutes",
        "offered_at",
        "times_offered",
        "choice",
        "follow_up_excerpt",
        "follow_up_done_at",
    ]
    list_filter = ["choice", FollowUpOpenFilter, "queue"]
    search_fields = ["interaction__id__exact", "interaction__customer_name", "follow_up_text"]
    list_select_related = ["interaction", "queue"]
    ordering = ["-offered_at"]
    actions = ["mark_follow_ups_done"]

    @admin.display(description="Waited (min)")
    def waited_minutes(self, obj: LongWait) -> int:
        return obj.waited_minutes

    @admin.display(description="Message left")
    def follow_up_excerpt(self, obj: LongWait) -> str:
        text = obj.follow_up_text
        return text if len(text) <= 80 else f"{text[:79]}…"

    @admin.action(description="Mark the selected follow-ups done", permissions=["mark_done"])
    def mark_follow_ups_done(self, request: HttpRequest, queryset) -> None:
        done = follow_ups_mark_done(
            long_wait_ids=list(queryset.values_list("pk", flat=True)),
            user=request.user,  # type: ignore[arg-type]
        )
        self.message_user(request, f"{done} follow-up(s) marked done.", messages.SUCCESS)

    def has_mark_done_permission(self, request: HttpRequest) -> bool:
        # Marking done records who followed up; the record itself stays read-only.
        return request.user.has_perm("routing.change_longwait")
