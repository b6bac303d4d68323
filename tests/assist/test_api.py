"""The chat panel's assist endpoints: phrases with placeholders filled, personal phrases
kept to their owner, article search/read/share, page push and its allow-list, and the
refusals."""

import json

import pytest
from django.test import Client

from assist.models import Article, ArticleStatus, Phrase, PhraseUse, SuggestionPick
from chat.models import Message, SenderKind, SystemEvent
from config.users import Role
from tests.factories import user_factory

pytestmark = pytest.mark.django_db


def post(client: Client, url: str, body: dict):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_phrases_come_with_placeholders_filled_for_the_chat(csr_chat):
    csr_chat.csr.first_name, csr_chat.csr.last_name = "Alex", "Morgan"
    csr_chat.csr.save()
    answer = csr_chat.csr_client.get(csr_chat.url("phrases/"))
    assert answer.status_code == 200
    greet = next(p for p in answer.json()["phrases"] if p["shortcut"] == "greet")
    assert (
        greet["text"] == "Hi Dana, I'm Alex Morgan from Northwind Bank. How can I help you today?"
    )
    reference = next(p for p in answer.json()["phrases"] if p["shortcut"] == "reference")
    assert reference["text"].endswith(f"is {csr_chat.id}.")


def test_a_phrase_for_another_queue_is_not_offered(csr_chat):
    from tests.factories import queue_factory

    other = Phrase.objects.create(title="Only elsewhere", text="Elsewhere", shortcut="elsewhere")
    other.queues.add(queue_factory())
    mine = Phrase.objects.create(title="Here", text="Here", shortcut="here")
    mine.queues.add(csr_chat.interaction.queue)
    shortcuts = {
        p["shortcut"] for p in csr_chat.csr_client.get(csr_chat.url("phrases/")).json()["phrases"]
    }
    assert "here" in shortcuts and "elsewhere" not in shortcuts


def test_only_the_handling_csr_gets_the_chat_s_phrases(csr_chat, other_csr_client):
    assert other_csr_client.get(csr_chat.url("phrases/")).status_code == 403
    assert Client().get(csr_chat.url("phrases/")).status_code == 401
    manager = Client()
    manager.force_login(user_factory(role=Role.CSR_MANAGER))
    assert manager.get(csr_chat.url("phrases/")).status_code == 403


def test_inserting_a_phrase_is_counted_per_phrase_and_csr_and_a_suggested_one_is_a_pick(csr_chat):
    phrase = Phrase.objects.get(shortcut="card-blocked", owner=None)
    for _ in range(2):
        answer = post(csr_chat.csr_client, csr_chat.url("phrases/used/"), {"phrase_id": phrase.pk})
        assert answer.status_code == 200
    assert PhraseUse.objects.get(phrase=phrase, user=csr_chat.csr).count == 2
    assert not SuggestionPick.objects.exists()
    post(
        csr_chat.csr_client,
        csr_chat.url("phrases/used/"),
        {"phrase_id": phrase.pk, "suggested": True},
    )
    pick = SuggestionPick.objects.get()
    assert (pick.intent, pick.kind, pick.item_id, pick.count) == (
        "lost_card",
        "phrase",
        phrase.pk,
        1,
    )


def test_personal_phrases_of_another_csr_are_neither_listed_nor_usable(csr_chat):
    other = user_factory(role=Role.CSR)
    theirs = Phrase.objects.create(
        owner=other, title="Secret", text="Their own words", shortcut="mine"
    )
    titles = {
        p["title"] for p in csr_chat.csr_client.get(csr_chat.url("phrases/")).json()["phrases"]
    }
    assert "Secret" not in titles
    answer = post(csr_chat.csr_client, csr_chat.url("phrases/used/"), {"phrase_id": theirs.pk})
    assert answer.status_code == 404


def test_article_search_finds_by_title_body_and_tags(csr_chat):
    for q, slug in [
        ("stolen card", "lost-or-stolen-card"),
        ("IBAN", "send-money-abroad"),
        ("ISA", "savings-accounts"),
    ]:
        answer = csr_chat.csr_client.get(
            f"/portal-api/assist/articles/?q={q}&interaction={csr_chat.id}"
        )
        assert answer.status_code == 200
        slugs = [Article.objects.get(pk=a["id"]).slug for a in answer.json()["articles"]]
        assert slugs and slugs[0] == slug, (q, slugs)


def test_drafts_are_never_found_read_or_shared(csr_chat):
    draft = Article.objects.get(slug="draft-new-mortgage-rates")
    assert draft.status == ArticleStatus.DRAFT
    found = csr_chat.csr_client.get("/portal-api/assist/articles/?q=mortgage").json()["articles"]
    assert draft.pk not in [a["id"] for a in found]
    assert csr_chat.csr_client.get(f"/portal-api/assist/articles/{draft.pk}/").status_code == 404
    answer = post(
        csr_chat.csr_client,
        csr_chat.url("share/"),
        {"article_id": draft.pk, "client_msg_id": "s-1"},
    )
    assert answer.status_code == 404
    assert not Message.objects.filter(interaction=csr_chat.interaction).exists()


def test_customers_cannot_read_draft_articles_on_the_public_page(client):
    from assist.demo import demo_assist_seed

    demo_assist_seed()
    assert client.get("/help/articles/draft-new-mortgage-rates/").status_code == 404
    page = client.get("/help/articles/lost-or-stolen-card/")
    assert page.status_code == 200
    assert b"Report a lost or stolen card" in page.content


def test_an_article_is_read_with_its_body_rendered_and_sanitised(csr_chat):
    article = Article.objects.create(
        title="Tricky", slug="tricky", status=ArticleStatus.PUBLISHED,
        body="**Bold** <script>alert(1)</script> [x](javascript:alert(1))",
    )  # fmt: skip
    data = csr_chat.csr_client.get(f"/portal-api/assist/articles/{article.pk}/").json()
    assert "<strong>Bold</strong>" in data["html"]
    assert "<script" not in data["html"] and 'href="javascript' not in data["html"]


def test_sharing_an_article_stores_a_csr_message_with_the_card(csr_chat):
    article = Article.objects.get(slug="lost-or-stolen-card")
    body = {"article_id": article.pk, "client_msg_id": "share-1", "suggested": True}
    answer = post(csr_chat.csr_client, csr_chat.url("share/"), body)
    assert answer.status_code == 200, answer.json()
    message = Message.objects.get(interaction=csr_chat.interaction)
    assert message.sender_kind == SenderKind.CSR and message.event == SystemEvent.ARTICLE_SHARED
    assert message.data == {
        "article_id": article.pk,
        "title": "Report a lost or stolen card",
        "summary": article.summary,
        "url": "/help/articles/lost-or-stolen-card/",
    }
    assert message.text.startswith("Report a lost or stolen card\n")
    # A retried share (same client_msg_id) is stored once.
    again = post(csr_chat.csr_client, csr_chat.url("share/"), body)
    assert again.json() == {"seq": message.seq, "created": False}
    assert Message.objects.filter(interaction=csr_chat.interaction).count() == 1
    assert SuggestionPick.objects.get(kind="article", item_id=article.pk).count == 1


def test_another_csr_cannot_share_into_a_chat_they_do_not_handle(csr_chat, other_csr_client):
    article = Article.objects.get(slug="lost-or-stolen-card")
    answer = post(
        other_csr_client, csr_chat.url("share/"), {"article_id": article.pk, "client_msg_id": "x"}
    )
    assert answer.status_code == 403
    assert not Message.objects.exists()


def test_a_page_push_on_the_allow_list_is_stored_as_a_message(csr_chat):
    body = {
        "url": "https://www.northwind.example/cards/",
        "note": "Here is the cards page",
        "client_msg_id": "p-1",
    }
    answer = post(csr_chat.csr_client, csr_chat.url("push/"), body)
    assert answer.status_code == 200, answer.json()
    message = Message.objects.get(interaction=csr_chat.interaction)
    assert message.event == SystemEvent.PAGE_PUSHED
    assert message.data == {
        "url": "https://www.northwind.example/cards/",
        "note": "Here is the cards page",
    }


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://evil.example/phish", "domain_not_allowed"),
        ("https://northwind.example.evil.example/", "domain_not_allowed"),
        ("https://evilnorthwind.example/", "domain_not_allowed"),
        ("javascript:alert(1)", "bad_url"),
        ("ftp://northwind.example/file", "bad_url"),
        ("", "bad_url"),
        ("northwind.example/no-scheme", "bad_url"),
    ],
)
def test_a_page_push_outside_the_allow_list_is_refused_with_a_message(csr_chat, url, code):
    answer = post(csr_chat.csr_client, csr_chat.url("push/"), {"url": url, "client_msg_id": "p-2"})
    assert answer.status_code in (400, 403)
    assert answer.json()["code"] == code
    if code == "domain_not_allowed":
        assert "northwind.example" in answer.json()["message"]
    assert not Message.objects.filter(interaction=csr_chat.interaction).exists()


def test_bad_bodies_get_a_clear_400(csr_chat):
    answer = csr_chat.csr_client.post(
        csr_chat.url("push/"), "[1, 2", content_type="application/json"
    )
    assert answer.status_code == 400 and answer.json()["code"] == "bad_json"
    answer = post(
        csr_chat.csr_client, csr_chat.url("share/"), {"article_id": "1", "client_msg_id": "x"}
    )
    assert answer.status_code == 400 and answer.json()["code"] == "bad_article_id"
    answer = post(
        csr_chat.csr_client, csr_chat.url("share/"), {"article_id": 10**20, "client_msg_id": "x"}
    )
    assert answer.status_code == 400


def test_suggestions_rank_the_lost_card_article_for_a_lost_card_message(csr_chat):
    Message.objects.create(
        interaction=csr_chat.interaction,
        seq=1,
        sender_kind=SenderKind.CUSTOMER,
        text="Someone stole my card",
    )
    data = csr_chat.csr_client.get(csr_chat.url("suggestions/")).json()
    first = data["items"][0]
    assert (first["kind"], first["title"]) == ("article", "Report a lost or stolen card")
    assert "stole" in first["why"]["words"] or "card" in first["why"]["words"]
    assert first["why"]["intent"] == "lost_card"


def test_the_phrases_a_csr_uses_most_come_first(csr_chat):
    goodbye = Phrase.objects.get(shortcut="goodbye", owner=None)
    for _ in range(3):
        post(csr_chat.csr_client, csr_chat.url("phrases/used/"), {"phrase_id": goodbye.pk})
    phrases = csr_chat.csr_client.get(csr_chat.url("phrases/")).json()["phrases"]
    assert phrases[0]["shortcut"] == "goodbye"
    assert [p["title"] for p in phrases[1:]] == sorted(p["title"] for p in phrases[1:])
