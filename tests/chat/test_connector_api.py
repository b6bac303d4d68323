"""The channel connector API: POST and GET /api/v1/escalations/{id}/messages/ and
POST /api/v1/escalations/{id}/end/."""

import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from chat.models import Interaction, InteractionStatus, Message, SenderKind, SystemEvent
from chat.services.messages import MAX_MESSAGE_CHARS
from config.users import Role
from tests.chat.test_api import assert_error
from tests.factories import user_factory

pytestmark = pytest.mark.django_db


def messages_url(interaction_id: int) -> str:
    return f"/api/v1/escalations/{interaction_id}/messages/"


def end_url(interaction_id: int) -> str:
    return f"/api/v1/escalations/{interaction_id}/end/"


@pytest.fixture
def escalated(bot, escalation_body) -> Interaction:
    """A queued escalation made by `bot`: three transcript lines and the notice (seq 1–4)."""
    response = bot.escalate(escalation_body())
    assert response.status_code == 201, response.content
    return Interaction.objects.get(pk=response.json()["id"])


def send(bot, interaction_id: int, body):
    return bot.api.post(messages_url(interaction_id), body, format="json")


def activate(interaction: Interaction):
    """Give the chat to a CSR, as an accepted offer would."""
    csr = user_factory(role=Role.CSR, first_name="Alex", last_name="Morgan")
    Interaction.objects.filter(pk=interaction.pk).update(
        status=InteractionStatus.ACTIVE, assigned_csr=csr, accepted_at=timezone.now()
    )
    return csr


# --- POST .../messages/ -------------------------------------------------------------------


def test_customer_message_is_stored_with_the_next_seq(bot, escalated):
    """A connector's message is stored as the customer's, with the next sequence number,
    and answered 201 with the stored message."""
    response = send(bot, escalated.pk, {"client_msg_id": "wamid-1", "text": "Order A-1009."})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body == {
        "seq": 5,
        "sender_kind": "customer",
        "author_name": "Dana Reyes",
        "text": "Order A-1009.",
        "client_msg_id": "wamid-1",
        "event": "",
        "pre_escalation": False,
        "attachments": [],
        "created_at": body["created_at"],
        "duplicate": False,
    }
    message = Message.objects.get(interaction=escalated, seq=5)
    assert (message.sender_kind, message.text, message.client_msg_id) == (
        SenderKind.CUSTOMER,
        "Order A-1009.",
        "wamid-1",
    )
    escalated.refresh_from_db()
    assert escalated.last_seq == 5


def test_customer_may_write_in_an_active_chat(bot, escalated):
    """Once a CSR has the chat, the customer's messages keep coming in."""
    activate(escalated)
    response = send(bot, escalated.pk, {"client_msg_id": "m-1", "text": "Thanks!"})
    assert response.status_code == 201, response.content
    assert response.json()["seq"] == 5


def test_same_client_msg_id_returns_the_original_message(bot, escalated):
    """A retry with a client_msg_id already used answers 200 with the message stored the
    first time (its seq and text) and `duplicate: true`; nothing new is stored."""
    first = send(bot, escalated.pk, {"client_msg_id": "wamid-1", "text": "First"})
    again = send(bot, escalated.pk, {"client_msg_id": "wamid-1", "text": "First"})
    other_text = send(bot, escalated.pk, {"client_msg_id": "wamid-1", "text": "Changed"})

    assert first.status_code == 201
    for retry in (again, other_text):
        assert retry.status_code == 200, retry.content
        assert retry.json() == {**first.json(), "duplicate": True}
    assert Message.objects.filter(interaction=escalated).count() == 5
    new = send(bot, escalated.pk, {"client_msg_id": "wamid-2", "text": "Second"})
    assert new.status_code == 201
    assert new.json()["seq"] == 6


def test_a_retry_after_the_chat_ended_still_returns_the_original(bot, escalated):
    """Idempotency outlives the chat: a retried send after the end is a 200 duplicate."""
    first = send(bot, escalated.pk, {"client_msg_id": "wamid-1", "text": "Bye"})
    assert bot.api.post(end_url(escalated.pk)).status_code == 200

    retry = send(bot, escalated.pk, {"client_msg_id": "wamid-1", "text": "Bye"})
    assert retry.status_code == 200
    assert retry.json()["seq"] == first.json()["seq"]
    assert retry.json()["duplicate"] is True


@pytest.mark.parametrize(
    ("body", "field", "code", "message"),
    [
        ({"client_msg_id": "m", "text": ""}, "text", "empty", "A message needs some text."),
        ({"client_msg_id": "m", "text": "  \n "}, "text", "empty", "A message needs some text."),
        (
            {"client_msg_id": "m", "text": "x" * (MAX_MESSAGE_CHARS + 1)},
            "text",
            "too_long",
            "at most 5,000 characters; this one has 5,001",
        ),
        (
            {"client_msg_id": "", "text": "Hi"},
            "client_msg_id",
            "bad_client_msg_id",
            "Every message needs a client_msg_id.",
        ),
        (
            {"client_msg_id": "x" * 65, "text": "Hi"},
            "client_msg_id",
            "bad_client_msg_id",
            "at most 64 characters",
        ),
        ({"client_msg_id": "m"}, "text", "required", "This field is required."),
        ({"text": "Hi"}, "client_msg_id", "required", "This field is required."),
        ({"client_msg_id": "m", "text": None}, "text", "null", "may not be null"),
    ],
    ids=[
        "empty",
        "blank",
        "too-long",
        "no-client-msg-id",
        "long-client-msg-id",
        "text-missing",
        "id-missing",
        "text-null",
    ],
)
def test_invalid_message_is_a_400_on_the_field(bot, escalated, body, field, code, message):
    """A message the chat refuses is a 400 naming the field, with the chat's own code;
    nothing is stored."""
    response = send(bot, escalated.pk, body)

    error = assert_error(response, 400, "invalid", field=field, message=message)
    assert [e["code"] for e in error["errors"] if e["field"] == field] == [code]
    assert Message.objects.filter(interaction=escalated).count() == 4


def test_text_at_the_limit_is_accepted(bot, escalated):
    response = send(bot, escalated.pk, {"client_msg_id": "m", "text": "x" * MAX_MESSAGE_CHARS})
    assert response.status_code == 201


def test_body_must_be_an_object(bot, escalated):
    response = send(bot, escalated.pk, ["client_msg_id", "text"])
    assert_error(response, 400, "invalid", field=None, message="Expected a dictionary")


def test_malformed_json_is_a_400(bot, escalated):
    response = bot.api.post(
        messages_url(escalated.pk), "{not json", content_type="application/json"
    )
    assert_error(response, 400, "parse_error", message="not valid JSON")


def test_message_to_an_ended_chat_is_a_409(bot, escalated):
    """Once the chat is over, a new message is refused with 409 and the reason."""
    Interaction.objects.filter(pk=escalated.pk).update(status=InteractionStatus.ENDED)

    response = send(bot, escalated.pk, {"client_msg_id": "late", "text": "Hello?"})

    assert_error(
        response, 409, "chat_ended", message="This chat has ended; messages can no longer be sent."
    )
    assert not Message.objects.filter(client_msg_id="late").exists()


def test_another_clients_interaction_is_not_found(bot, bot_factory, escalated):
    """A connector may act only on the escalations it made: any other is 404, whether
    it exists or not, and nothing is stored."""
    other = bot_factory(channel=bot.channel)
    for interaction_id in (escalated.pk, escalated.pk + 1000):
        response = send(other, interaction_id, {"client_msg_id": "x", "text": "Hi"})
        assert_error(response, 404, "not_found", message=f"no escalation {interaction_id}")
        assert_error(other.api.get(messages_url(interaction_id)), 404, "not_found")
        assert_error(other.api.post(end_url(interaction_id)), 404, "not_found")
    assert Message.objects.filter(interaction=escalated).count() == 4
    escalated.refresh_from_db()
    assert escalated.status == InteractionStatus.QUEUED


def test_connector_endpoints_need_an_active_bot_token(bot, bot_factory, escalated):
    """No token: 401 with WWW-Authenticate; an inactive client: 403."""
    bot.api.credentials()
    for response in (
        send(bot, escalated.pk, {"client_msg_id": "x", "text": "Hi"}),
        bot.api.get(messages_url(escalated.pk)),
        bot.api.post(end_url(escalated.pk)),
    ):
        assert_error(response, 401, "not_authenticated")
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'

    inactive = bot_factory(channel=bot.channel, active=False)
    response = send(inactive, escalated.pk, {"client_msg_id": "x", "text": "Hi"})
    assert_error(response, 403, "client_inactive")


def test_connector_endpoints_are_throttled_with_the_others(bot, escalated, settings):
    """The connector endpoints count against the client's one rate limit."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"bot_client": "3/minute"},
    }
    # The escalation in the fixture was the first of the three.
    assert bot.api.get(messages_url(escalated.pk)).status_code == 200
    assert bot.api.get(messages_url(escalated.pk)).status_code == 200
    response = send(bot, escalated.pk, {"client_msg_id": "x", "text": "Hi"})
    assert_error(response, 429, "throttled")
    assert "Retry-After" in response.headers


# --- GET .../messages/ --------------------------------------------------------------------


def test_messages_are_listed_in_order_with_every_field(bot, escalated):
    """Without parameters: every message from the start, oldest first, the bot
    transcript marked, with last_seq and has_more."""
    send(bot, escalated.pk, {"client_msg_id": "wamid-1", "text": "Anyone?"})

    response = bot.api.get(messages_url(escalated.pk))

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"messages", "last_seq", "has_more"}
    assert (body["last_seq"], body["has_more"]) == (5, False)
    messages = body["messages"]
    assert [m["seq"] for m in messages] == [1, 2, 3, 4, 5]
    assert set(messages[0]) == {
        "seq",
        "sender_kind",
        "author_name",
        "text",
        "client_msg_id",
        "event",
        "pre_escalation",
        "attachments",
        "created_at",
    }
    assert [(m["sender_kind"], m["pre_escalation"], m["event"]) for m in messages] == [
        ("customer", True, ""),
        ("bot", True, ""),
        ("customer", True, ""),
        ("system", False, SystemEvent.ESCALATED),
        ("customer", False, ""),
    ]
    assert messages[0]["text"] == "I was charged twice."
    assert messages[0]["created_at"].startswith("2025-03-01T09:30:00")
    assert messages[4]["client_msg_id"] == "wamid-1"


def test_after_and_limit_page_through_the_chat(bot, escalated):
    """`after` skips what the connector has seen; `limit` cuts the page, has_more says
    more follow and last_seq is where to go on from."""
    page = bot.api.get(messages_url(escalated.pk), {"after": 1, "limit": 2}).json()
    assert [m["seq"] for m in page["messages"]] == [2, 3]
    assert (page["last_seq"], page["has_more"]) == (3, True)

    page = bot.api.get(messages_url(escalated.pk), {"after": 3, "limit": 2}).json()
    assert [m["seq"] for m in page["messages"]] == [4]
    assert (page["last_seq"], page["has_more"]) == (4, False)

    page = bot.api.get(messages_url(escalated.pk), {"after": 4}).json()
    assert page == {"messages": [], "last_seq": 4, "has_more": False}
    # Past the end is not an error: nothing new yet.
    page = bot.api.get(messages_url(escalated.pk), {"after": 99}).json()
    assert page == {"messages": [], "last_seq": 99, "has_more": False}


def test_default_page_is_100_and_limit_goes_up_to_500(bot, escalation_body):
    """Without `limit` a page holds 100 messages; 500 is allowed."""
    transcript = [{"from": "customer", "text": f"line {n}"} for n in range(150)]
    interaction_id = bot.escalate(escalation_body(transcript=transcript)).json()["id"]

    page = bot.api.get(messages_url(interaction_id)).json()
    assert [m["seq"] for m in page["messages"]] == list(range(1, 101))
    assert (page["last_seq"], page["has_more"]) == (100, True)

    page = bot.api.get(messages_url(interaction_id), {"limit": 500}).json()
    assert len(page["messages"]) == 151
    assert (page["last_seq"], page["has_more"]) == (151, False)


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"after": -1}, "after", "greater than or equal to 0"),
        ({"after": "abc"}, "after", "A valid integer is required."),
        ({"after": "1.5"}, "after", "A valid integer is required."),
        ({"after": 2**31}, "after", "less than or equal to"),
        ({"limit": 0}, "limit", "greater than or equal to 1"),
        ({"limit": 501}, "limit", "less than or equal to 500"),
        ({"limit": "ten"}, "limit", "A valid integer is required."),
    ],
)
def test_bad_after_or_limit_is_a_400(bot, escalated, params, field, message):
    response = bot.api.get(messages_url(escalated.pk), params)
    assert_error(response, 400, "invalid", field=field, message=message)


# --- POST .../end/ ------------------------------------------------------------------------


def test_customer_ends_an_active_chat(bot, escalated):
    """Ending an active chat: 200 with status ended, ended by the customer, and the
    system message the CSR sees."""
    activate(escalated)

    response = bot.api.post(end_url(escalated.pk))

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["status"]) == (escalated.pk, "ended")
    assert body["ended_at"]
    escalated.refresh_from_db()
    assert escalated.status == InteractionStatus.ENDED
    assert escalated.ended_by == SenderKind.CUSTOMER
    last = escalated.messages.order_by("-seq").first()
    assert (last.sender_kind, last.event, last.text) == (
        SenderKind.SYSTEM,
        SystemEvent.ENDED,
        "The customer ended the chat",
    )


def test_customer_leaving_a_waiting_chat_abandons_it(bot, escalated):
    """A customer who leaves before any CSR joined abandons the chat: it leaves its
    queue, with the system message."""
    response = bot.api.post(end_url(escalated.pk))

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "abandoned"
    escalated.refresh_from_db()
    assert escalated.status == InteractionStatus.ABANDONED
    assert escalated.ended_at is not None
    last = escalated.messages.order_by("-seq").first()
    assert last.event == SystemEvent.ABANDONED


def test_ending_twice_is_a_409(bot, escalated):
    """A chat that is already over cannot be ended again; nothing more is written."""
    assert bot.api.post(end_url(escalated.pk)).status_code == 200
    count = escalated.messages.count()

    response = bot.api.post(end_url(escalated.pk))

    assert_error(response, 409, "chat_ended", message="This chat has already ended.")
    assert escalated.messages.count() == count


def test_end_ignores_a_body(bot, escalated):
    """The end takes no body; one sent anyway does no harm."""
    response = bot.api.post(end_url(escalated.pk), {"reason": "bye"}, format="json")
    assert response.status_code == 200


# --- The OpenAPI document -----------------------------------------------------------------


def test_schema_describes_the_connector_endpoints(tmp_path):
    """The three operations are in the validated document, with their parameters and
    the error schema on every error."""
    path = tmp_path / "schema.json"
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--format",
        "openapi-json",
        "--file",
        str(path),
    )
    schema = json.loads(path.read_text())
    messages = schema["paths"]["/api/v1/escalations/{id}/messages/"]
    end = schema["paths"]["/api/v1/escalations/{id}/end/"]["post"]

    send_op, list_op = messages["post"], messages["get"]
    assert set(send_op["responses"]) == {
        "200",
        "201",
        "400",
        "401",
        "403",
        "404",
        "409",
        "413",
        "415",
        "429",
    }
    assert set(list_op["responses"]) == {"200", "400", "401", "403", "404", "429"}
    # The end takes no body, but a malformed one is still refused (chat/api/parsers.py).
    assert set(end["responses"]) == {
        "200",
        "400",
        "401",
        "403",
        "404",
        "409",
        "413",
        "415",
        "429",
    }
    assert {p["name"] for p in list_op["parameters"] if p["in"] == "query"} == {"after", "limit"}
    request = send_op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert request == "#/components/schemas/ConnectorMessageSendRequest"
    for operation in (send_op, list_op, end):
        assert operation["security"] == [{"botToken": []}]
        for code, response in operation["responses"].items():
            if code.startswith("4"):
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/Error", code
    page = schema["components"]["schemas"]["ConnectorMessagePage"]
    assert set(page["properties"]) == {"messages", "last_seq", "has_more"}
