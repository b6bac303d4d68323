"""The chat panel's History: the customer's earlier chats that the user may open (the
interaction window's rule), counted and listed newest first, in a constant number of
queries; the endpoint answers only those who may open the chat itself."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from chat.models import Interaction, InteractionStatus
from config.users import Role, user_roles
from portal.history import RULE_CSR, RULE_MANAGER, customer_history
from portal.selectors import portal_panel_mode
from routing.models import Offer, OfferStatus
from supervision.models import SupervisedQueue
from tests.factories import (
    channel_factory,
    customer_factory,
    interaction_factory,
    queue_factory,
    user_factory,
)

pytestmark = pytest.mark.django_db


def _ended(*, customer, csr=None, minutes_ago: int, **fields) -> Interaction:
    interaction = interaction_factory(
        customer=customer,
        assigned_csr=csr,
        status=InteractionStatus.ENDED,
        ended_at=timezone.now() - timedelta(minutes=minutes_ago - 5),
        **fields,
    )
    Interaction.objects.filter(pk=interaction.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    interaction.refresh_from_db()
    return interaction


def _took_part(interaction: Interaction, csr) -> None:
    """`csr` accepted an offer of it (a transfer then moved it on)."""
    Offer.objects.create(
        interaction=interaction,
        csr=csr,
        queue=interaction.queue,
        status=OfferStatus.ACCEPTED,
        expires_at=timezone.now(),
        responded_at=timezone.now(),
    )


@pytest.fixture
def world(roles):
    """Dana's three earlier chats (Alex handled two, one of them handed on to Blake;
    Blake alone the third, in another queue), her live chat with Alex, and Erin's chat
    (another customer) that Alex handled."""
    billing, general = queue_factory(name="Billing"), queue_factory(name="General")
    web = channel_factory(name="Web", default_queue=billing)
    whatsapp = channel_factory(name="WhatsApp", default_queue=general)
    alex = user_factory(role=Role.CSR, first_name="Alex", last_name="Kim")
    blake = user_factory(role=Role.CSR, first_name="Blake", last_name="Chen")
    dana = customer_factory(name="Dana Reyes", external_id="cust-dana")
    first = _ended(customer=dana, csr=alex, minutes_ago=300, channel=web, intent="billing.refund")
    handed_on = _ended(customer=dana, csr=blake, minutes_ago=200, channel=web)
    _took_part(handed_on, alex)
    blakes = _ended(customer=dana, csr=blake, minutes_ago=100, channel=whatsapp, queue=general)
    live = interaction_factory(
        customer=dana,
        channel=web,
        assigned_csr=alex,
        status=InteractionStatus.ACTIVE,
        accepted_at=timezone.now(),
    )
    erin = _ended(customer=customer_factory(name="Erin"), csr=alex, minutes_ago=50, channel=web)
    return {
        "alex": alex,
        "blake": blake,
        "first": first,
        "handed_on": handed_on,
        "blakes": blakes,
        "live": live,
        "erin": erin,
        "general": general,
        "billing": billing,
    }


def _history(user, interaction):
    return customer_history(interaction=interaction, user=user, roles=user_roles(user))


def test_a_csr_sees_the_earlier_chats_they_handled_and_no_other(world):
    history = _history(world["alex"], world["live"])
    ids = [item["id"] for item in history["items"]]
    # Newest first; Blake's own chat with Dana is not Alex's to open, Erin is not Dana.
    assert ids == [world["handed_on"].pk, world["first"].pk]
    assert history["count"] == 2 and history["rule"] == RULE_CSR
    first = history["items"][1]
    assert first["channel"] == "Web" and first["queue"] == "Billing"
    assert first["csr"] == "Alex Kim" and first["intent"] == "billing.refund"
    assert first["status"] == "ended" and first["url"] == f"/interactions/{world['first'].pk}/"
    assert first["match"] == "customer_id"


def test_every_listed_chat_opens_and_every_unlisted_one_of_hers_does_not(world):
    """The list follows the interaction window's rule exactly (portal_panel_mode)."""
    for user in (world["alex"], world["blake"]):
        listed = {item["id"] for item in _history(user, world["live"])["items"]}
        for key in ("first", "handed_on", "blakes"):
            mode = portal_panel_mode(interaction=world[key], user=user, roles=user_roles(user))
            assert (world[key].pk in listed) == (mode is not None), (user, key)


def test_a_csr_opens_a_listed_chat_read_only_and_not_another_customers_or_an_unlisted_one(
    world,
):
    client = Client()
    client.force_login(world["alex"])
    response = client.get(f"/portal-api/interactions/{world['live'].pk}/history/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    opened = client.get(body["items"][0]["url"])
    assert opened.status_code == 200 and b"Read-only" in opened.content
    # Blake's chat with Dana is not listed, and not his to open either.
    assert client.get(f"/interactions/{world['blakes'].pk}/").status_code == 403
    assert world["erin"].pk not in [item["id"] for item in body["items"]]


def test_only_who_may_open_the_chat_gets_its_history(world):
    client = Client()
    url = f"/portal-api/interactions/{world['live'].pk}/history/"
    assert client.get(url).status_code == 401
    stranger = user_factory(role=Role.CSR)
    client.force_login(stranger)
    response = client.get(url)
    assert response.status_code == 403
    assert response.json()["message"] == "You may not open this interaction."
    assert client.get("/portal-api/interactions/999999999/history/").status_code == 403


def test_a_manager_sees_the_chats_of_the_queues_they_supervise(world):
    manager = user_factory(role=Role.CSR_MANAGER)
    everything = _history(manager, world["live"])
    assert everything["count"] == 3 and everything["rule"] == RULE_MANAGER
    SupervisedQueue.objects.create(manager=manager, queue=world["billing"])
    limited = _history(manager, world["live"])
    assert [item["id"] for item in limited["items"]] == [
        world["handed_on"].pk,
        world["first"].pk,
    ]


def test_the_same_verified_identity_brings_chats_from_another_channel(world):
    dana_wa = customer_factory(name="Dana", external_id="wa-1", verified_identity="dana@idp")
    elsewhere = _ended(
        customer=dana_wa,
        csr=world["alex"],
        minutes_ago=30,
        channel=channel_factory(name="WhatsApp 2"),
        authenticated=True,
    )
    Interaction.objects.filter(pk=world["live"].pk).update(
        customer_verified_identity="dana@idp", authenticated=True
    )
    world["live"].refresh_from_db()
    items = _history(world["alex"], world["live"])["items"]
    assert items[0]["id"] == elsewhere.pk and items[0]["match"] == "verified_identity"


def test_the_query_count_does_not_grow_with_the_history(world, django_assert_num_queries):
    alex, live = world["alex"], world["live"]
    with django_assert_num_queries(2):  # the user's roles, the page (offers as a subquery)
        small = _history(alex, live)
    for minutes in range(60, 90):
        _ended(customer=live.customer, csr=alex, minutes_ago=minutes, channel=live.channel)
    with django_assert_num_queries(3):  # and the count, once the page is full
        big = _history(alex, live)
    assert small["count"] == 2 and big["count"] == 32 and len(big["items"]) == 20
