"""Portal downloads of ChatTranscript.txt and ChatTranscript.json: the response
headers, who may download (during the chat and after it), streaming under WSGI and
ASGI, and a constant number of queries."""

import json

import pytest
from django.test import AsyncClient, Client
from django.urls import reverse

from chat.models import InteractionStatus
from config.users import Role
from tests.factories import interaction_factory, user_factory
from tests.transcripts.conftest import add_messages, login, set_time_zone
from transcripts.formats import render_text
from transcripts.selectors import Audience, transcript_build, transcript_interaction_get


def txt_url(interaction) -> str:
    return reverse("transcripts:download-txt", args=[interaction.pk])


def json_url(interaction) -> str:
    return reverse("transcripts:download-json", args=[interaction.pk])


def body(response) -> bytes:
    assert response.streaming, "transcripts are streamed"
    return b"".join(response.streaming_content)


def test_the_url_names_the_file():
    """The download URL ends with the file name, so even a plain link saves it right."""
    assert reverse("transcripts:download-txt", args=[7]) == "/interactions/7/ChatTranscript.txt"
    assert reverse("transcripts:download-json", args=[7]) == "/interactions/7/ChatTranscript.json"


def test_text_download_is_a_utf8_attachment_named_chattranscript_txt(conversation):
    """The CSR who ended the chat downloads ChatTranscript.txt: text/plain in UTF-8, an
    attachment, never cached, the same text the builder makes."""
    interaction = conversation.interaction
    response = login(conversation.casey).get(txt_url(interaction))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="ChatTranscript.txt"'
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"
    fetched = transcript_interaction_get(interaction_id=interaction.pk)
    expected = "".join(
        render_text(transcript_build(interaction=fetched, audience=Audience.CONTACT_CENTER))
    )
    assert body(response).decode("utf-8") == expected
    assert "Größe M, 2 × 49,90 €" in expected


def test_json_download_is_an_attachment_named_chattranscript_json(conversation):
    """ChatTranscript.json parses, and holds the transfer note for the contact center."""
    response = login(conversation.casey).get(json_url(conversation.interaction))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="ChatTranscript.json"'
    document = json.loads(body(response))
    assert document["interaction"]["id"] == conversation.interaction.pk
    assert document["message_count"] == len(document["messages"]) == 19
    transferred = [m for m in document["messages"] if m["event"] == "transferred"]
    assert transferred[0]["note"].startswith("Refund of the double charge.")


@pytest.mark.parametrize("who", ["casey", "alex", "manager"])
def test_handling_former_handling_csr_and_manager_may_download(conversation, manager, who):
    """The CSR who has the chat, the CSR who had it before transferring it, and a CSR
    manager all get the transcript, in both formats."""
    user = manager if who == "manager" else getattr(conversation, who)
    client = login(user)
    for url in (txt_url(conversation.interaction), json_url(conversation.interaction)):
        response = client.get(url)
        assert response.status_code == 200, url
        assert body(response)


def test_former_csr_is_known_from_the_joined_message_alone(roles, paris):
    """A CSR named by a `joined` message (their offer rows gone) still handled it."""
    from chat.models import Message, SenderKind, SystemEvent

    csr = user_factory(role=Role.CSR)
    interaction = interaction_factory(status=InteractionStatus.ENDED)
    Message.objects.create(
        interaction=interaction,
        seq=1,
        sender_kind=SenderKind.SYSTEM,
        text="joined",
        event=SystemEvent.JOINED,
        data={"csr": "X", "csr_id": csr.pk},
    )
    assert login(csr).get(txt_url(interaction)).status_code == 200


@pytest.mark.parametrize("who", ["declined", "other_csr", "administrator", "no_role"])
def test_anyone_else_gets_403(conversation, who):
    """Blake (offered the transfer, declined it), another CSR, an administrator and a
    user without a role are refused with 403, in both formats."""
    users = {
        "declined": conversation.blake,
        "other_csr": user_factory(role=Role.CSR),
        "administrator": user_factory(role=Role.ADMINISTRATOR),
        "no_role": user_factory(),
    }
    client = login(users[who])
    for url in (txt_url(conversation.interaction), json_url(conversation.interaction)):
        response = client.get(url)
        assert response.status_code == 403, url
        assert b"Chat transcript" not in response.content


def test_a_csr_manager_who_is_not_a_csr_needs_no_handling(roles, paris):
    """Managers read every transcript, including chats nobody has taken yet."""
    manager = user_factory(role=Role.CSR_MANAGER)
    interaction = interaction_factory()
    assert login(manager).get(txt_url(interaction)).status_code == 200


def test_visitors_who_are_not_logged_in_go_to_the_login_page(conversation):
    """No session: a redirect to the login page that comes back to the download."""
    url = txt_url(conversation.interaction)
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_an_unknown_interaction_is_404_and_other_methods_405(conversation):
    response = login(conversation.casey).get("/interactions/999999999/ChatTranscript.txt")
    assert response.status_code == 404
    response = login(conversation.casey).post(txt_url(conversation.interaction))
    assert response.status_code == 405


def test_during_the_chat_the_handling_csr_downloads_it(roles, paris):
    """Available while the chat is on: the assigned CSR gets what there is so far."""
    csr = user_factory(role=Role.CSR, first_name="Alex", last_name="Morgan")
    interaction = interaction_factory(status=InteractionStatus.ACTIVE, assigned_csr=csr)
    add_messages(interaction, 3)
    response = login(csr).get(txt_url(interaction))
    assert response.status_code == 200
    text = body(response).decode()
    assert "Status: Active\n" in text
    assert "Ended: -\n" in text
    assert "CSRs: Alex Morgan\n" in text
    assert text.count("Alex Morgan (CSR): Message 1:") == 1


def test_queries_stay_constant_however_long_the_chat(conversation, django_assert_num_queries):
    """Session, user, interaction (with the handled-by check), roles, CSR names and the
    messages: six queries for 19 messages and for 2,019 (App Studio settings cached)."""
    interaction = conversation.interaction
    client = login(conversation.alex)
    body(client.get(txt_url(interaction)))  # caches the App Studio settings
    with django_assert_num_queries(6):
        short = body(client.get(txt_url(interaction)))
    add_messages(interaction, 2000)
    with django_assert_num_queries(6):
        long = body(client.get(txt_url(interaction)))
    with django_assert_num_queries(6):
        body(client.get(json_url(interaction)))
    assert long.count(b"\n[") == short.count(b"\n[") + 2000


@pytest.mark.django_db(transaction=True)
def test_under_asgi_the_download_streams_asynchronously(async_client: AsyncClient):
    """Under ASGI the body is an async iterator fed from the request's thread (Django
    would otherwise read the whole transcript before sending a byte); the text is the
    same as under WSGI."""
    from asgiref.sync import async_to_sync, sync_to_async

    from portal.services import roles_sync

    roles_sync()
    set_time_zone("Europe/Paris")
    csr = user_factory(role=Role.CSR)
    interaction = interaction_factory(status=InteractionStatus.ACTIVE, assigned_csr=csr)
    add_messages(interaction, 5000)
    expected = body(login(csr).get(txt_url(interaction)))

    async def download() -> tuple[bool, int, bytes]:
        await sync_to_async(async_client.force_login)(csr)
        response = await async_client.get(txt_url(interaction))
        assert response["Content-Disposition"] == 'attachment; filename="ChatTranscript.txt"'
        chunks = [chunk async for chunk in response.streaming_content]
        return response.is_async, len(chunks), b"".join(chunks)

    is_async, chunk_count, streamed = async_to_sync(download)()
    assert is_async
    assert chunk_count > 1
    assert streamed == expected
