"""The admin site's titles ("App Studio")."""

from django.contrib import admin

admin.site.site_header = "CSR Interaction Portal — App Studio"
admin.site.site_title = "App Studio"
admin.site.index_title = "Channels, queues, bot clients, users and roles"
