"""A hostile look at the workspace endpoints and frames, from their docs alone: the CSR's
preferences, a chat's customer history, the wrap-up, the connector's satisfaction answer,
internal notes, the satisfaction survey in the widget and the typing preview. Nobody gets
what is not theirs, bad input is a clear 4xx that writes nothing, and the text people
type is escaped wherever the portal shows it."""

import csv
import io
import json
import threading

import pytest
from asgiref.sync import sync_to_async
from django.db import close_old_connections, connection
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from chat.models import (
    ChannelKind,
    Interaction,
    InteractionStatus,
    Message,
    SatisfactionRating,
    SenderKind,
    SystemEvent,
)
from chat.services.interactions import interaction_end
from config.users import Role
from portal.models import CSRPreferences
from reports.csv import csv_response
from routing.models import DispositionCode, Wrapup
from supervision.models import SupervisedQueue
from tests.chat.conftest import (
    CUSTOMER_HEADERS,
    build_escalation_body,
    chat_socket,
    make_bot,
    make_live_chat,
    refused_socket,
)
from tests.factories import (
    channel_factory,
    customer_factory,
    interaction_factory,
    queue_factory,
    user_factory,
)
from tests.routing.conftest import login_headers

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'
FORMULA = '=HYPERLINK("http://evil.example","x")'


def session(user=None, *, csrf: bool = False) -> Client:
    """A browser session of `user` (anonymous when None); with `csrf`, one that enforces
    CSRF and holds the token cookie a portal page sets."""
    client = Client(enforce_csrf_checks=csrf, raise_request_exception=False)
    if user is not None:
        client.force_login(user)
        if csrf:
            client.get(reverse("portal:home"))
    return client


def token_of(client: Client) -> dict[str, str]:
    return {"X-CSRFToken": client.cookies["csrftoken"].value}


def assert_refused(response, status: int) -> dict:
    """A refusal in the API's JSON error shape, saying something, and nothing else."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert {"code", "message"} <= set(body) and body["message"], body
    return body


def history_url(interaction_id: int) -> str:
    return f"/portal-api/interactions/{interaction_id}/history/"


def wrapup_url(interaction_id: int) -> str:
    return f"/api/v1/interactions/{interaction_id}/wrapup/"


def satisfaction_url(interaction_id: int) -> str:
    return f"/api/v1/escalations/{interaction_id}/satisfaction/"


PREFERENCES_URL = "/portal-api/preferences/"


# --- A world: two queues, two CSRs, managers, ended chats with wrap-ups ----------------


class World:
    """Queue A (wrap-up of 120 s, a code required) with CSR `alice`, queue B with CSR
    `bob`; a manager of A only, a manager of every queue; a customer with an ended chat in
    each queue (each with its wrap-up) and an active chat with alice."""

    def __init__(self) -> None:
        self.queue_a = queue_factory(name="Billing", wrapup_seconds=120, wrapup_required=True)
        self.queue_b = queue_factory(name="Sales", wrapup_seconds=120)
        DispositionCode.objects.create(queue=self.queue_a, code="resolved", label="Resolved")
        DispositionCode.objects.create(queue=self.queue_b, code="sold", label="Sold")
        self.channel = channel_factory(default_queue=self.queue_a, csat_enabled=True)
        self.alice = user_factory(role=Role.CSR, first_name="Alice")
        self.bob = user_factory(role=Role.CSR, first_name="Bob")
        self.manager_a = user_factory(role=Role.CSR_MANAGER)
        SupervisedQueue.objects.create(manager=self.manager_a, queue=self.queue_a)
        self.manager_all = user_factory(role=Role.CSR_MANAGER)
        customer = customer_factory()
        self.old_b = self._ended(self.bob, self.queue_b, customer)
        self.old_a = self._ended(self.alice, self.queue_a, customer)
        self.current = interaction_factory(
            channel=self.channel,
            queue=self.queue_a,
            customer=customer,
            status=InteractionStatus.ACTIVE,
            assigned_csr=self.alice,
            accepted_at=timezone.now(),
        )

    def _ended(self, csr, queue, customer) -> Interaction:
        interaction = interaction_factory(
            channel=self.channel,
            queue=queue,
            status=InteractionStatus.ACTIVE,
            assigned_csr=csr,
            accepted_at=timezone.now(),
            customer=customer,
        )
        interaction_end(interaction_id=interaction.pk, by=SenderKind.CSR, user=csr)
        assert Wrapup.objects.filter(interaction=interaction, csr=csr).exists()
        return interaction


@pytest.fixture
def world(db) -> World:
    return World()


# --- Anonymous and the wrong people ----------------------------------------------------


@pytest.mark.django_db
class TestWhoMayCall:
    def test_anonymous_gets_401s_and_never_data(self, world):
        """Each new endpoint answers a caller with no session and no token with a 401 in
        JSON, holding no chat data."""
        anonymous = session()
        responses = [
            anonymous.get(PREFERENCES_URL),
            anonymous.post(PREFERENCES_URL, {"sound_enabled": False}, "application/json"),
            anonymous.get(history_url(world.current.pk)),
            anonymous.get(wrapup_url(world.old_a.pk)),
            anonymous.post(wrapup_url(world.old_a.pk), {"code": "resolved"}, "application/json"),
            anonymous.post(satisfaction_url(world.old_a.pk), {"rating": 5}, "application/json"),
        ]
        for response in responses:
            # The session-login CSR API answers 403 not_authenticated, as documented (DRF's
            # session authentication sends no WWW-Authenticate challenge).
            wrapup = response.wsgi_request.path.endswith("/wrapup/")
            body = assert_refused(response, 403 if wrapup else 401)
            assert body["code"] == "not_authenticated", body
            assert "Billing" not in json.dumps(body) and "Alice" not in json.dumps(body)
        assert not CSRPreferences.objects.exists()
        assert Wrapup.objects.get(interaction=world.old_a).is_open

    def test_a_customer_token_or_a_bot_token_opens_no_portal_endpoint(self, world):
        """A customer's chat token and a bot token are not portal logins."""
        chat = make_live_chat(csr=world.alice)
        bot = make_bot(channel=world.channel)
        for header in (f"Bearer {chat.token}", f"Bearer {bot.token}"):
            client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=header)
            assert_refused(client.get(PREFERENCES_URL), 401)
            assert_refused(client.get(history_url(world.current.pk)), 401)
            assert client.get(wrapup_url(world.old_a.pk)).status_code in (401, 403)
            posted = client.post(
                wrapup_url(world.old_a.pk), {"code": "resolved"}, "application/json"
            )
            assert posted.status_code in (401, 403)
        assert Wrapup.objects.get(interaction=world.old_a).is_open

    def test_a_csr_session_or_a_customer_token_may_not_answer_the_survey(self, world):
        """The satisfaction answer takes a bot token only."""
        chat = make_live_chat(csr=world.alice)
        csr = session(world.alice)
        assert_refused(
            csr.post(satisfaction_url(world.old_a.pk), {"rating": 1}, "application/json"), 401
        )
        client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {chat.token}")
        assert_refused(
            client.post(satisfaction_url(world.old_a.pk), {"rating": 1}, "application/json"), 401
        )
        assert SatisfactionRating.objects.filter(answered_at__isnull=False).count() == 0

    def test_another_csrs_wrapup_is_refused_and_left_open(self, world):
        """Bob may neither read nor finish Alice's wrap-up; a manager is not a CSR."""
        for user, status in ((world.bob, 403), (world.manager_all, 403)):
            client = session(user)
            assert_refused(client.get(wrapup_url(world.old_a.pk)), status)
            answer = client.post(
                wrapup_url(world.old_a.pk),
                {"code": "resolved", "summary": "mine"},
                "application/json",
            )
            assert_refused(answer, status)
        wrapup = Wrapup.objects.get(interaction=world.old_a)
        assert wrapup.is_open and wrapup.summary == "" and wrapup.code is None

    def test_wrapup_ids_of_other_chats_say_no_more_than_not_found(self, world):
        """An id with no wrap-up (active, unknown, huge) is a 404, no data."""
        client = session(world.alice)
        for interaction_id in (world.current.pk, 999_999, 2**63 - 1, 2**63, 10**30):
            assert_refused(client.get(wrapup_url(interaction_id)), 404)
            answer = client.post(wrapup_url(interaction_id), {"code": "x"}, "application/json")
            assert_refused(answer, 404)

    def test_history_of_a_chat_the_user_may_not_open_is_a_403(self, world):
        """Bob never handled the current chat; the manager of queue A only is refused
        queue B's chat; an unknown id looks the same as a forbidden one."""
        assert_refused(session(world.bob).get(history_url(world.current.pk)), 403)
        assert_refused(session(world.manager_a).get(history_url(world.old_b.pk)), 403)
        for interaction_id in (999_999, 2**63, 10**30):
            assert_refused(session(world.alice).get(history_url(interaction_id)), 403)
        customer = user_factory()  # a portal login with no role
        assert_refused(session(customer).get(history_url(world.current.pk)), 403)

    def test_history_lists_only_the_chats_each_user_may_open(self, world):
        """Alice sees her own earlier chat, not Bob's; the manager of queue A sees queue A's
        chats only; the manager of every queue sees both."""

        def ids(user):
            response = session(user).get(history_url(world.current.pk))
            assert response.status_code == 200, response.content
            body = response.json()
            assert body["count"] == len(body["items"])
            return {item["id"] for item in body["items"]}

        assert ids(world.alice) == {world.old_a.pk}
        assert ids(world.manager_a) == {world.old_a.pk}
        assert ids(world.manager_all) == {world.old_a.pk, world.old_b.pk}

    def test_preferences_are_the_csrs_own_and_csrs_only(self, world):
        """A manager without the CSR role is refused; one CSR's save never shows in another's."""
        assert_refused(session(world.manager_all).get(PREFERENCES_URL), 403)
        alice = session(world.alice)
        saved = alice.post(PREFERENCES_URL, {"sound_volume": 7}, "application/json")
        assert saved.status_code == 200 and saved.json()["sound_volume"] == 7
        assert session(world.bob).get(PREFERENCES_URL).json()["sound_volume"] != 7


# --- CSRF, methods, bodies -------------------------------------------------------------


@pytest.mark.django_db
class TestRequests:
    def test_session_posts_need_the_csrf_token(self, world):
        """Without the token the POSTs are refused with 403 and nothing is saved."""
        client = session(world.alice, csrf=True)
        assert (
            client.post(PREFERENCES_URL, '{"sound_volume": 1}', "application/json").status_code
            == 403
        )
        refused = client.post(
            wrapup_url(world.old_a.pk), '{"code": "resolved"}', "application/json"
        )
        assert refused.status_code == 403
        # In JSON, as every error of /portal-api/ (the page shows its message).
        assert client.post(PREFERENCES_URL, "{}", "application/json").json() == {
            "code": "csrf_failed",
            "message": "This page is out of date (its security token was refused): "
            "reload it and try again.",
            "errors": [],
        }
        assert not CSRPreferences.objects.filter(user=world.alice).exists()
        assert Wrapup.objects.get(interaction=world.old_a).is_open
        # With it both go through.
        ok = client.post(
            PREFERENCES_URL, '{"sound_volume": 1}', "application/json", headers=token_of(client)
        )
        assert ok.status_code == 200, ok.content
        done = client.post(
            wrapup_url(world.old_a.pk),
            '{"code": "resolved"}',
            "application/json",
            headers=token_of(client),
        )
        assert done.status_code == 200, done.content

    @pytest.mark.parametrize("method", ["put", "patch", "delete"])
    def test_other_methods_are_a_405_naming_the_allowed_ones(self, world, method):
        """PUT, PATCH and DELETE are not offered: 405 with the methods that are, and
        nothing changes."""
        alice = session(world.alice)
        bot = make_bot(channel=world.channel)
        calls = [
            (alice, PREFERENCES_URL, {"GET", "POST"}),
            (alice, history_url(world.current.pk), {"GET"}),
            (alice, wrapup_url(world.old_a.pk), {"GET", "POST"}),
            (bot.api, satisfaction_url(world.old_a.pk), {"POST"}),
        ]
        for client, url, allowed in calls:
            response = getattr(client, method)(url, "{}", content_type="application/json")
            assert response.status_code == 405, (url, response.status_code)
            assert allowed <= {m.strip() for m in response["Allow"].split(",")}, url
        assert Wrapup.objects.get(interaction=world.old_a).is_open
        assert not CSRPreferences.objects.exists()

    def test_history_takes_no_post(self, world):
        response = session(world.alice).post(history_url(world.current.pk))
        assert response.status_code == 405 and response["Allow"] == "GET"

    def test_a_wrong_method_on_a_portal_api_endpoint_is_answered_in_json(self, world):
        """Not Django's empty 405 page: the API's error body, naming the methods."""
        alice = session(world.alice)
        for url, method, allowed in [
            (history_url(world.current.pk), "post", "GET"),
            (f"/portal-api/interactions/{world.current.pk}/panel/", "delete", "GET"),
            (PREFERENCES_URL, "put", "GET, POST"),
        ]:
            response = getattr(alice, method)(url)
            assert response.status_code == 405, url
            assert response["Content-Type"] == "application/json", url
            assert response.json() == {
                "code": "method_not_allowed",
                "message": f"{method.upper()} is not allowed here; use {allowed}.",
                "errors": [],
            }
            assert response["Allow"] == allowed

    @pytest.mark.parametrize(
        "raw",
        [
            b"{",
            b"[]",
            b'"x"',
            b"null",
            b'{"sound_volume": "50"}',
            b'{"sound_volume": 50.0}',
            b'{"sound_volume": true}',
            b'{"sound_volume": 101}',
            b'{"sound_enabled": "false"}',
            b'{"sound_volume": NaN}',
            b'{"sound_volume": 1' + b"0" * 5000 + b"}",
            b'{"is_staff": true}',
            b"[" * 100_000,
            b'{"sound_volume": 5, "pad": "' + b"x" * 3_000_000 + b'"}',
        ],
    )
    def test_bad_preference_bodies_are_a_4xx_and_save_nothing(self, world, raw):
        response = session(world.alice).post(PREFERENCES_URL, raw, "application/json")
        assert response.status_code in (400, 413), (response.status_code, response.content[:200])
        assert_refused(response, response.status_code)
        assert not CSRPreferences.objects.filter(user=world.alice).exists()

    @pytest.mark.parametrize(
        "body",
        [
            {"code": ["resolved"]},
            {"code": {"$ne": ""}},
            {"code": "resolved", "summary": "x" * 2001},
            {"code": "resolved", "summary": "nul \u0000 byte"},
            {"code": "sold"},  # queue B's code
            {"code": "nope"},
            {"summary": "no code"},  # queue A requires one
        ],
    )
    def test_bad_wrapups_are_a_400_and_leave_it_open(self, world, body):
        response = session(world.alice).post(wrapup_url(world.old_a.pk), body, "application/json")
        assert_refused(response, 400)
        wrapup = Wrapup.objects.get(interaction=world.old_a)
        assert wrapup.is_open and wrapup.summary == "" and wrapup.code is None

    def test_a_lone_surrogate_in_a_summary_is_a_400(self, world):
        raw = b'{"code": "resolved", "summary": "\\ud800"}'
        response = session(world.alice).post(wrapup_url(world.old_a.pk), raw, "application/json")
        assert_refused(response, 400)
        assert Wrapup.objects.get(interaction=world.old_a).is_open

    def test_a_wrapup_is_finished_once(self, world):
        alice = session(world.alice)
        first = alice.post(
            wrapup_url(world.old_a.pk), {"code": "resolved", "summary": "one"}, "application/json"
        )
        assert first.status_code == 200, first.content
        again = alice.post(
            wrapup_url(world.old_a.pk), {"code": "resolved", "summary": "two"}, "application/json"
        )
        assert_refused(again, 409)
        assert Wrapup.objects.get(interaction=world.old_a).summary == "one"


# --- The connector's satisfaction answer -----------------------------------------------


@pytest.fixture
def rated_chat(db):
    """An ended WhatsApp chat with a CSR, its customer asked to rate it; the connector's
    bot, and another client's bot on another channel."""
    channel = channel_factory(
        slug="wa",
        kind=ChannelKind.WHATSAPP,
        webhook_url="https://connector.example/hook",
        webhook_secret="whsec-1",
        csat_enabled=True,
    )
    bot = make_bot(channel=channel)
    other = make_bot(channel=channel_factory(kind=ChannelKind.WHATSAPP, csat_enabled=True))
    for client in (bot, other):
        client.api.raise_request_exception = False
    escalated = bot.escalate(build_escalation_body(channel="wa"))
    assert escalated.status_code == 201, escalated.content
    csr = user_factory(role=Role.CSR)
    interaction_id = escalated.json()["id"]
    Interaction.objects.filter(pk=interaction_id).update(
        status=InteractionStatus.ACTIVE, assigned_csr=csr, accepted_at=timezone.now()
    )
    ended = bot.api.post(f"/api/v1/escalations/{interaction_id}/end/")
    assert ended.status_code == 200, ended.content
    assert SatisfactionRating.objects.filter(interaction_id=interaction_id).exists()
    return bot, other, Interaction.objects.get(pk=interaction_id)


@pytest.mark.django_db
class TestSatisfactionAnswer:
    def test_another_clients_bot_gets_a_404_and_stores_nothing(self, rated_chat):
        _, other, interaction = rated_chat
        response = other.api.post(satisfaction_url(interaction.pk), {"rating": 1}, format="json")
        assert_refused(response, 404)
        assert SatisfactionRating.objects.get(interaction=interaction).answered_at is None

    @pytest.mark.parametrize(
        "raw",
        [
            b"{",
            b"[]",
            b'{"rating": true}',
            b'{"rating": 4.5}',
            b'{"rating": 4, "comment": ["a"]}',
            b'{"rating": 4, "comment": "\\u0000"}',
            b'{"rating": 4, "comment": "\\ud800"}',
            b'{"rating": 4, "comment": "' + b"x" * 3_000_000 + b'"}',
        ],
    )
    def test_a_malformed_answer_is_a_4xx_and_stores_nothing(self, rated_chat, raw):
        bot, _, interaction = rated_chat
        response = bot.api.post(
            satisfaction_url(interaction.pk), raw, content_type="application/json"
        )
        assert response.status_code in (400, 413), (response.status_code, response.content[:200])
        assert_refused(response, response.status_code)
        assert SatisfactionRating.objects.get(interaction=interaction).answered_at is None

    @pytest.mark.django_db(transaction=True)
    def test_two_answers_at_once_store_one(self, rated_chat):
        """Two connector retries racing: one 200, one 409, one rating and one message."""
        if connection.vendor != "postgresql":
            pytest.skip("row locks: PostgreSQL")
        bot, _, interaction = rated_chat
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def answer(rating: int) -> None:
            client = make_client(bot.token)
            barrier.wait()
            try:
                statuses.append(
                    client.post(
                        satisfaction_url(interaction.pk), {"rating": rating}, format="json"
                    ).status_code
                )
            finally:
                close_old_connections()

        threads = [threading.Thread(target=answer, args=(r,)) for r in (1, 5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200, 409]
        assert (
            Message.objects.filter(interaction=interaction, event=SystemEvent.CSAT_ANSWERED).count()
            == 1
        )

    def test_the_comment_stays_the_contact_centers(self, rated_chat):
        """The answered message is internal: not in the connector's message list."""
        bot, _, interaction = rated_chat
        answered = bot.api.post(
            satisfaction_url(interaction.pk), {"rating": 2, "comment": SCRIPT}, format="json"
        )
        assert answered.status_code == 200, answered.content
        listed = bot.api.get(f"/api/v1/escalations/{interaction.pk}/messages/")
        assert listed.status_code == 200
        assert SCRIPT not in listed.content.decode()


def make_client(token: str) -> APIClient:
    """A bot's API client of its own (one per thread)."""
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


# --- Typed text is escaped wherever the portal shows it --------------------------------


@pytest.mark.django_db
class TestEscaping:
    def test_a_summary_and_a_csat_comment_render_escaped(self, world):
        """A summary and a CSAT comment holding markup come back escaped on the
        interaction window and in Recent work; the JSON APIs return them as data."""
        alice = session(world.alice)
        done = alice.post(
            wrapup_url(world.old_a.pk), {"code": "resolved", "summary": SCRIPT}, "application/json"
        )
        assert done.status_code == 200, done.content
        assert done.json()["summary"] == SCRIPT
        SatisfactionRating.objects.filter(interaction=world.old_a).update(
            rating=1, comment=SCRIPT + FORMULA, answered_at=timezone.now()
        )
        for url in (
            reverse("portal:interaction", args=[world.old_a.pk]),
            reverse("portal:recent_work"),
        ):
            page = alice.get(url)
            assert page.status_code == 200, (url, page.status_code)
            html = page.content.decode()
            assert "<script>alert" not in html and "<img src=x" not in html, url
            assert "&lt;script&gt;alert" in html, url

    def test_a_note_with_markup_is_plain_text_in_the_transcript(self, world):
        """The portal's transcript is text/plain with nosniff: markup there is inert."""
        Message.objects.create(
            interaction=world.current,
            seq=1,
            sender_kind=SenderKind.CSR,
            author=world.alice,
            author_name="Alice",
            text=SCRIPT,
            event=SystemEvent.NOTE,
            internal=True,
        )
        response = session(world.alice).get(
            reverse("transcripts:download-txt", args=[world.current.pk])
        )
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        assert response["X-Content-Type-Options"] == "nosniff"

    def test_csv_cells_that_would_run_as_formulas_are_kept_as_text(self):
        """The reports' CSV quotes a cell starting =, +, -, @, tab or CR with an
        apostrophe (OWASP's CSV injection advice); numbers stay numbers."""
        risky = [FORMULA, "+1", "-2+3", "@SUM(A1)", "\tx", "\r=1"]
        request = RequestFactory().get("/reports/export/")
        response = csv_response(request, "t.csv", ["h"] * 9, [[*risky, "ok", 5, -5]])
        raw = b"".join(response.streaming_content).decode().lstrip("\ufeff")
        _, cells = csv.reader(io.StringIO(raw, newline=""))
        assert cells[:6] == ["'" + value for value in risky]
        assert cells[6:] == ["ok", "5", "-5"]


# --- Frames on the chat sockets --------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_csr_not_on_the_chat_and_a_manager_of_other_queues_cannot_note():
    """Neither may open the chat's socket, so neither can note; nothing is stored."""
    chat = await sync_to_async(make_live_chat)()

    def outsiders():
        manager = user_factory(role=Role.CSR_MANAGER)
        SupervisedQueue.objects.create(manager=manager, queue=queue_factory())
        return [login_headers(user_factory(role=Role.CSR)), login_headers(manager)]

    for headers in await sync_to_async(outsiders)():
        async with refused_socket(chat.csr_path(), headers) as socket:
            assert await socket.closed_with() == 4403
    count = sync_to_async(
        Message.objects.filter(interaction_id=chat.id, event=SystemEvent.NOTE).count
    )
    assert await count() == 0


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_customer_has_no_note_and_the_csr_no_csat_answer():
    """A `note` from the customer and a `csat.answer` from the CSR are unknown frames."""
    chat = await sync_to_async(make_live_chat)()
    csr_headers = await sync_to_async(login_headers)(chat.csr)
    async with (
        chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer,
        chat_socket(chat.csr_path(), csr_headers) as panel,
    ):
        await customer.send(type="note", text=SCRIPT, client_msg_id="n-1")
        error = await customer.receive_type("error")
        assert error["code"] == "unknown_type", error
        await panel.send(type="csat.answer", rating=1)
        error = await panel.receive_type("error")
        assert error["code"] == "unknown_type", error
    stored = sync_to_async(
        lambda: (
            Message.objects.filter(interaction_id=chat.id, event=SystemEvent.NOTE).count(),
            SatisfactionRating.objects.filter(interaction_id=chat.id).count(),
        )
    )
    assert await stored() == (0, 0)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_typing_preview_reaches_the_handling_csr_alone():
    """The customer's unsent text goes to the handling CSR's panel, never back to the
    customer, to a manager watching, or to another CSR's panel."""

    def setup():
        channel = channel_factory(typing_preview=True)
        chat = make_live_chat(channel=channel)
        manager = user_factory(role=Role.CSR_MANAGER)
        return chat, login_headers(chat.csr), login_headers(manager)

    chat, csr_headers, manager_headers = await sync_to_async(setup)()
    other = await sync_to_async(make_live_chat)()
    other_headers = await sync_to_async(login_headers)(other.csr)
    async with (
        chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer,
        chat_socket(chat.csr_path(), csr_headers) as panel,
        chat_socket(chat.csr_path(), manager_headers) as watcher,
        chat_socket(other.csr_path(), other_headers) as stranger,
    ):
        await customer.send(type="typing", active=True, text="my card is 4111 1111")
        preview = await panel.receive_type("typing.preview")
        assert preview["text"] == "my card is 4111 1111"
        for socket in (customer, watcher, stranger):
            frames = []
            while not await socket.nothing(timeout=0.5):
                frames.append(await socket.receive())
            assert "4111" not in json.dumps(frames), frames


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_survey_answered_twice_on_the_socket_is_refused_the_second_time():
    def setup():
        channel = channel_factory(csat_enabled=True)
        chat = make_live_chat(channel=channel)
        interaction_end(interaction_id=chat.id, by=SenderKind.CSR, user=chat.csr)
        return chat

    chat = await sync_to_async(setup)()
    async with chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer:
        await customer.send(type="csat.answer", rating=True)
        assert (await customer.receive_type("error"))["message"]
        await customer.send(type="csat.answer", rating=4, comment=SCRIPT)
        assert (await customer.receive_type("csat.answered"))["rating"] == 4
        await customer.send(type="csat.answer", rating=1)
        error = await customer.receive_type("error")
        assert error["code"] == "csat_answered", error
    rating = await sync_to_async(SatisfactionRating.objects.get)(interaction_id=chat.id)
    assert (rating.rating, rating.comment) == (4, SCRIPT)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_send_reusing_a_notes_id_is_refused_not_acked_as_sent():
    """A message sent with the client_msg_id of the CSR's own note was acknowledged as a
    duplicate with the note's seq: the CSR was told it reached the customer, and nothing
    did. It is refused like an id of the other side's."""
    chat = await sync_to_async(make_live_chat)()
    csr_headers = await sync_to_async(login_headers)(chat.csr)
    async with chat_socket(chat.csr_path(), csr_headers) as panel:
        await panel.send(type="note", text="internal only", client_msg_id="same-id")
        note = await panel.receive_type("ack")
        await panel.send(type="send", text="Your refund is on its way", client_msg_id="same-id")
        answer = await panel.receive_type("error")
        assert answer["code"] == "bad_client_msg_id", answer
        assert answer.get("client_msg_id") == "same-id", answer
        assert not [f for f in panel.skipped if f["type"] == "ack" and f["seq"] == note["seq"]]
