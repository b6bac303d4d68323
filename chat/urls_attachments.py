"""URLs of attachments, mounted at /attachments/ (chat.attachment_views)."""

from django.urls import path

from chat import attachment_views

app_name = "attachments"

urlpatterns = [
    path("chats/<int:interaction_id>/", attachment_views.attachment_upload, name="upload"),
    path("s/<str:token>/<str:variant>/", attachment_views.attachment_signed, name="signed"),
    path("<int:pk>/", attachment_views.attachment_link, name="link"),
]
