"""URLs of the manager tools: the pages and their JSON actions."""

from django.urls import path

from supervision import views

app_name = "supervision"

urlpatterns = [
    path("supervision/", views.queues_page, name="queues"),
    path("supervision/csrs/", views.csrs_page, name="csrs"),
    path("supervision/chats/", views.chats_page, name="chats"),
    path("supervision/health/", views.health_page, name="health"),
    path(
        "supervision/queues/<int:queue_id>/members/", views.queue_members_page, name="queue-members"
    ),
    path(
        "supervision-api/queues/<int:queue_id>/csrs/", views.queue_csr_action, name="api-queue-csrs"
    ),
    path(
        "supervision-api/csrs/<int:csr_id>/status/", views.csr_status_action, name="api-csr-status"
    ),
    path(
        "supervision-api/csrs/<int:csr_id>/capacity/",
        views.csr_capacity_action,
        name="api-csr-capacity",
    ),
    path(
        "supervision-api/chats/<int:interaction_id>/reassign/",
        views.chat_reassign_action,
        name="api-chat-reassign",
    ),
    path(
        "supervision-api/chats/<int:interaction_id>/<str:action>/",
        views.chat_join_action,
        name="api-chat-join",
    ),
]
