"""My phrases: a CSR creates, edits and deletes their own phrases; another CSR's are
out of reach (404, never shown); unknown placeholders are refused at save."""

import pytest
from django.test import Client

from assist.models import Phrase
from config.users import Role
from tests.factories import user_factory

pytestmark = pytest.mark.django_db


@pytest.fixture
def csr_client():
    user = user_factory(role=Role.CSR)
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def test_a_csr_adds_a_personal_phrase(csr_client):
    answer = csr_client.post(
        "/assist/phrases/",
        {"title": "My sign-off", "shortcut": "bye2", "text": "Bye {customer_first_name}!"},
    )
    assert answer.status_code == 302
    phrase = Phrase.objects.get()
    assert (phrase.owner, phrase.shortcut, phrase.text) == (
        csr_client.user,
        "bye2",
        "Bye {customer_first_name}!",
    )
    page = csr_client.get("/assist/phrases/")
    assert b"My sign-off" in page.content and b"/bye2" in page.content


def test_an_unknown_placeholder_is_refused_on_the_page(csr_client):
    answer = csr_client.post("/assist/phrases/", {"title": "Oops", "text": "Hi {name}"})
    assert answer.status_code == 400
    assert b"Unknown placeholder {name}" in answer.content
    assert not Phrase.objects.exists()


def test_a_duplicate_shortcut_of_one_s_own_is_refused(csr_client):
    Phrase.objects.create(owner=csr_client.user, title="A", text="a", shortcut="dup")
    answer = csr_client.post("/assist/phrases/", {"title": "B", "text": "b", "shortcut": "dup"})
    assert (
        answer.status_code == 400
        and b"already have a phrase with the shortcut /dup" in answer.content
    )


def test_a_csr_cannot_see_edit_or_delete_another_csr_s_phrase(csr_client):
    other = user_factory(role=Role.CSR)
    theirs = Phrase.objects.create(
        owner=other, title="Blake's secret", text="secret words", shortcut="s"
    )
    assert b"Blake's secret" not in csr_client.get("/assist/phrases/").content
    assert csr_client.get(f"/assist/phrases/{theirs.pk}/").status_code == 404
    answer = csr_client.post(f"/assist/phrases/{theirs.pk}/", {"title": "Hijacked", "text": "x"})
    assert answer.status_code == 404
    assert csr_client.post(f"/assist/phrases/{theirs.pk}/delete/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.title == "Blake's secret"
    shared = Phrase.objects.create(title="Shared", text="shared", shortcut="shared")
    assert (
        csr_client.post(
            f"/assist/phrases/{shared.pk}/", {"title": "Mine now", "text": "x"}
        ).status_code
        == 404
    )
    assert csr_client.post(f"/assist/phrases/{shared.pk}/delete/").status_code == 404


def test_a_csr_edits_and_deletes_their_own_phrase(csr_client):
    mine = Phrase.objects.create(owner=csr_client.user, title="Old", text="old")
    assert (
        csr_client.post(
            f"/assist/phrases/{mine.pk}/", {"title": "New", "text": "new {csr_name}"}
        ).status_code
        == 302
    )
    mine.refresh_from_db()
    assert (mine.title, mine.text) == ("New", "new {csr_name}")
    assert csr_client.post(f"/assist/phrases/{mine.pk}/delete/").status_code == 302
    assert not Phrase.objects.exists()


def test_the_page_is_for_logged_in_csrs():
    assert Client().get("/assist/phrases/").status_code == 302
    manager = Client()
    manager.force_login(user_factory(role=Role.CSR_MANAGER))
    assert manager.get("/assist/phrases/").status_code == 403
