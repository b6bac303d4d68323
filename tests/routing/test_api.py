"""The CSR's routing operations over HTTP/JSON: session auth, CSRF, roles, clear errors."""

import pytest
from django.test import Client

from chat.models import Interaction, InteractionStatus
from config.users import Role
from routing.models import CSRProfile, CSRStatus, Offer, OfferStatus, QueueMembership
from routing.services.answers import offer_accept
from tests.factories import queue_factory, route_chat, user_factory

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_user(django_capture_on_commit_callbacks):
    """A logged-in JSON client that runs what a request queues after commit."""

    class JSONClient:
        def __init__(self, user):
            self.client = Client(enforce_csrf_checks=True)
            self.client.force_login(user)
            self.client.get("/accounts/login/")  # a page with a form sets the CSRF cookie
            self.csrf = self.client.cookies["csrftoken"].value

        def get(self, url):
            return self.client.get(url)

        def post(self, url, data=None, csrf=True):
            headers = {"X-CSRFToken": self.csrf} if csrf else {}
            with django_capture_on_commit_callbacks(execute=True):
                return self.client.post(
                    url, data or {}, content_type="application/json", headers=headers
                )

    return JSONClient


def _offer_to(csr, make_interaction):
    interaction = make_interaction()
    return route_chat(interaction_id=interaction.pk)


def test_state_needs_a_logged_in_csr(client, make_csr):
    assert client.get("/api/v1/agent/state/").status_code == 403
    manager = user_factory(role=Role.CSR_MANAGER)
    client.force_login(manager)
    response = client.get("/api/v1/agent/state/")
    assert response.status_code == 403
    assert response.json()["message"] == "Only CSRs may do this."


def test_state_shows_status_queues_and_the_pending_offer(as_user, make_csr, make_interaction):
    csr = make_csr()
    offer = _offer_to(csr, make_interaction)
    body = as_user(csr).get("/api/v1/agent/state/").json()
    assert body["status"] == "available"
    assert body["pending_offer"]["offer_id"] == offer.pk
    assert body["queues"][0]["joined"] is True
    assert {"code": "break", "label": "Break"} in body["away_reasons"]


def test_posts_without_the_csrf_token_are_refused(as_user, make_csr):
    csr = make_csr(status=CSRStatus.OFFLINE)
    response = as_user(csr).post("/api/v1/agent/status/", {"status": "available"}, csrf=False)
    assert response.status_code == 403
    assert CSRProfile.objects.get(user=csr).status == CSRStatus.OFFLINE


def test_setting_status_with_clear_errors(as_user, make_csr):
    csr = make_csr(status=CSRStatus.OFFLINE)
    api = as_user(csr)
    assert api.post("/api/v1/agent/status/", {"status": "available"}).json()["status"] == (
        "available"
    )
    refused = api.post("/api/v1/agent/status/", {"status": "away"})
    assert refused.status_code == 400
    assert refused.json()["message"] == "Choose a reason for being Away."
    bad = api.post("/api/v1/agent/status/", {"status": "asleep"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "status"
    away = api.post("/api/v1/agent/status/", {"status": "away", "reason": "lunch"}).json()
    assert (away["status"], away["away_reason"]) == ("away", "Lunch")


def test_joining_and_leaving_queues(as_user, make_csr, queue):
    csr = make_csr(joined=False)
    billing = queue_factory(name="Billing", slug="billing")
    api = as_user(csr)
    joined = api.post("/api/v1/agent/queues/general/join/").json()
    assert joined["queues"][0]["joined"] is True
    refused = api.post("/api/v1/agent/queues/billing/join/")
    assert refused.status_code == 403
    assert refused.json()["message"] == "You may not join the Billing queue: ask an administrator."
    assert not QueueMembership.objects.filter(user=csr, queue=billing).exists()
    api.post("/api/v1/agent/queues/general/leave/")
    assert not QueueMembership.objects.get(user=csr, queue=queue).joined
    assert api.post("/api/v1/agent/queues/nope/join/").status_code == 404


def test_accept_and_the_losing_accept(as_user, make_csr, make_interaction):
    csr = make_csr()
    offer = _offer_to(csr, make_interaction)
    api = as_user(csr)
    accepted = api.post(f"/api/v1/agent/offers/{offer.pk}/accept/")
    assert accepted.status_code == 200
    assert accepted.json() == {"interaction_id": offer.interaction_id, "status": "active"}
    again = api.post(f"/api/v1/agent/offers/{offer.pk}/accept/")
    assert again.status_code == 409
    assert again.json()["message"] == "This chat is no longer available."


def test_a_csr_cannot_answer_another_csrs_offer(as_user, make_csr, make_interaction):
    owner = make_csr()
    offer = _offer_to(owner, make_interaction)
    intruder = make_csr(joined=False)
    response = as_user(intruder).post(f"/api/v1/agent/offers/{offer.pk}/decline/")
    assert response.status_code == 403
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.PENDING


def test_decline_with_a_reason(as_user, make_csr, make_interaction):
    csr = make_csr()
    offer = _offer_to(csr, make_interaction)
    response = as_user(csr).post(
        f"/api/v1/agent/offers/{offer.pk}/decline/", {"reason": "Wrong language"}
    )
    assert response.json()["status"] == "declined"
    assert Offer.objects.get(pk=offer.pk).reason == "Wrong language"


def test_transfer_targets_list_only_csrs_who_can_take_it_now(as_user, make_csr, make_interaction):
    me = make_csr(username="me")
    offer = _offer_to(me, make_interaction)
    offer_accept(offer_id=offer.pk, user=me)
    free = make_csr(username="free", joined=False)
    make_csr(username="away", status=CSRStatus.AWAY, joined=False)
    full = make_csr(username="full", capacity=1, joined=False)
    Interaction.objects.filter(pk=make_interaction().pk).update(
        status=InteractionStatus.ACTIVE, assigned_csr=full
    )
    api = as_user(me)
    body = api.get(f"/api/v1/interactions/{offer.interaction_id}/transfer-targets/").json()
    assert [c["username"] for c in body["csrs"]] == [free.username]
    assert [q["slug"] for q in body["queues"]] == ["general"]
    searched = api.get(
        f"/api/v1/interactions/{offer.interaction_id}/transfer-targets/?q=nobody"
    ).json()
    assert searched["csrs"] == []


def test_transfer_to_a_queue_and_to_a_csr(as_user, make_csr, make_interaction):
    me = make_csr(username="me")
    offer = _offer_to(me, make_interaction)
    offer_accept(offer_id=offer.pk, user=me)
    target = make_csr(username="target", joined=False)
    api = as_user(me)
    url = f"/api/v1/interactions/{offer.interaction_id}/transfer/"
    both = api.post(url, {"queue": "general", "csr": target.pk})
    assert both.status_code == 400
    assert both.json()["message"]
    to_csr = api.post(url, {"csr": target.pk, "note": "speaks Spanish"})
    assert to_csr.status_code == 200
    assert Offer.objects.get(pk=to_csr.json()["offer_id"]).note == "speaks Spanish"


def test_only_the_handling_csr_may_transfer(as_user, make_csr, make_interaction):
    me = make_csr()
    offer = _offer_to(me, make_interaction)
    offer_accept(offer_id=offer.pk, user=me)
    other = make_csr(joined=False)
    response = as_user(other).post(
        f"/api/v1/interactions/{offer.interaction_id}/transfer/", {"queue": "general"}
    )
    assert response.status_code == 403
    assert response.json()["message"] == "You are not handling this chat."
    assert Interaction.objects.get(pk=offer.interaction_id).assigned_csr == me
