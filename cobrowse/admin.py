"""Co-browse sessions in the admin: a read-only record (who, when, how long, how it
ended), for reports and audits."""

from django.contrib import admin

from cobrowse.models import CobrowseSession


@admin.register(CobrowseSession)
class CobrowseSessionAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "interaction",
        "csr",
        "status",
        "started_via",
        "requested_at",
        "started_at",
        "duration",
        "ended_by",
        "end_reason",
    )
    list_filter = ("status", "end_reason", "started_via")
    search_fields = ("interaction__id", "csr__username", "csr__first_name", "csr__last_name")
    date_hierarchy = "requested_at"
    list_select_related = ("interaction", "csr")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Duration (s)")
    def duration(self, session: CobrowseSession) -> int | None:
        return session.duration_seconds
