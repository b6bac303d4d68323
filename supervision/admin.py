"""Admin: the queues each manager supervises (none: every queue), the audit log, and
who joined which chat."""

from django.contrib import admin

from config.admin import ReadOnlyAdmin
from supervision.models import AuditEntry, ChatJoin, SupervisedQueue


@admin.register(SupervisedQueue)
class SupervisedQueueAdmin(admin.ModelAdmin):
    list_display = ("manager", "queue")
    list_filter = ("queue",)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "actor",
        "action",
        "target_user",
        "interaction",
        "queue",
        "reason",
    )
    list_filter = ("action",)


@admin.register(ChatJoin)
class ChatJoinAdmin(ReadOnlyAdmin):
    list_display = ("joined_at", "manager", "interaction", "mode", "left_at")
    list_filter = ("mode",)
