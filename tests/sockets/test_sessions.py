"""A portal user's sockets live no longer than their session: logging out, a password
change, a deactivated or deleted account close them at once with 4401, and a socket
whose session ended without a word refuses its next frame."""

import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.models import Session

import config.sockets
from chat.models import Message
from config.users import Role
from routing.models import CSRProfile, CSRStatus
from routing.services.presence import csr_profile_ensure
from tests.chat.conftest import make_live_chat
from tests.factories import user_factory
from tests.sockets.helpers import logged_in, open_socket

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

AGENT = "/ws/agent/"


async def new_csr():
    def make():
        user = user_factory(role=Role.CSR)
        profile = csr_profile_ensure(user=user)
        profile.status = CSRStatus.AVAILABLE
        profile.save()
        return user

    return await sync_to_async(make)()


async def assert_ended(socket, message: str) -> None:
    frames, code = await socket.closed_with()
    assert code == 4401
    assert frames[-1] == {"type": "error", "code": "session_ended", "message": message}


async def test_logging_out_closes_that_sessions_sockets_and_no_other():
    """POST /accounts/logout/ closes the agent socket and the chat panel opened with that
    browser's session (4401, after an error saying why); the same CSR's other browser
    keeps its socket."""
    csr = await new_csr()
    chat = await sync_to_async(make_live_chat)(csr=csr)
    browser, headers = await logged_in(csr)
    _, other_headers = await logged_in(csr)
    async with (
        open_socket(AGENT, headers, until="state") as agent,
        open_socket(chat.csr_path(), headers, until="replay.done") as panel,
        open_socket(AGENT, other_headers, until="state") as other,
    ):
        response = await sync_to_async(browser.post)("/accounts/logout/")
        assert response.status_code == 302
        await assert_ended(agent, "You logged out.")
        await assert_ended(panel, "You logged out.")
        assert await other.alive()


async def test_a_logged_out_socket_can_no_longer_act():
    """After the logout the socket is gone: a send that was racing it is not stored."""
    csr = await new_csr()
    chat = await sync_to_async(make_live_chat)(csr=csr)
    browser, headers = await logged_in(csr)
    async with open_socket(chat.csr_path(), headers, until="replay.done") as panel:
        await sync_to_async(browser.post)("/accounts/logout/")
        await assert_ended(panel, "You logged out.")
        await panel.send(type="send", client_msg_id="after-logout", text="still here?")
        assert await panel.communicator.receive_nothing(timeout=0.3)
    stored = Message.objects.filter(client_msg_id="after-logout").exists
    assert not await sync_to_async(stored)()


async def test_a_password_change_closes_every_socket_of_the_user():
    csr = await new_csr()
    _, first = await logged_in(csr)
    _, second = await logged_in(csr)
    async with (
        open_socket(AGENT, first, until="state") as one,
        open_socket(AGENT, second, until="state") as two,
    ):

        def change_password():
            csr.set_password("a-new-pass-word-456")
            csr.save()

        await sync_to_async(change_password)()
        for socket in (one, two):
            await assert_ended(socket, "Your password was changed: log in again.")


async def test_a_deactivated_user_loses_every_socket():
    csr = await new_csr()
    chat = await sync_to_async(make_live_chat)(csr=csr)
    _, headers = await logged_in(csr)
    async with (
        open_socket(AGENT, headers, until="state") as agent,
        open_socket(chat.csr_path(), headers, until="replay.done") as panel,
    ):
        csr.is_active = False
        await sync_to_async(csr.save)()
        for socket in (agent, panel):
            await assert_ended(socket, "Your account was deactivated.")


async def test_a_deleted_user_loses_every_socket():
    manager = await sync_to_async(user_factory)(role=Role.CSR_MANAGER)
    _, headers = await logged_in(manager)
    async with open_socket(AGENT, headers, until="state") as agent:
        await sync_to_async(manager.delete)()
        await assert_ended(agent, "Your account was deactivated.")


async def test_saving_the_user_otherwise_leaves_the_sockets_open():
    """A new login (which saves last_login) or a changed name closes nothing."""
    csr = await new_csr()
    _, headers = await logged_in(csr)
    async with open_socket(AGENT, headers, until="state") as agent:
        await logged_in(csr)
        csr.first_name = "Renamed"
        await sync_to_async(csr.save)()
        assert await agent.alive()
        assert await agent.communicator.receive_nothing(timeout=0.3)


async def test_a_socket_whose_session_vanished_refuses_its_next_frame(monkeypatch):
    """The backstop for a lost event: a session deleted behind the portal's back (no
    signal) is noticed before the next frame, which is not handled."""
    monkeypatch.setattr(config.sockets, "SESSION_CHECK_SECONDS", 0.0)
    csr = await new_csr()
    _, headers = await logged_in(csr)
    async with open_socket(AGENT, headers, until="state") as agent:
        assert await agent.alive()  # checked, still valid
        await sync_to_async(Session.objects.all().delete)()
        await agent.send(type="set_status", status="offline")
        await assert_ended(agent, config.sockets.SESSION_EXPIRED_MESSAGE)
    status = CSRProfile.objects.filter(user=csr).values_list("status", flat=True).get
    assert await sync_to_async(status)() == CSRStatus.AVAILABLE


async def test_a_socket_rechecks_its_session_only_every_few_seconds(monkeypatch):
    """Frames within SESSION_CHECK_SECONDS of the last check are handled without reading
    the session again; the first one after that reads it."""
    csr = await new_csr()
    chat = await sync_to_async(make_live_chat)(csr=csr)
    _, headers = await logged_in(csr)
    async with open_socket(chat.csr_path(), headers, until="replay.done") as panel:
        await sync_to_async(Session.objects.all().delete)()
        await panel.send(type="typing", active=False)
        assert await panel.alive()
        monkeypatch.setattr(config.sockets, "SESSION_CHECK_SECONDS", 0.0)
        await panel.send(type="typing", active=False)
        await assert_ended(panel, config.sockets.SESSION_EXPIRED_MESSAGE)
