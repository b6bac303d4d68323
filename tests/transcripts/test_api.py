"""The bot API's transcript: GET /api/v1/escalations/{id}/transcript/ — JSON by default,
text on ?format=txt or Accept: text/plain, only for the bot client that escalated the
chat, errors in the API's one JSON shape, and a constant number of queries."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import bot_client_factory
from tests.transcripts.conftest import add_messages
from transcripts.api import (
    TranscriptDocumentSerializer,
    TranscriptInteractionSerializer,
    TranscriptMessageSerializer,
)


def url(interaction, query: str = "") -> str:
    path = reverse("transcripts:api-escalation-transcript", args=[interaction.pk])
    return f"{path}?{query}" if query else path


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def body(response) -> bytes:
    assert response.streaming, "transcripts are streamed"
    return b"".join(response.streaming_content)


def test_the_path_is_under_the_escalation():
    assert reverse("transcripts:api-escalation-transcript", args=[5]) == (
        "/api/v1/escalations/5/transcript/"
    )


def test_json_by_default_with_the_documented_fields(conversation):
    """The escalating bot client gets ChatTranscript.json; its fields are exactly those
    the OpenAPI document describes, and transfer notes are left out."""
    response = Client().get(url(conversation.interaction), **bearer(conversation.bot_token))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="ChatTranscript.json"'
    assert "Accept" in response["Vary"]
    document = json.loads(body(response))
    assert set(document) == set(TranscriptDocumentSerializer().fields)
    assert set(document["interaction"]) == set(TranscriptInteractionSerializer().fields)
    assert set(document["interaction"]["customer"]) == {"name", "external_id"}
    optional = {"files"}  # only on messages with files (none here)
    for message in document["messages"]:
        assert set(message) == set(TranscriptMessageSerializer().fields) - optional
        assert message["note"] is None
    assert document["interaction"]["csrs"] == ["Alex Morgan", "Casey Diaz"]
    assert [m["seq"] for m in document["messages"]] == list(range(1, 20))


@pytest.mark.parametrize(
    ("query", "accept"),
    [("format=txt", None), ("", "text/plain"), ("format=txt", "application/json")],
)
def test_text_on_format_txt_or_accept_text_plain(conversation, query, accept):
    """?format=txt, or Accept: text/plain, gives ChatTranscript.txt; the query wins over
    Accept."""
    headers = bearer(conversation.bot_token)
    if accept:
        headers["HTTP_ACCEPT"] = accept
    response = Client().get(url(conversation.interaction, query), **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="ChatTranscript.txt"'
    text = body(response).decode("utf-8")
    assert text.startswith("Chat transcript\n")
    assert "Transfer to Blake Chen requested by Alex Morgan\n" in text
    assert "Note:" not in text


def test_an_unknown_format_is_a_400_that_names_the_choices(conversation):
    response = Client().get(
        url(conversation.interaction, "format=pdf"), **bearer(conversation.bot_token)
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "code": "invalid",
        "message": "format: There is no transcript format 'pdf': use json or txt.",
        "errors": [
            {
                "field": "format",
                "message": "There is no transcript format 'pdf': use json or txt.",
                "code": "invalid_choice",
            }
        ],
    }


def test_an_unacceptable_accept_header_is_a_json_406(conversation):
    headers = {**bearer(conversation.bot_token), "HTTP_ACCEPT": "image/png"}
    response = Client().get(url(conversation.interaction), **headers)
    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"


def test_another_bot_clients_escalation_is_not_found(conversation):
    """Like the other escalation endpoints: 404, saying this client made no such
    escalation, in JSON even when text was asked for."""
    _, other_token = bot_client_factory()
    response = Client().get(url(conversation.interaction, "format=txt"), **bearer(other_token))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "code": "not_found",
        "message": f"This bot client made no escalation {conversation.interaction.pk}.",
        "errors": [],
    }


def test_no_token_is_401_and_an_inactive_client_403(conversation):
    response = Client().get(url(conversation.interaction))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["code"] == "not_authenticated"
    conversation.bot_client.active = False
    conversation.bot_client.save()
    response = Client().get(url(conversation.interaction), **bearer(conversation.bot_token))
    assert response.status_code == 403
    assert response.json()["code"] == "client_inactive"


def test_a_logged_in_csr_cannot_use_the_bot_endpoint(conversation):
    """The endpoint takes bot tokens only: a portal session is not enough (401)."""
    client = Client()
    client.force_login(conversation.casey)
    assert client.get(url(conversation.interaction)).status_code == 401


def test_queries_stay_constant_however_long_the_chat(conversation, django_assert_num_queries):
    """Bot client, interaction, CSR names, messages: four queries for 19 messages and
    for 1,019 (the App Studio settings as read by the first request, the client's
    last-used stamp written already)."""
    interaction = conversation.interaction
    client = Client()
    headers = bearer(conversation.bot_token)
    body(client.get(url(interaction), **headers))
    with django_assert_num_queries(4):
        body(client.get(url(interaction), **headers))
    add_messages(interaction, 1000)
    with django_assert_num_queries(4):
        document = json.loads(body(client.get(url(interaction), **headers)))
    assert document["message_count"] == 1019
