"""The admin site's titles ("App Studio") and the base class of read-only admins."""

from django.contrib import admin
from django.http import HttpRequest

admin.site.site_header = "CSR Interaction Portal — App Studio"
admin.site.site_title = "App Studio"
admin.site.index_title = "Channels, queues, bot clients, users and roles"


class ReadOnlyAdmin(admin.ModelAdmin):
    """History: anyone allowed to see it may look; nobody may add, change or delete it,
    not even a superuser, because editing would corrupt the record."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
