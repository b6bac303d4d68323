"""The API's edges: ids that cannot be, text no database may store, lengths the models
hold, and answers no cache keeps. The same on SQLite and PostgreSQL."""

import json

import pytest

from chat.models import Customer, Interaction
from tests.chat.conftest import build_escalation_body
from tests.security.conftest import assert_api_error

pytestmark = pytest.mark.django_db

BIG = 2**63


def post_json(bot, path: str, body: dict):
    """POST `body` as ASCII JSON: lone surrogates travel as \\u escapes, as they would
    from any client (DRF's test renderer cannot encode them)."""
    return bot.api.post(path, json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("action", ["accept", "decline"])
@pytest.mark.parametrize("offer_id", [str(BIG), str(2**64 + 5), "9" * 30])
def test_an_offer_id_past_the_database_range_is_a_typed_4xx(csr_client, action, offer_id):
    response = csr_client.post(
        f"/api/v1/agent/offers/{offer_id}/{action}/", {}, content_type="application/json"
    )
    assert_api_error(response, 409, {"offer_unavailable"})


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/agent/offers/-1/accept/",
        "/api/v1/agent/offers/abc/decline/",
        "/api/v1/agent/offers/1.5/accept/",
        "/api/v1/interactions/x/transfer/",
        "/api/v1/escalations/not-a-number/",
        "/api/v1/escalations/-3/messages/",
        "/api/v1/no-such-endpoint/",
        "/portal-api/interactions/abc/panel/",
    ],
)
def test_a_path_no_api_route_matches_is_the_apis_json_404(csr_client, bot, path):
    for response in (csr_client.post(path, {}, content_type="application/json"), bot.api.get(path)):
        body = assert_api_error(response, 404, {"not_found"})
        assert body["errors"] == []


def test_a_page_path_no_route_matches_is_still_an_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_agent_state_and_other_per_user_json_are_never_stored(csr_client, bot):
    """Cache-Control: no-store on the CSR's state, the portal's JSON and the bot API."""
    escalated = bot.escalate(build_escalation_body())
    responses = [
        csr_client.get("/api/v1/agent/state/"),
        csr_client.post("/api/v1/agent/status/", {"status": "offline"}, "application/json"),
        escalated,
        bot.status_of(escalated.json()["id"]),
        bot.api.get(f"/api/v1/escalations/{escalated.json()['id']}/messages/"),
    ]
    for response in responses:
        assert response.status_code in (200, 201), response.content
        assert "no-store" in response["Cache-Control"], response["Cache-Control"]


# --- Text the models hold, the same on every database ----------------------------------


def test_an_email_longer_than_the_model_holds_is_a_400(bot):
    """A 262-character email was stored on SQLite and a 500 on PostgreSQL."""
    email = "a" * 250 + "@example.com"
    assert len(email) == 262
    body = build_escalation_body()
    body["customer"]["email"] = email

    response = bot.escalate(body)

    error = assert_api_error(response, 400, {"invalid"})
    assert error["errors"][0]["field"] == "customer.email"
    assert "254" in error["errors"][0]["message"]
    assert not Customer.objects.exists()


NUL = "before\x00after"
SURROGATE = "before\ud800after"


def _with(path: str, value: object) -> dict:
    """The valid escalation body with `value` at the dotted `path`."""
    body = build_escalation_body()
    *parents, last = path.split(".")
    node = body
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return body


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["NUL", "lone surrogate"])
@pytest.mark.parametrize(
    "path",
    [
        "customer.name",
        "customer.external_id",
        "customer.phone",
        "customer.metadata.plan",
        "context.order",
        "intent",
        "transcript.1.text",
    ],
)
def test_nul_and_lone_surrogates_are_refused_in_every_escalation_text(bot, bad, path):
    response = post_json(bot, "/api/v1/escalations/", _with(path, bad))

    error = assert_api_error(response, 400, {"invalid"})
    assert [item["field"] for item in error["errors"]] == [path]
    assert error["errors"][0]["code"] in {
        "null_characters_not_allowed",
        "surrogate_characters_not_allowed",
    }
    assert not Interaction.objects.exists()


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["NUL", "lone surrogate"])
def test_an_unstorable_key_in_the_context_is_refused(bot, bad):
    response = post_json(bot, "/api/v1/escalations/", build_escalation_body(context={bad: "x"}))

    error = assert_api_error(response, 400, {"invalid"})
    assert error["errors"][0]["field"] == "context"
    assert "key" in error["errors"][0]["message"]
    assert not Interaction.objects.exists()


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["NUL", "lone surrogate"])
@pytest.mark.parametrize("field", ["text", "client_msg_id"])
def test_nul_and_lone_surrogates_are_refused_in_relayed_messages(bot, bad, field):
    chat = bot.escalate(build_escalation_body()).json()["id"]
    message = {"client_msg_id": "m-1", "text": "hello", field: bad}

    response = post_json(bot, f"/api/v1/escalations/{chat}/messages/", message)

    error = assert_api_error(response, 400, {"invalid"})
    assert error["errors"][0]["field"] == field
    assert not Interaction.objects.get(pk=chat).messages.filter(client_msg_id="m-1").exists()


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["NUL", "lone surrogate"])
def test_nul_and_lone_surrogates_are_refused_by_the_csr_api(csr_client, bad):
    for path, body in [
        ("/api/v1/agent/status/", {"status": "away", "reason": bad}),
        ("/api/v1/agent/offers/1/decline/", {"reason": bad}),
        ("/api/v1/interactions/1/transfer/", {"queue": "general", "note": bad}),
    ]:
        response = csr_client.post(path, body, content_type="application/json")
        error = assert_api_error(response, 400, {"invalid"})
        assert error["errors"][0]["field"] in ("reason", "note")


def test_a_lone_surrogate_escaped_in_json_is_refused_by_the_demo_bot(client, settings):
    settings.PORTAL = {**settings.PORTAL, "DEMO_SITE_ENABLED": True}
    raw = b'{"state": {}, "text": "hi \\ud800", "client": {"customer_id": "abcdefgh-1"}}'

    response = client.post("/demo/bot/", raw, content_type="application/json")

    error = assert_api_error(response, 400, {"invalid"})
    assert error["errors"][0]["field"] == "text"
