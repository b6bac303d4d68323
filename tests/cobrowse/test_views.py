"""The chat panel's co-browse endpoints, the viewer page and the Add task menu: what
they answer, and to whom they refuse."""

import pytest
from django.test import Client

from chat.models import ChannelKind
from cobrowse.models import CobrowseSession, EndReason, SessionStatus
from cobrowse.selectors import COBROWSE_PUBLIC_CHANNEL
from config.users import Role
from tests.cobrowse.conftest import app_studio_cobrowse, make_live_chat, requested, running
from tests.factories import channel_factory, user_factory

pytestmark = pytest.mark.django_db(transaction=True)


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def start(client: Client, chat, via: str = "actions"):
    return client.post(
        f"/portal-api/interactions/{chat.id}/cobrowse/",
        {"via": via},
        content_type="application/json",
    )


def test_the_csr_starts_from_add_task_and_gets_the_session():
    chat = make_live_chat()
    response = start(login(chat.csr), chat, via="add_task")
    assert response.status_code == 201
    data = response.json()
    assert data["status"] == "requested"
    session = CobrowseSession.objects.get(pk=data["session_id"])
    assert session.started_via == "add_task"


def test_a_forged_start_on_a_facebook_chat_is_refused_with_the_reason():
    chat = make_live_chat(channel=channel_factory(kind=ChannelKind.FACEBOOK))
    response = start(login(chat.csr), chat)
    assert response.status_code == 409
    assert response.json()["message"] == f"{COBROWSE_PUBLIC_CHANNEL}."
    assert not CobrowseSession.objects.exists()


def test_a_forged_start_with_app_studio_off_is_refused():
    chat = make_live_chat()
    app_studio_cobrowse(False)
    response = start(login(chat.csr), chat)
    assert response.status_code == 409
    assert "turned off in App Studio" in response.json()["message"]


def test_strangers_cannot_start_or_end():
    chat = make_live_chat()
    assert start(Client(), chat).status_code == 401
    other = login(user_factory(role=Role.CSR))
    assert start(other, chat).status_code == 403
    manager = login(user_factory(role=Role.CSR_MANAGER))
    assert start(manager, chat).status_code == 403
    session = running(chat)
    url = f"/portal-api/cobrowse/{session.pk}/end/"
    assert other.post(url, {}, content_type="application/json").status_code == 404
    assert Client().post(url, {}, content_type="application/json").status_code == 401
    session.refresh_from_db()
    assert session.status == SessionStatus.ACTIVE


def test_bad_bodies_get_clear_errors():
    chat = make_live_chat()
    client = login(chat.csr)
    response = start(client, chat, via="telepathy")
    assert response.status_code == 400
    assert "via must be one of: actions, add_task" in response.json()["message"]
    response = client.post(
        f"/portal-api/interactions/{chat.id}/cobrowse/", "{", content_type="application/json"
    )
    assert response.status_code == 400


def test_closing_the_panel_ends_the_session():
    chat = make_live_chat()
    session = requested(chat)
    response = login(chat.csr).post(
        f"/portal-api/cobrowse/{session.pk}/end/",
        {"reason": "panel_closed"},
        content_type="application/json",
    )
    assert response.status_code == 200
    session.refresh_from_db()
    assert session.end_reason == EndReason.PANEL_CLOSED


def test_the_viewer_page_is_for_the_csr_and_managers_and_may_be_framed_by_the_portal():
    chat = make_live_chat()
    session = requested(chat)
    url = f"/cobrowse/{session.pk}/viewer/"
    response = login(chat.csr).get(url)
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    policy = response["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy
    assert "script-src 'self';" in policy + ";"  # scripts stay the portal's own
    assert b'data-role="csr"' in response.content
    manager = login(user_factory(role=Role.CSR_MANAGER)).get(url)
    assert manager.status_code == 200
    assert b'data-role="observer"' in manager.content
    assert login(user_factory(role=Role.CSR)).get(url).status_code == 403
    assert Client().get(url).status_code == 302  # to the login page


def test_add_task_lists_general_then_co_browsing_session_with_its_state():
    chat = make_live_chat()
    client = login(chat.csr)
    url = f"/portal-api/interactions/{chat.id}/add-task/"
    categories = client.get(url).json()["categories"]
    assert categories[0]["key"] == "general"
    assert categories[0]["label"] == "General"
    task = categories[0]["tasks"][0]
    assert task == {
        "key": "cobrowse",
        "label": "Co-Browsing Session",
        "kind": "cobrowse",
        "disabled_reason": "",
    }
    requested(chat)
    task = client.get(url).json()["categories"][0]["tasks"][0]
    assert task["disabled_reason"] == "A co-browse session is already on in this chat"
    public = make_live_chat(channel=channel_factory(kind=ChannelKind.WHATSAPP), csr=chat.csr)
    task = client.get(f"/portal-api/interactions/{public.id}/add-task/").json()["categories"][0]
    assert task["tasks"][0]["disabled_reason"] == COBROWSE_PUBLIC_CHANNEL
    assert login(user_factory(role=Role.CSR)).get(url).status_code == 403
    assert Client().get(url).status_code == 401
