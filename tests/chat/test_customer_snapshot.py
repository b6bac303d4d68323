"""An interaction keeps the customer as they were during it: a later chat of the same
customer (same external_id, e.g. the same browser's widget) under another name, email or
identity changes the Customer record, never the history of the earlier interaction."""

import importlib
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import Client

from chat import identity
from chat.models import Customer, Interaction, Message, SenderKind
from chat.services.authentication import interaction_authenticate
from chat.services.interactions import interaction_end
from chat.services.messages import message_send
from config.users import Role
from portal.services import roles_sync
from routing.events import offer_payload
from routing.models import CSRStatus, QueueMembership
from routing.services.answers import offer_accept
from routing.services.presence import csr_profile_ensure
from tests.chat.conftest import ESCALATIONS_URL, build_escalation_body, make_bot
from tests.factories import channel_factory, customer_factory, route_chat, user_factory

pytestmark = pytest.mark.django_db

SECRET = "web-identity-secret"
BROWSER = "widget-7f3a"  # the widget's customer id, the same for every chat in a browser


def escalate(bot, *, name: str, email: str, transcript_line: str, token=None) -> Interaction:
    body = build_escalation_body()
    body["customer"] = {"external_id": BROWSER, "name": name, "email": email}
    if token is not None:
        body["customer"]["identity_token"] = token
    body["transcript"] = [{"from": "customer", "text": transcript_line}]
    response = bot.escalate(body)
    assert response.status_code == 201, response.content
    return Interaction.objects.get(pk=response.json()["id"])


def csr_on(queue):
    csr = user_factory(role=Role.CSR, first_name="Alex", last_name="Morgan")
    profile = csr_profile_ensure(user=csr)
    profile.status = CSRStatus.AVAILABLE
    profile.save()
    QueueMembership.objects.create(user=csr, queue=queue, joined=True)
    return csr


@pytest.fixture
def history():
    """Dana Whitfield chats (bot line, live line, verified login, a line after it), then
    the same browser escalates again as "Sam" with another email while Dana's chat is
    still open; Dana writes once more and the CSR ends her chat."""
    roles_sync()
    bot = make_bot(channel=channel_factory(slug="web", identity_secret=SECRET))
    dana = escalate(
        bot, name="Dana Whitfield", email="dana@example.com", transcript_line="My card is blocked"
    )
    csr = csr_on(dana.queue)
    offer = route_chat(interaction_id=dana.pk)
    assert offer is not None
    offer_accept(offer_id=offer.pk, user=csr)
    message_send(
        interaction_id=dana.pk, sender_kind=SenderKind.CUSTOMER, text="Hello?", client_msg_id="d1"
    )
    interaction_authenticate(
        interaction_id=dana.pk,
        token=identity.sign(secret=SECRET, customer_id=BROWSER, identity="NB-1001 (Dana)"),
    )
    sam = escalate(bot, name="Sam", email="sam@example.com", transcript_line="Where is my parcel?")
    message_send(
        interaction_id=dana.pk,
        sender_kind=SenderKind.CUSTOMER,
        text="Still there?",
        client_msg_id="d2",
    )
    interaction_end(interaction_id=dana.pk, by=SenderKind.CSR, user=csr)
    dana.refresh_from_db()
    sam.refresh_from_db()
    return SimpleNamespace(bot=bot, dana=dana, sam=sam, csr=csr)


def manager_client() -> Client:
    client = Client()
    client.force_login(user_factory(role=Role.CSR_MANAGER))
    return client


def test_the_customer_record_follows_the_new_chat_and_each_interaction_keeps_its_own(history):
    """The Customer record now says Sam (the newest escalation), with the identity Dana
    proved; Dana's interaction keeps her name, email and verified identity, Sam's has his
    own and no verified identity (he proved none)."""
    customer = Customer.objects.get(external_id=BROWSER)
    assert (customer.name, customer.email) == ("Sam", "sam@example.com")
    assert customer.verified_identity == "NB-1001 (Dana)"
    assert history.dana.customer_id == history.sam.customer_id == customer.pk

    dana, sam = history.dana, history.sam
    assert (dana.customer_name, dana.customer_email) == ("Dana Whitfield", "dana@example.com")
    assert dana.customer_verified_identity == "NB-1001 (Dana)"
    assert (sam.customer_name, sam.customer_email) == ("Sam", "sam@example.com")
    assert sam.customer_verified_identity == ""
    # Her line written after Sam's escalation is still hers.
    authors = set(
        Message.objects.filter(interaction=dana, sender_kind=SenderKind.CUSTOMER).values_list(
            "author_name", flat=True
        )
    )
    assert authors == {"Dana Whitfield"}


def test_the_old_transcript_names_the_customer_as_she_was(history):
    """Dana's ChatTranscript.txt says "Customer: Dana Whitfield" in its header, as every
    line does, never Sam; the JSON transcript too."""
    client = manager_client()
    text = client.get(f"/interactions/{history.dana.pk}/ChatTranscript.txt")
    assert text.status_code == 200
    body = b"".join(text.streaming_content).decode()
    assert f"Customer: Dana Whitfield (customer ID {BROWSER})" in body
    assert "Dana Whitfield (customer): My card is blocked" in body
    assert "Dana Whitfield (customer): Still there?" in body
    assert "Sam" not in body

    data = client.get(f"/interactions/{history.dana.pk}/ChatTranscript.json")
    assert b'"name": "Dana Whitfield"' in b"".join(data.streaming_content)


def test_the_chat_panel_shows_each_interactions_customer(history):
    """The chat panel's header and Context show Dana (her email, her verified identity)
    for her chat, and Sam, without anyone's verified identity, for his."""
    client = manager_client()
    dana = client.get(f"/portal-api/interactions/{history.dana.pk}/panel/").json()
    sam = client.get(f"/portal-api/interactions/{history.sam.pk}/panel/").json()

    def context(panel):
        return {item["key"]: item["value"] for item in panel["customer"]["metadata"]}

    assert dana["customer"]["name"] == "Dana Whitfield"
    assert context(dana)["Email"] == "dana@example.com"
    assert context(dana)["Verified identity"] == "NB-1001 (Dana)"
    assert sam["customer"]["name"] == "Sam"
    assert context(sam)["Email"] == "sam@example.com"
    assert "Verified identity" not in context(sam)

    page = client.get(f"/interactions/{history.dana.pk}/")
    assert page.status_code == 200
    assert f"Interaction {history.dana.pk} · Dana Whitfield" in page.content.decode()


def test_the_admin_lists_each_interaction_with_its_own_customer(history):
    """The admin's interaction list shows Dana for her chat and Sam for his, and finds
    Dana's chat by her name."""
    admin = user_factory(role=Role.ADMINISTRATOR)
    client = Client()
    client.force_login(admin)
    response = client.get("/admin/chat/interaction/")
    rows = {row.pk: row.customer_name for row in response.context["cl"].result_list}
    assert rows == {history.dana.pk: "Dana Whitfield", history.sam.pk: "Sam"}
    page = response.content.decode()
    assert "Dana Whitfield" in page
    found = client.get("/admin/chat/interaction/", {"q": "Whitfield"})
    assert [i.pk for i in found.context["cl"].result_list] == [history.dana.pk]


def test_offers_and_the_connector_api_read_the_interactions_copy(history):
    """An offer of Sam's chat names Sam, though a newer chat renamed the customer before
    it was routed; the connector's authentication answer reports the identity proved in
    that chat."""
    escalate(history.bot, name="Robin", email="robin@example.com", transcript_line="Hi")
    offer = route_chat(interaction_id=history.sam.pk)
    assert offer is not None
    assert offer_payload(offer)["customer_name"] == "Sam"

    response = history.bot.api.post(
        f"{ESCALATIONS_URL}{history.sam.pk}/authentication/",
        {"token": identity.sign(secret=SECRET, customer_id=BROWSER, identity="NB-2002 (Sam)")},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["verified_identity"] == "NB-2002 (Sam)"
    history.dana.refresh_from_db()
    assert history.dana.customer_verified_identity == "NB-1001 (Dana)"


def test_an_escalation_with_a_valid_identity_token_keeps_that_identity():
    """A chat that arrives authenticated keeps the identity its token proved."""
    bot = make_bot(channel=channel_factory(slug="web", identity_secret=SECRET))
    chat = escalate(
        bot,
        name="Dana Whitfield",
        email="dana@example.com",
        transcript_line="Hi",
        token=identity.sign(secret=SECRET, customer_id=BROWSER, identity="NB-1001 (Dana)"),
    )
    assert chat.authenticated
    assert chat.customer_verified_identity == "NB-1001 (Dana)"


def test_the_migration_fills_existing_interactions_from_what_they_showed():
    """The data migration gives existing interactions their customer's details: the name
    the customer's own messages were stored under (so a chat already renamed gets its
    name back), else the customer's; the verified identity only if it was authenticated."""
    migration = importlib.import_module("chat.migrations.0006_interaction_customer_snapshot")
    customer = customer_factory(
        name="Sam", email="sam@example.com", verified_identity="NB-1001", metadata={"plan": "gold"}
    )
    renamed = Interaction.objects.create(
        customer=customer,
        channel=channel_factory(),
        queue_id=channel_factory().default_queue_id,
        authenticated=True,
    )
    Message.objects.create(
        interaction=renamed, seq=1, sender_kind=SenderKind.CUSTOMER, author_name="Dana", text="Hi"
    )
    silent = Interaction.objects.create(
        customer=customer, channel=renamed.channel, queue_id=renamed.queue_id
    )
    from django.apps import apps

    migration.snapshot_fill(apps, SimpleNamespace(connection=connection))

    renamed.refresh_from_db()
    silent.refresh_from_db()
    assert (renamed.customer_name, renamed.customer_email) == ("Dana", "sam@example.com")
    assert renamed.customer_verified_identity == "NB-1001"
    assert renamed.customer_metadata == {"plan": "gold"}
    assert (silent.customer_name, silent.customer_verified_identity) == ("Sam", "")
