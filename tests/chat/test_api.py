"""The bot escalation API: POST /api/v1/escalations/ and GET /api/v1/escalations/{id}/."""

import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from io import BytesIO
from types import SimpleNamespace

import pytest
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from chat.api.errors import RequestTooLarge, api_exception_handler
from chat.api.parsers import BoundedJSONParser
from chat.models import (
    BotClient,
    Customer,
    CustomerToken,
    Interaction,
    InteractionStatus,
    Message,
    SenderKind,
    SystemEvent,
)
from chat.services.bot_clients import bot_client_rotate_token
from chat.tokens import token_digest
from routing.models import Queue, RoutingDecision
from tests.chat.conftest import ESCALATIONS_URL
from tests.factories import (
    channel_factory,
    customer_factory,
    intent_rule_factory,
    interaction_factory,
    queue_factory,
    user_factory,
)

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str, field: str | None = None, message: str = ""):
    """The response is the one error shape, with this status and code; with `field`, one
    of its errors is on that field path and its message contains `message`."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "errors"}
    assert body["code"] == code
    assert body["message"]
    if field is not None:
        matching = [e for e in body["errors"] if e["field"] == field]
        assert matching, body["errors"]
        assert message in matching[0]["message"], matching[0]["message"]
    else:
        assert message in body["message"]
    return body


def nothing_written() -> bool:
    return not (
        Interaction.objects.exists() or Message.objects.exists() or Customer.objects.exists()
    )


# --- Happy path -----------------------------------------------------------------------


def test_escalation_writes_customer_interaction_transcript_and_token(bot, escalation_body):
    """An escalation answers 201 and stores the customer, a queued interaction, the bot
    transcript as seq 1..n and the escalation notice, and only the token's digest."""
    response = bot.escalate(escalation_body(), **{"Idempotency-Key": "conv-1"})

    assert response.status_code == 201, response.content
    body = response.json()
    interaction = Interaction.objects.get()
    queue = bot.channel.default_queue
    assert body["id"] == interaction.pk
    assert body["status"] == "queued"
    assert body["queue"] == {"slug": queue.slug, "name": queue.name}
    assert body["position"] == 1
    assert body["estimated_wait_seconds"] is None
    assert body["created_at"]
    # Authentication needs a signed identity token (tests/chat/test_authentication_api.py).
    assert body["authenticated"] is False
    assert body["warnings"] == []

    customer = interaction.customer
    assert (customer.external_id, customer.name, customer.email, customer.phone) == (
        "cust-1001",
        "Dana Reyes",
        "dana@example.com",
        "+15550100",
    )
    assert customer.authenticated is False
    assert customer.metadata == {"plan": "gold"}

    assert interaction.status == InteractionStatus.QUEUED
    assert interaction.queue == queue
    assert interaction.channel == bot.channel
    assert interaction.bot_client == bot.client
    assert interaction.intent == "billing.refund"
    assert interaction.context == {"order": "A-1009"}
    assert interaction.authenticated is False
    assert interaction.idempotency_key == "conv-1"
    assert len(interaction.request_fingerprint) == 64
    assert interaction.last_seq == 4

    messages = list(interaction.messages.order_by("seq"))
    assert [(m.seq, m.sender_kind, m.text, m.pre_escalation) for m in messages] == [
        (1, SenderKind.CUSTOMER, "I was charged twice.", True),
        (2, SenderKind.BOT, "Sorry about that. Checking...", True),
        (3, SenderKind.CUSTOMER, "Please hurry.", True),
        (4, SenderKind.SYSTEM, f"Customer escalated to the {queue.name} queue", False),
    ]
    assert messages[0].created_at == datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    assert messages[1].created_at == datetime(2025, 3, 1, 9, 30, 5, tzinfo=UTC)
    assert abs(messages[2].created_at - timezone.now()) < timedelta(seconds=10)
    assert messages[0].author_name == "Dana Reyes"
    assert messages[1].author_name == bot.client.name
    assert messages[3].event == SystemEvent.ESCALATED

    token = body["customer_token"]
    assert token.startswith("cus_")
    stored = CustomerToken.objects.get()
    assert stored.interaction == interaction
    assert stored.token_hash == token_digest(token)
    assert stored.token_hash != token
    assert body["customer_ws_url"] == (
        f"ws://testserver/ws/customer/{interaction.pk}/?token={token}"
    )


def test_customer_ws_url_is_wss_on_a_secure_request(bot, escalation_body):
    """Behind https the customer socket URL uses wss."""
    response = bot.api.post(ESCALATIONS_URL, escalation_body(), format="json", secure=True)

    assert response.status_code == 201
    assert response.json()["customer_ws_url"].startswith("wss://testserver/ws/customer/")


def test_public_base_url_sets_host_and_scheme_of_the_customer_ws_url(
    bot, escalation_body, settings
):
    """PORTAL["PUBLIC_BASE_URL"] wins over the request's host, scheme and path."""
    settings.PORTAL = {**settings.PORTAL, "PUBLIC_BASE_URL": "https://chat.example.com/help/"}

    body = bot.escalate(escalation_body()).json()

    assert body["customer_ws_url"] == (
        f"wss://chat.example.com/help/ws/customer/{body['id']}/?token={body['customer_token']}"
    )


def test_known_customer_is_updated_and_metadata_merged(bot, escalation_body):
    """An escalation for a known external_id updates that customer: new values replace
    the stored ones, empty ones keep them, metadata is merged key by key."""
    customer = customer_factory(
        external_id="cust-1001",
        name="D. Reyes",
        email="old@example.com",
        phone="+15559999",
        metadata={"plan": "silver", "region": "EU"},
    )
    body = escalation_body(
        customer={
            "external_id": "cust-1001",
            "name": "Dana Reyes",
            "email": "",
            "metadata": {"plan": "gold"},
        }
    )

    assert bot.escalate(body).status_code == 201

    customer.refresh_from_db()
    assert Customer.objects.count() == 1
    assert customer.name == "Dana Reyes"
    assert customer.email == "old@example.com"
    assert customer.phone == "+15559999"
    assert customer.metadata == {"plan": "gold", "region": "EU"}
    assert Interaction.objects.get().customer == customer


def test_customer_without_external_id_is_always_new(bot, escalation_body):
    """Without customer.external_id every escalation creates its own customer; without
    a name the customer is called Guest."""
    body = escalation_body(customer={})

    assert bot.escalate(body).status_code == 201
    assert bot.escalate(body).status_code == 201

    assert list(Customer.objects.values_list("name", flat=True)) == ["Guest", "Guest"]


def test_minimal_escalation_needs_only_channel_and_customer(bot):
    """channel and customer are the only required fields."""
    response = bot.escalate({"channel": "web", "customer": {"name": "Sam"}})

    assert response.status_code == 201, response.content
    interaction = Interaction.objects.get()
    assert interaction.priority == 0
    assert interaction.intent == ""
    assert interaction.context == {}
    assert [m.seq for m in interaction.messages.all()] == [1]
    assert interaction.last_seq == 1


def test_routing_task_is_queued_after_commit(
    bot, escalation_body, celery_eager, django_capture_on_commit_callbacks
):
    """The routing task for the new interaction is queued only once the escalation
    commits, and it routes that interaction (the customer's words to the bot queue their
    sentiment scoring too, and the queue's long-wait timer is armed)."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = bot.escalate(escalation_body())

    assert response.status_code == 201
    interaction_id = response.json()["id"]
    assert callbacks  # (apps above chat add their own after-commit work: no fixed count)
    assert not RoutingDecision.objects.filter(interaction_id=interaction_id).exists()

    for callback in callbacks:  # the commit
        callback()

    decision = RoutingDecision.objects.get(interaction_id=interaction_id)
    assert decision.summary == "No CSR is a member of this queue."


def test_escalation_query_count_is_pinned(bot, escalation_body, django_assert_num_queries):
    """An escalation with a three-line transcript costs a fixed number of queries: the
    client, the channel (with the permission), the queue (intent rule or default), the
    customer (a locking read, then its insert in a savepoint), the interaction, the
    messages in one insert, the token, and the position and wait estimate for the reply
    (the queue's pace is then cached, so the next escalation of the queue reads one
    less). The escalation's own transaction is a savepoint here, inside the test's."""
    bot.client.last_used_at = timezone.now()
    BotClient.objects.filter(pk=bot.client.pk).update(last_used_at=bot.client.last_used_at)

    with django_assert_num_queries(14):
        response = bot.escalate(escalation_body(), **{"Idempotency-Key": "conv-q"})

    assert response.status_code == 201


def test_last_used_at_is_written_at_most_once_a_minute(bot, escalation_body):
    """The first request stamps last_used_at; requests within a minute leave it alone;
    a request a minute later stamps it again."""
    assert bot.status_of(1).status_code == 404
    bot.client.refresh_from_db()
    first = bot.client.last_used_at
    assert first is not None

    bot.status_of(1)
    bot.client.refresh_from_db()
    assert bot.client.last_used_at == first

    BotClient.objects.filter(pk=bot.client.pk).update(last_used_at=first - timedelta(seconds=61))
    bot.status_of(1)
    bot.client.refresh_from_db()
    assert bot.client.last_used_at > first


# --- Queue selection through the API ----------------------------------------------------


def test_explicit_queue_slug_is_used(bot, escalation_body):
    """A named queue wins over the intent rule and the channel default."""
    queue_factory(slug="billing", name="Billing")
    intent_rule_factory(intent="billing.refund", queue=queue_factory())

    response = bot.escalate(escalation_body(queue="billing"))

    assert response.status_code == 201
    assert response.json()["queue"] == {"slug": "billing", "name": "Billing"}
    assert Message.objects.get(event=SystemEvent.ESCALATED).text == (
        "Customer escalated to the Billing queue"
    )


def test_intent_rule_picks_the_queue(bot, escalation_body):
    """Without a queue, the intent rule for the intent (any case) picks the queue."""
    refunds = queue_factory(slug="refunds", name="Refunds")
    intent_rule_factory(intent="Billing.Refund", queue=refunds)

    response = bot.escalate(escalation_body(intent="BILLING.refund"))

    assert response.status_code == 201
    assert response.json()["queue"]["slug"] == "refunds"


def test_channel_default_queue_is_the_fallback(bot, escalation_body):
    """Without a queue or a matching rule, the channel's default queue is used."""
    response = bot.escalate(escalation_body(intent="small.talk"))

    assert response.status_code == 201
    assert response.json()["queue"]["slug"] == bot.channel.default_queue.slug


def test_no_queue_at_all_is_a_400_that_says_how_to_fix_it(bot_factory, escalation_body):
    """No queue, no rule and no default queue: 400 naming the three ways out."""
    lonely = bot_factory(channel=channel_factory(slug="lonely", default_queue=None))

    response = lonely.escalate(escalation_body(channel="lonely", intent="x"))

    assert_error(
        response,
        400,
        "invalid",
        message="No queue for this escalation: name a queue, add an intent rule for 'x', or "
        "give channel 'lonely' a default queue.",
    )
    assert response.json()["errors"][0]["field"] is None
    assert nothing_written()


# --- Validation errors ------------------------------------------------------------------


def test_unknown_channel(bot, escalation_body):
    """An unknown channel slug is a 400 on `channel`."""
    response = bot.escalate(escalation_body(channel="nope"))

    assert_error(response, 400, "invalid", "channel", "There is no channel 'nope'")
    assert nothing_written()


def test_inactive_channel(bot, escalation_body):
    """An inactive channel is a 400 on `channel`."""
    bot.channel.active = False
    bot.channel.save()

    response = bot.escalate(escalation_body())

    assert_error(response, 400, "invalid", "channel", "Channel 'web' is inactive")


def test_unknown_queue(bot, escalation_body):
    """An unknown queue slug is a 400 on `queue`."""
    response = bot.escalate(escalation_body(queue="nope"))

    assert_error(response, 400, "invalid", "queue", "There is no queue 'nope'")
    assert nothing_written()


def test_inactive_queue(bot, escalation_body):
    """An inactive queue is a 400 on `queue`."""
    queue_factory(slug="closed", active=False)

    response = bot.escalate(escalation_body(queue="closed"))

    assert_error(response, 400, "invalid", "queue", "Queue 'closed' is inactive")
    assert nothing_written()


def test_missing_customer(bot, escalation_body):
    """customer is required."""
    body = escalation_body()
    del body["customer"]

    response = bot.escalate(body)

    assert_error(response, 400, "invalid", "customer", "This field is required.")
    assert response.json()["message"] == "customer: This field is required."


def test_invalid_customer_email(bot, escalation_body):
    """A nested field's error carries its dotted path."""
    response = bot.escalate(escalation_body(customer={"email": "not-an-email"}))

    assert_error(response, 400, "invalid", "customer.email", "Enter a valid email address.")


def test_several_errors_are_all_listed(bot, escalation_body):
    """Every invalid field is reported, each with its path."""
    response = bot.escalate(escalation_body(priority=99, context=[1], customer={"email": "x"}))

    body = assert_error(response, 400, "invalid", "priority", "less than or equal to 10")
    assert {e["field"] for e in body["errors"]} == {"priority", "context", "customer.email"}
    assert body["message"] == "The request has 3 problems; see `errors`."


def test_transcript_over_the_entry_limit(bot, escalation_body):
    """A transcript of more than 1,000 entries is refused on `transcript`."""
    transcript = [{"from": "customer", "text": "hi"}] * 1001

    response = bot.escalate(escalation_body(transcript=transcript))

    assert_error(response, 400, "invalid", "transcript", "at most 1000 entries; this one has 1001")
    assert nothing_written()


def test_transcript_at_the_entry_limit_is_accepted(bot, escalation_body):
    """Exactly 1,000 entries is fine; the escalation notice is seq 1001."""
    transcript = [{"from": "bot", "text": f"line {n}"} for n in range(1000)]

    response = bot.escalate(escalation_body(transcript=transcript))

    assert response.status_code == 201
    assert Interaction.objects.get().last_seq == 1001
    assert Message.objects.count() == 1001


def test_transcript_text_over_the_length_limit(bot, escalation_body):
    """A transcript text over 10,000 characters is refused on transcript.<i>.text."""
    transcript = [{"from": "customer", "text": "ok"}, {"from": "bot", "text": "x" * 10_001}]

    response = bot.escalate(escalation_body(transcript=transcript))

    assert_error(
        response, 400, "invalid", "transcript.1.text", "at most 10000 characters; this one has"
    )


def test_malformed_transcript_timestamp(bot, escalation_body):
    """A malformed `at` is refused on transcript.<i>.at with the accepted format."""
    transcript = [{"from": "customer", "text": "a"}] * 3 + [
        {"from": "customer", "text": "b", "at": "yesterday at noon"}
    ]

    response = bot.escalate(escalation_body(transcript=transcript))

    assert_error(response, 400, "invalid", "transcript.3.at", "Datetime has wrong format")


def test_unknown_transcript_sender(bot, escalation_body):
    """`from` is customer or bot."""
    response = bot.escalate(escalation_body(transcript=[{"from": "csr", "text": "a"}]))

    assert_error(response, 400, "invalid", "transcript.0.from", '"csr" is not a valid choice.')


@pytest.mark.parametrize(
    ("priority", "message"),
    [(11, "less than or equal to 10"), (-1, "greater than or equal to 0")],
)
def test_priority_out_of_range(bot, escalation_body, priority, message):
    """priority is 0–10."""
    response = bot.escalate(escalation_body(priority=priority))

    assert_error(response, 400, "invalid", "priority", message)


def test_context_must_be_an_object(bot, escalation_body):
    """context must be a JSON object."""
    response = bot.escalate(escalation_body(context=["order", "A-1009"]))

    assert_error(response, 400, "invalid", "context", "Expected a dictionary of items")


def test_body_must_be_an_object(bot):
    """A JSON array is refused as a whole (field null)."""
    response = bot.api.post(ESCALATIONS_URL, "[1, 2]", content_type="application/json")

    body = assert_error(response, 400, "invalid", None, "Expected a dictionary")
    assert body["errors"][0]["field"] is None


def test_body_over_the_size_limit_is_a_413(bot, escalation_body):
    """A body over 1 MiB is refused with 413 before it is read."""
    big = escalation_body(context={"blob": "x" * 1_100_000})

    response = bot.escalate(big)

    assert_error(response, 413, "request_too_large", message="larger than the limit")
    assert nothing_written()


def test_parser_counts_the_bytes_it_reads(settings):
    """Without a trustworthy Content-Length the parser still stops one byte past the
    limit."""
    settings.PORTAL = {**settings.PORTAL, "API_MAX_BODY_BYTES": 100}
    parser = BoundedJSONParser()
    no_length = {"request": SimpleNamespace(META={})}

    with pytest.raises(RequestTooLarge):
        parser.parse(BytesIO(b'{"a": "' + b"x" * 200 + b'"}'), "application/json", no_length)
    assert parser.parse(BytesIO(b'{"a": 1}'), "application/json", no_length) == {"a": 1}


def test_malformed_json(bot):
    """Broken JSON is a 400 parse_error that quotes the parser."""
    response = bot.api.post(ESCALATIONS_URL, '{"channel": "web",', content_type="application/json")

    assert_error(response, 400, "parse_error", message="The request body is not valid JSON")


def test_wrong_content_type(bot):
    """A body that is not JSON is a 415."""
    response = bot.api.post(ESCALATIONS_URL, "channel=web", content_type="text/plain")

    assert_error(response, 415, "unsupported_media_type", message='"text/plain"')


def test_idempotency_key_over_200_characters(bot, escalation_body):
    """An Idempotency-Key over 200 characters is a 400 on the header."""
    response = bot.escalate(escalation_body(), **{"Idempotency-Key": "k" * 201})

    assert_error(response, 400, "invalid", "Idempotency-Key", "at most 200 characters")
    assert nothing_written()


def test_wrong_method_is_a_json_405(bot):
    """Errors outside validation use the same shape."""
    response = bot.api.get(ESCALATIONS_URL)

    assert_error(response, 405, "method_not_allowed", message='"GET" not allowed')


# --- Idempotency ------------------------------------------------------------------------


def test_replay_with_the_same_key_returns_the_same_interaction(
    bot, escalation_body, django_capture_on_commit_callbacks
):
    """A replay with the same key and body answers 200 with the same interaction, a new
    customer token (both valid), and routes nothing again."""
    first = bot.escalate(escalation_body(), **{"Idempotency-Key": "conv-7"})
    with django_capture_on_commit_callbacks() as callbacks:
        again = bot.escalate(escalation_body(), **{"Idempotency-Key": "conv-7"})

    assert first.status_code == 201
    assert again.status_code == 200, again.content
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["customer_token"] != first.json()["customer_token"]
    assert Interaction.objects.count() == 1
    assert Message.objects.count() == 4
    assert set(CustomerToken.objects.values_list("token_hash", flat=True)) == {
        token_digest(first.json()["customer_token"]),
        token_digest(again.json()["customer_token"]),
    }
    assert callbacks == []


def test_replay_ignores_key_order_and_spacing(bot, escalation_body):
    """The fingerprint is over the JSON content, not its bytes."""
    body = escalation_body()
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=4)

    first = bot.escalate(body, **{"Idempotency-Key": "conv-8"})
    again = bot.api.post(
        ESCALATIONS_URL,
        reordered,
        content_type="application/json",
        headers={"Idempotency-Key": "conv-8"},
    )

    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]


def test_same_key_with_another_body_is_a_409(bot, escalation_body):
    """Reusing a key with a different body is a 409 that says what to do."""
    first = bot.escalate(escalation_body(), **{"Idempotency-Key": "conv-9"})

    response = bot.escalate(escalation_body(priority=5), **{"Idempotency-Key": "conv-9"})

    assert_error(
        response,
        409,
        "idempotency_conflict",
        message=f"Idempotency key 'conv-9' was already used for escalation {first.json()['id']}",
    )
    assert Interaction.objects.count() == 1


def test_external_id_is_the_key_without_a_header(bot, escalation_body):
    """Body external_id works as the idempotency key: replay 200, other body 409."""
    first = bot.escalate(escalation_body(external_id="bot-conv-1"))
    again = bot.escalate(escalation_body(external_id="bot-conv-1"))
    other = bot.escalate(escalation_body(external_id="bot-conv-1", intent="other"))

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert_error(other, 409, "idempotency_conflict", message="'bot-conv-1'")
    assert Interaction.objects.get().idempotency_key == "bot-conv-1"


def test_header_key_takes_precedence_over_external_id(bot, escalation_body):
    """With both, the Idempotency-Key header is the key."""
    bot.escalate(escalation_body(external_id="body-key"), **{"Idempotency-Key": "header-key"})

    assert Interaction.objects.get().idempotency_key == "header-key"


def test_keys_belong_to_one_bot_client(bot, bot_factory, escalation_body):
    """Two clients may use the same key for different escalations."""
    other = bot_factory(channel=bot.channel)

    first = bot.escalate(escalation_body(), **{"Idempotency-Key": "shared"})
    second = other.escalate(escalation_body(), **{"Idempotency-Key": "shared"})

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]


def test_without_a_key_every_request_escalates(bot, escalation_body):
    """No key, no deduplication."""
    bot.escalate(escalation_body())
    bot.escalate(escalation_body())

    assert Interaction.objects.count() == 2


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


def _wait_for_a_blocked_interaction_insert(timeout: float = 10.0) -> None:
    """Wait until another backend waits on a lock while inserting an interaction."""
    deadline = timezone.now() + timedelta(seconds=timeout)
    with connection.cursor() as cursor:
        while timezone.now() < deadline:
            # Activity statistics are a snapshot per transaction: take a fresh one.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO \"chat_interaction\"%%'"
            )
            if cursor.fetchone()[0]:
                return
            threading.Event().wait(0.02)
        cursor.execute(
            "SELECT wait_event_type, wait_event, state, left(query, 120) FROM pg_stat_activity "
            "WHERE datname = current_database()"
        )
        seen = cursor.fetchall()
    raise AssertionError(f"The second request never blocked on the interaction insert: {seen}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not _postgresql(), reason="needs PostgreSQL's row locks")
@pytest.mark.parametrize(
    ("same_body", "status"), [(True, 200), (False, 409)], ids=["replay", "conflict"]
)
def test_concurrent_requests_with_one_key_escalate_once(
    bot, escalation_body, celery_eager, caplog, same_body, status
):
    """Two simultaneous requests with one key: the first commits, the second hits the
    unique constraint, re-reads and answers 200 with the same interaction (same body) or
    409 (other body). Deterministic: the first holds its transaction open until the
    second is seen waiting on the interaction insert."""
    # last_used_at is fresh, so neither request writes the client row (no lock there).
    BotClient.objects.filter(pk=bot.client.pk).update(last_used_at=timezone.now())
    body = escalation_body(customer={"name": "Dana"})  # no external_id: no customer race
    second_body = body if same_body else {**body, "priority": 9}
    inserted = threading.Event()
    first: dict = {}
    caplog.set_level(logging.INFO, logger="chat.services")

    def first_request():
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {bot.token}")
        try:
            with transaction.atomic():  # the view's transaction commits only with this one
                first["response"] = api.post(
                    ESCALATIONS_URL, body, format="json", headers={"Idempotency-Key": "race"}
                )
                inserted.set()
                _wait_for_a_blocked_interaction_insert()
        except BaseException as exc:
            first["error"] = exc
            inserted.set()
        finally:
            connection.close()

    thread = threading.Thread(target=first_request)
    thread.start()
    assert inserted.wait(10)
    second = bot.escalate(second_body, **{"Idempotency-Key": "race"})
    thread.join(10)

    assert "error" not in first, first.get("error")
    assert first["response"].status_code == 201
    assert second.status_code == status, second.content
    assert Interaction.objects.count() == 1
    assert "Escalation with key 'race' replays interaction" in caplog.text
    if same_body:
        assert second.json()["id"] == first["response"].json()["id"]
    else:
        assert second.json()["code"] == "idempotency_conflict"


# --- Authentication and permissions -----------------------------------------------------


def test_no_token_is_a_401_with_www_authenticate(bot, escalation_body):
    """No Authorization header: 401 with a Bearer challenge."""
    response = APIClient().post(ESCALATIONS_URL, escalation_body(), format="json")

    assert_error(response, 401, "not_authenticated", message="credentials were not provided")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert nothing_written()


def test_unknown_token_is_a_401(bot, escalation_body):
    """A token that is no client's: 401."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Bearer bot_not-a-real-token")

    response = api.post(ESCALATIONS_URL, escalation_body(), format="json")

    assert_error(response, 401, "authentication_failed", message="Invalid bot token.")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_other_authorization_scheme_is_a_401(bot, escalation_body):
    """Only Bearer tokens are accepted."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {bot.token}")

    response = api.post(ESCALATIONS_URL, escalation_body(), format="json")

    assert_error(response, 401, "not_authenticated")


def test_a_logged_in_portal_user_is_not_a_bot(bot, escalation_body):
    """The bot API ignores session logins: only bot tokens."""
    api = APIClient()
    api.force_login(user_factory(is_staff=True, is_superuser=True))

    response = api.post(ESCALATIONS_URL, escalation_body(), format="json")

    assert response.status_code == 401


def test_inactive_client_is_a_403(bot_factory, escalation_body):
    """A right token of an inactive client: 403 that says so."""
    inactive = bot_factory(channel=channel_factory(slug="web"), active=False)

    response = inactive.escalate(escalation_body())

    assert_error(response, 403, "client_inactive", message="This bot client is inactive.")
    assert nothing_written()


def test_channel_not_allowed_is_a_403_naming_it(bot, escalation_body):
    """A channel the client may not use: 403 naming the channel; nothing written."""
    channel_factory(slug="whatsapp")

    response = bot.escalate(escalation_body(channel="whatsapp"))

    assert_error(
        response,
        403,
        "channel_not_allowed",
        message="This bot client may not escalate on channel 'whatsapp'",
    )
    assert nothing_written()


# --- Throttling -------------------------------------------------------------------------


def test_throttling_is_per_bot_client(bot, bot_factory, escalation_body, settings):
    """Past its rate a client gets 429 with Retry-After; another client is unaffected."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"bot_client": "2/minute"},
    }
    other = bot_factory(channel=bot.channel)

    statuses = [bot.escalate(escalation_body()).status_code for _ in range(2)]
    throttled = bot.escalate(escalation_body())

    assert statuses == [201, 201]
    assert_error(throttled, 429, "throttled", message="Request was throttled")
    assert 0 < int(throttled.headers["Retry-After"]) <= 60
    assert other.escalate(escalation_body()).status_code == 201
    assert Interaction.objects.count() == 3


# --- GET /api/v1/escalations/{id}/ ------------------------------------------------------


def test_status_shows_position_and_assigned_csr(bot, escalation_body):
    """Waiting: position in the queue and no CSR; with a CSR: active, no position, the
    CSR's full name (or username without one)."""
    first = bot.escalate(escalation_body()).json()
    second = bot.escalate(escalation_body()).json()

    status = bot.status_of(second["id"]).json()
    assert status["status"] == "queued"
    assert status["position"] == 2
    assert status["assigned_csr"] is None
    assert status["queue"]["slug"] == bot.channel.default_queue.slug
    assert status["queued_at"] and status["created_at"]
    assert status["offered_at"] is None

    csr = user_factory(first_name="Ana", last_name="Lopez")
    Interaction.objects.filter(pk=first["id"]).update(
        status=InteractionStatus.ACTIVE, assigned_csr=csr, accepted_at=timezone.now()
    )

    taken = bot.status_of(first["id"]).json()
    assert taken["status"] == "active"
    assert taken["position"] is None
    assert taken["estimated_wait_seconds"] is None
    assert taken["assigned_csr"] == "Ana Lopez"
    assert taken["accepted_at"]
    assert bot.status_of(second["id"]).json()["position"] == 1

    nameless = user_factory(username="agent7", first_name="")
    Interaction.objects.filter(pk=first["id"]).update(assigned_csr=nameless)
    assert bot.status_of(first["id"]).json()["assigned_csr"] == "agent7"


def test_status_estimates_the_wait_from_recent_accepted_chats(bot, escalation_body):
    """estimated_wait_seconds is the position times the seconds between chats taken
    from the queue over the last hour."""
    now = timezone.now()
    queue = bot.channel.default_queue
    for accepted_ago in (310, 210, 110):  # one chat taken every 100 s
        interaction_factory(
            channel=bot.channel,
            queue=queue,
            status=InteractionStatus.ACTIVE,
            queued_at=now - timedelta(seconds=accepted_ago + 30),
            accepted_at=now - timedelta(seconds=accepted_ago),
        )
    interaction_factory(  # accepted too long ago to count
        channel=bot.channel,
        queue=queue,
        status=InteractionStatus.ENDED,
        queued_at=now - timedelta(hours=2),
        accepted_at=now - timedelta(hours=1),
    )

    created = bot.escalate(escalation_body()).json()
    second = bot.escalate(escalation_body()).json()

    assert created["estimated_wait_seconds"] == 100
    assert bot.status_of(created["id"]).json()["estimated_wait_seconds"] == 100
    assert second["position"] == 2
    assert second["estimated_wait_seconds"] == 200


def test_another_clients_escalation_is_not_found(bot, bot_factory, escalation_body):
    """A client sees only its own escalations: others' ids are 404, like unknown ids."""
    other = bot_factory(channel=bot.channel)
    theirs = other.escalate(escalation_body()).json()["id"]

    assert_error(bot.status_of(theirs), 404, "not_found", message=f"no escalation {theirs}")
    assert_error(bot.status_of(theirs + 1000), 404, "not_found")
    assert other.status_of(theirs).status_code == 200


def test_status_needs_a_token(bot, escalation_body):
    """GET is authenticated like POST."""
    interaction_id = bot.escalate(escalation_body()).json()["id"]

    response = APIClient().get(f"{ESCALATIONS_URL}{interaction_id}/")

    assert_error(response, 401, "not_authenticated")


def test_an_unexpected_failure_is_a_logged_json_500(caplog):
    """A bug is answered in the same shape (500, server_error) and logged with its
    traceback, not shown to the client."""
    response = api_exception_handler(
        RuntimeError("secret detail"), {"request": SimpleNamespace(path="/api/v1/x/")}
    )

    assert response.status_code == 500
    assert response.data["code"] == "server_error"
    assert response.data["errors"] == []
    assert "secret detail" not in response.data["message"]
    assert "Internal Server Error: /api/v1/x/" in caplog.text
    assert "RuntimeError: secret detail" in caplog.text


# --- Configuration changes apply at once in the process that made them -----------------


def test_a_rotated_token_is_refused_at_once(bot, escalation_body):
    assert bot.escalate(escalation_body()).status_code == 201

    bot_client_rotate_token(client=bot.client)

    assert_error(bot.status_of(1), 401, "authentication_failed")


def test_a_deactivated_client_is_refused_at_once(bot, escalation_body):
    assert bot.escalate(escalation_body()).status_code == 201

    BotClient.objects.filter(pk=bot.client.pk).update(active=False)

    assert_error(bot.status_of(1), 403, "client_inactive")


def test_a_channel_taken_from_the_client_is_refused_at_once(
    bot, escalation_body, django_capture_on_commit_callbacks
):
    assert bot.escalate(escalation_body()).status_code == 201

    with django_capture_on_commit_callbacks(execute=True):
        bot.client.allowed_channels.remove(bot.channel)

    response = bot.escalate(escalation_body(customer={"external_id": "c-2", "name": "Lee"}))
    assert_error(response, 403, "channel_not_allowed")


def test_a_deactivated_channel_or_queue_is_refused_at_once(
    bot, escalation_body, django_capture_on_commit_callbacks
):
    queue_factory(slug="billing")
    assert bot.escalate(escalation_body(queue="billing")).status_code == 201

    with django_capture_on_commit_callbacks(execute=True):
        billing = Queue.objects.get(slug="billing")
        billing.active = False
        billing.save()
    response = bot.escalate(
        escalation_body(queue="billing", customer={"external_id": "c-2", "name": "Lee"})
    )
    assert_error(response, 400, "invalid", "queue", "inactive")

    with django_capture_on_commit_callbacks(execute=True):
        bot.channel.active = False
        bot.channel.save()
    response = bot.escalate(escalation_body(customer={"external_id": "c-3", "name": "Kim"}))
    assert_error(response, 400, "invalid", "channel", "inactive")


def test_a_changed_intent_rule_routes_at_once(
    bot, escalation_body, django_capture_on_commit_callbacks
):
    refunds = queue_factory(slug="refunds", name="Refunds")
    rule = intent_rule_factory(intent="billing.refund", queue=queue_factory())
    assert bot.escalate(escalation_body()).status_code == 201

    with django_capture_on_commit_callbacks(execute=True):
        rule.queue = refunds
        rule.save()

    response = bot.escalate(escalation_body(customer={"external_id": "c-2", "name": "Lee"}))
    assert response.json()["queue"] == {"slug": "refunds", "name": "Refunds"}
