"""A manager limited to some queues (SupervisedQueue) opens and watches only the chats in
them: the interaction window, the observer's chat socket, the chat's files and its
transcript refuse the others; a manager with no limit (the default) still opens every
chat. A chat the manager took over is theirs: the window is their live panel."""

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from chat.consumers import CLOSE_FORBIDDEN
from chat.models import InteractionStatus, SenderKind
from chat.schemas import ChatRole
from chat.selectors import attachments as attachment_selectors
from chat.selectors.interactions import chat_role_for_user
from chat.selectors.settings import app_studio_cache_invalidate
from chat.services.messages import (
    _check_client_msg_id,
    _check_text,
    client_msg_id_check,
    message_send,
    message_text_check,
)
from chat.signals import manager_access_check, manager_may_access
from cobrowse.selectors import session_viewer_role
from config.users import Role
from portal.selectors import PanelMode, live_interactions, portal_panel_mode
from supervision.models import SupervisedQueue
from supervision.services import joins
from tests.chat.conftest import chat_socket, refused_socket
from tests.cobrowse.conftest import running
from tests.factories import queue_factory, user_factory
from tests.routing.conftest import login_headers

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def limited(queue):
    """A manager who supervises only another queue, not `queue` (where the chats are)."""
    manager = user_factory(role=Role.CSR_MANAGER, first_name="Sam", last_name="Ortiz")
    SupervisedQueue.objects.create(manager=manager, queue=queue_factory(name="Sales"))
    return manager


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_hook_refuses_only_out_of_scope_managers(manager, limited, make_chat, queue):
    chat = make_chat()
    interaction = chat.interaction
    assert manager_may_access(interaction=interaction, user=manager)
    assert not manager_may_access(interaction=interaction, user=limited)
    assert chat_role_for_user(interaction=interaction, user=manager) == ChatRole.OBSERVER
    assert chat_role_for_user(interaction=interaction, user=limited) is None
    # Limited to this chat's queue (among others): allowed.
    SupervisedQueue.objects.create(manager=limited, queue=queue)
    assert chat_role_for_user(interaction=interaction, user=limited) == ChatRole.OBSERVER

    # A receiver answering None (no opinion) refuses nobody.
    def _no_opinion(sender, **kwargs):
        return None

    manager_access_check.connect(_no_opinion, dispatch_uid="test-no-opinion")
    try:
        assert manager_may_access(interaction=interaction, user=limited)
    finally:
        manager_access_check.disconnect(dispatch_uid="test-no-opinion")


def test_the_interaction_window_refuses_a_chat_outside_the_managers_queues(
    manager, limited, make_chat
):
    live = make_chat()
    ended = make_chat(status=InteractionStatus.ENDED)
    for chat in (live, ended):
        url = f"/interactions/{chat.id}/"
        assert _client(limited).get(url).status_code == 403, url
        assert _client(manager).get(url).status_code == 200, url
    roles = {Role.CSR_MANAGER}
    assert portal_panel_mode(interaction=live.interaction, user=limited, roles=roles) is None
    assert (
        portal_panel_mode(interaction=live.interaction, user=manager, roles=roles)
        == PanelMode.OBSERVER
    )


def test_transcript_downloads_refuse_a_chat_outside_the_managers_queues(
    manager, limited, make_chat
):
    chat = make_chat(status=InteractionStatus.ENDED)
    for name in ("transcripts:download-txt", "transcripts:download-json"):
        url = reverse(name, args=[chat.id])
        assert _client(limited).get(url).status_code == 403, url
        assert _client(manager).get(url).status_code == 200, url


def test_attachments_refuse_a_chat_outside_the_managers_queues(
    settings, tmp_path, manager, limited, make_chat
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FILE_UPLOAD_TEMP_DIR = None
    app_studio_cache_invalidate()
    chat = make_chat()
    upload = Client().post(
        f"/attachments/chats/{chat.id}/",
        {"file": SimpleUploadedFile("note.txt", b"hello", "text/plain"), "upload_key": ""},
        headers={"authorization": f"Customer {chat.token}"},
    )
    assert upload.status_code in (200, 201), upload.content
    attachment = upload.json()["attachment"]
    message_send(
        interaction_id=chat.id,
        sender_kind=SenderKind.CUSTOMER,
        text="see",
        client_msg_id="m-file",
        attachment_ids=[attachment["id"]],
    )
    summary = {"id": attachment["id"], "image": False, "content_type": "text/plain"}
    for user, status in ((limited, 403), (manager, 200)):
        urls = attachment_selectors.attachment_urls(
            summary, party=attachment_selectors.user_party(user)
        )
        assert _client(user).get(urls["url"]).status_code == status, user
    app_studio_cache_invalidate()


@pytest.mark.asyncio
async def test_the_observer_socket_closes_4403_outside_the_managers_queues(
    manager, limited, make_chat
):
    chat = await sync_to_async(make_chat)()
    limited_headers = await sync_to_async(login_headers)(limited)
    async with refused_socket(chat.csr_path(), limited_headers) as sock:
        error = await sock.receive()
        assert (error["type"], error["code"]) == ("error", "not_party")
        assert await sock.closed_with() == CLOSE_FORBIDDEN
    manager_headers = await sync_to_async(login_headers)(manager)
    async with chat_socket(chat.csr_path(), manager_headers) as observer:
        assert observer.hello["role"] == "observer"


def test_a_chat_taken_over_opens_as_the_managers_live_panel(manager, make_csr, make_chat):
    chat = make_chat(csr=make_csr())
    client = _client(manager)
    before = client.get(f"/interactions/{chat.id}/")
    assert before.context["mode"] == PanelMode.OBSERVER
    assert b'id="sv-join"' in before.content
    joins.chat_take_over(manager=manager, interaction_id=chat.id, reason="Escalated complaint")
    after = client.get(f"/interactions/{chat.id}/")
    assert after.status_code == 200
    assert after.context["mode"] == PanelMode.LIVE
    assert b'id="sv-join"' not in after.content  # the panel's own composer and End chat
    chat.interaction.refresh_from_db()
    assert chat_role_for_user(interaction=chat.interaction, user=manager) == ChatRole.CSR


def test_the_message_checks_are_public_and_keep_their_old_names():
    assert message_text_check("Hello") == "Hello"
    assert client_msg_id_check("m-1") == "m-1"
    assert _check_text is message_text_check
    assert _check_client_msg_id is client_msg_id_check


def test_the_live_interactions_list_shows_only_the_managers_queues(manager, limited, make_chat):
    chat = make_chat()
    assert chat.id in [i.id for i in live_interactions(user=manager)]
    assert chat.id not in [i.id for i in live_interactions(user=limited)]
    page = _client(limited).get(reverse("portal:home"))
    assert page.status_code == 200
    assert f"/interactions/{chat.id}/" not in page.content.decode()


def test_a_co_browse_session_is_watched_only_by_managers_of_its_queue(manager, limited, make_chat):
    session = running(make_chat())
    assert session_viewer_role(session=session, user=manager) == "observer"
    assert session_viewer_role(session=session, user=limited) is None
