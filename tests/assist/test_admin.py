"""The admin: Administrators manage shared phrases, articles and page push domains; a
phrase with an unknown placeholder is refused when saved; a saved article is found by
search at once."""

import pytest
from django.test import Client

from assist.models import Article, ArticleStatus, Phrase
from assist.selectors import article_search
from config.users import Role
from portal.services import roles_sync
from tests.factories import queue_factory, user_factory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    roles_sync()
    client = Client()
    client.force_login(user_factory(role=Role.ADMINISTRATOR))
    return client


@pytest.mark.parametrize(
    "model", ["phrase", "article", "pushdomain", "phraseuse", "suggestionpick"]
)
def test_an_administrator_opens_the_assist_admin_pages(admin_client, model):
    assert admin_client.get(f"/admin/assist/{model}/").status_code == 200


def test_a_csr_manager_has_no_assist_admin(client):
    roles_sync()
    client.force_login(user_factory(role=Role.CSR_MANAGER, is_staff=True))
    assert client.get("/admin/assist/phrase/").status_code == 403


def test_the_admin_refuses_a_phrase_with_an_unknown_placeholder(admin_client):
    queue = queue_factory()
    body = {
        "title": "Hi",
        "text": "Hello {firstname}",
        "shortcut": "hi",
        "queues": [queue.pk],
        "active": "on",
    }
    answer = admin_client.post("/admin/assist/phrase/add/", body)
    assert answer.status_code == 200
    assert "Unknown placeholder {firstname}" in answer.content.decode()
    assert not Phrase.objects.exists()
    body["text"] = "Hello {customer_first_name}"
    assert admin_client.post("/admin/assist/phrase/add/", body).status_code == 302
    assert list(Phrase.objects.get().queues.all()) == [queue]


def test_an_article_saved_in_the_admin_is_searchable_at_once(
    admin_client, django_capture_on_commit_callbacks
):
    body = {
        "title": "Zeppelin travel insurance",
        "slug": "zeppelin-travel-insurance",
        "body": "Cover for **airship** journeys.",
        "status": ArticleStatus.PUBLISHED,
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post("/admin/assist/article/add/", body).status_code == 302
    assert [a.slug for a in article_search(q="airship")] == ["zeppelin-travel-insurance"]
    article = Article.objects.get()
    article.status = ArticleStatus.DRAFT
    with django_capture_on_commit_callbacks(execute=True):
        article.save()
    assert article_search(q="airship") == []


def test_seeding_the_demo_content_twice_changes_nothing(django_capture_on_commit_callbacks):
    from assist.demo import demo_assist_seed

    demo_assist_seed()
    before = list(Article.objects.order_by("pk").values_list("pk", "updated_at"))
    with django_capture_on_commit_callbacks() as callbacks:
        demo_assist_seed()
    assert list(Article.objects.order_by("pk").values_list("pk", "updated_at")) == before
    assert callbacks == []  # no content change: no index rebuild anywhere
    assert article_search(q="stolen card")[0].slug == "lost-or-stolen-card"
