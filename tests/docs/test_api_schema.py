"""The OpenAPI document lists exactly the statuses the CSR's routing endpoints answer:
each one is provoked here, answers in the API's error shape, and no listed status is
left unprovoked."""

from collections import defaultdict

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from config.users import Role
from routing.models import CSRStatus
from routing.services.answers import offer_accept
from tests.chat.conftest import build_escalation_body
from tests.factories import queue_factory, route_chat, user_factory

pytestmark = pytest.mark.django_db

OPERATIONS = {
    "agent_state": ("get", "/api/v1/agent/state/"),
    "agent_status_set": ("post", "/api/v1/agent/status/"),
    "agent_queue_join": ("post", "/api/v1/agent/queues/{slug}/join/"),
    "agent_queue_leave": ("post", "/api/v1/agent/queues/{slug}/leave/"),
    "agent_offer_accept": ("post", "/api/v1/agent/offers/{offer_id}/accept/"),
    "agent_offer_decline": ("post", "/api/v1/agent/offers/{offer_id}/decline/"),
    "interaction_transfer_targets": (
        "get",
        "/api/v1/interactions/{interaction_id}/transfer-targets/",
    ),
    "interaction_transfer": ("post", "/api/v1/interactions/{interaction_id}/transfer/"),
}


class Session:
    """A logged-in browser session (or none) that sends JSON with the CSRF token."""

    def __init__(self, user=None):
        self.client = Client(enforce_csrf_checks=True)
        if user is not None:
            self.client.force_login(user)
        self.client.get("/accounts/login/")  # a page with a form sets the CSRF cookie
        self.csrf = self.client.cookies["csrftoken"].value

    def get(self, url):
        return self.client.get(url)

    def post(self, url, data="{}", *, csrf=True, content_type="application/json"):
        headers = {"X-CSRFToken": self.csrf} if csrf else {}
        return self.client.post(url, data, content_type=content_type, headers=headers)


BODY_LIMIT = 1000


@pytest.fixture
def answers(make_csr, make_interaction, queue, settings):
    """Every answer of every CSR routing endpoint, provoked: operation → statuses."""
    settings.PORTAL = {**settings.PORTAL, "API_MAX_BODY_BYTES": BODY_LIMIT}
    seen: dict[str, dict[int, object]] = defaultdict(dict)

    def record(operation, response):
        seen[operation][response.status_code] = response

    def record_bad_bodies(operation, session, url):
        """Every POST parses its body: not JSON, too large, not application/json."""
        record(operation, session.post(url, "{not json"))
        record(operation, session.post(url, '{"note": "%s"}' % ("x" * BODY_LIMIT)))
        record(operation, session.post(url, "x", content_type="text/plain"))

    csr, other = make_csr(), make_csr(status=CSRStatus.OFFLINE)
    me, stranger = Session(csr), Session(other)
    outsider = queue_factory(name="Night", slug="night")

    record("agent_state", me.get("/api/v1/agent/state/"))
    record("agent_state", Session().get("/api/v1/agent/state/"))
    record("agent_state", Session(user_factory(role=Role.CSR_MANAGER)).get("/api/v1/agent/state/"))

    status = "/api/v1/agent/status/"
    record("agent_status_set", me.post(status, '{"status": "available"}'))
    record("agent_status_set", me.post(status, '{"status": "away"}'))
    record("agent_status_set", me.post(status, '{"status": "available"}', csrf=False))
    record_bad_bodies("agent_status_set", me, status)

    for verb in ("leave", "join"):  # joined at the end, to be offered chats
        operation = f"agent_queue_{verb}"
        record(operation, me.post(f"/api/v1/agent/queues/{queue.slug}/{verb}/"))
        record(operation, me.post(f"/api/v1/agent/queues/{outsider.slug}/{verb}/"))
        record(operation, me.post(f"/api/v1/agent/queues/no-such-queue/{verb}/"))
        record(operation, me.post(f"/api/v1/agent/queues/{queue.slug}/{verb}/", csrf=False))
        record_bad_bodies(operation, me, f"/api/v1/agent/queues/{queue.slug}/{verb}/")

    def offer():
        return route_chat(interaction_id=make_interaction().pk)

    accept = "/api/v1/agent/offers/{}/accept/"
    decline = "/api/v1/agent/offers/{}/decline/"
    mine = offer()
    record_bad_bodies("agent_offer_accept", me, accept.format(mine.pk))
    record("agent_offer_accept", stranger.post(accept.format(mine.pk)))
    record("agent_offer_accept", me.post(accept.format(mine.pk), csrf=False))
    record("agent_offer_accept", me.post(accept.format(mine.pk)))
    record("agent_offer_accept", me.post(accept.format(mine.pk)))  # answered already
    mine = offer()
    record(
        "agent_offer_decline", me.post(decline.format(mine.pk), '{"reason": "%s"}' % ("x" * 201))
    )
    record_bad_bodies("agent_offer_decline", me, decline.format(mine.pk))
    record("agent_offer_decline", stranger.post(decline.format(mine.pk)))
    record("agent_offer_decline", me.post(decline.format(mine.pk), '{"reason": "busy"}'))
    record("agent_offer_decline", me.post(decline.format(mine.pk)))  # answered already

    chat = offer_accept(offer_id=offer().pk, user=csr)
    targets = f"/api/v1/interactions/{chat.pk}/transfer-targets/"
    record("interaction_transfer_targets", me.get(targets))
    record("interaction_transfer_targets", stranger.get(targets))
    transfer = f"/api/v1/interactions/{chat.pk}/transfer/"
    record("interaction_transfer", me.post(transfer, "{}"))
    record_bad_bodies("interaction_transfer", me, transfer)
    record("interaction_transfer", stranger.post(transfer, '{"queue": "night"}'))
    record("interaction_transfer", me.post(transfer, f'{{"csr": {other.pk}}}'))
    record("interaction_transfer", me.post(transfer, '{"queue": "night"}'))
    return seen


def test_every_routing_endpoint_lists_exactly_the_statuses_it_answers(answers):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for operation_id, (method, path) in OPERATIONS.items():
        documented = schema["paths"][path][method]
        assert documented["operationId"] == operation_id
        listed = {int(code) for code in documented["responses"]}
        assert set(answers[operation_id]) == listed, operation_id
        for code, response in answers[operation_id].items():
            content = documented["responses"][str(code)]["content"]["application/json"]
            if code >= 400:
                assert content["schema"] == {"$ref": "#/components/schemas/Error"}
                body = response.json()
                assert set(body) == {"code", "message", "errors"}, (operation_id, body)


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ('{"note": "%s"}' % ("x" * BODY_LIMIT), "application/json", 413),
        ("x", "text/plain", 415),
    ],
)
def test_the_end_endpoint_lists_the_answers_to_a_bad_body(
    bot, settings, body, content_type, status
):
    """POST …/end/ needs no body, but one that is sent is parsed: its refusals are listed."""
    settings.PORTAL = {**settings.PORTAL, "API_MAX_BODY_BYTES": BODY_LIMIT}
    escalated = bot.escalate(build_escalation_body())
    assert escalated.status_code == 201, escalated.content
    url = f"/api/v1/escalations/{escalated.json()['id']}/end/"
    response = bot.api.generic("POST", url, body, content_type)
    assert response.status_code == status, response.content
    assert set(response.json()) == {"code", "message", "errors"}
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert str(status) in schema["paths"]["/api/v1/escalations/{id}/end/"]["post"]["responses"]
