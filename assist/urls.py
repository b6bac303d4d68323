"""URLs of the assist app: the chat panel's JSON endpoints, the personal phrases page and
the public article pages."""

from django.urls import path

from assist import api, views

app_name = "assist"

urlpatterns = [
    path("assist/phrases/", views.phrases, name="phrases"),
    path("assist/phrases/<int:phrase_id>/", views.phrase_edit, name="phrase-edit"),
    path("assist/phrases/<int:phrase_id>/delete/", views.phrase_delete, name="phrase-delete"),
    path("help/articles/<slug:slug>/", views.article_public, name="article-public"),
    path("portal-api/assist/articles/", api.article_search, name="api-articles"),
    path("portal-api/assist/articles/<int:article_id>/", api.article_detail, name="api-article"),
    path(
        "portal-api/assist/interactions/<int:interaction_id>/phrases/",
        api.phrases,
        name="api-phrases",
    ),
    path(
        "portal-api/assist/interactions/<int:interaction_id>/phrases/used/",
        api.phrase_used,
        name="api-phrase-used",
    ),
    path(
        "portal-api/assist/interactions/<int:interaction_id>/suggestions/",
        api.suggestions,
        name="api-suggestions",
    ),
    path(
        "portal-api/assist/interactions/<int:interaction_id>/share/",
        api.article_share,
        name="api-share",
    ),
    path(
        "portal-api/assist/interactions/<int:interaction_id>/push/",
        api.page_push,
        name="api-push",
    ),
]
