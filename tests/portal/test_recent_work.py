"""Recent work: every interaction a CSR took part in (a transferred chat too), with the
interaction's real start, the CSR's own parts and the whole duration; search, filters,
pages, and clear 400s for bad filter values."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chat.models import InteractionStatus, Message, SenderKind
from chat.services.interactions import interaction_end
from chat.services.messages import message_send
from config.users import Role
from portal.selectors import (
    RecentWorkQuery,
    csr_recent_work,
    portal_panel_mode,
    recent_work_rows,
)
from routing.models import Offer, OfferStatus, QueueMembership
from routing.services.answers import offer_accept
from routing.services.presence import csr_status_set
from routing.services.transfers import interaction_transfer_to_queue
from tests.factories import (
    channel_factory,
    customer_factory,
    interaction_factory,
    queue_factory,
    route_chat,
    user_factory,
)

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def billing(roles):
    return queue_factory(name="Billing", slug="billing")


@pytest.fixture
def general(roles):
    return queue_factory(name="General", slug="general")


@pytest.fixture
def web(billing):
    return channel_factory(name="Web messaging", slug="web", default_queue=billing)


def csr_in(*queues, first_name: str):
    """A CSR who joined `queues` and is Available."""
    csr = user_factory(role=Role.CSR, first_name=first_name, last_name="Doe")
    for queue in queues:
        QueueMembership.objects.create(user=csr, queue=queue, joined=True)
    csr_status_set(user=csr, status="available")
    return csr


def accept(interaction, csr) -> None:
    """Route the chat's queue and have `csr` accept the offer it made them."""
    route_chat(interaction_id=interaction.pk)
    offer = Offer.objects.get(interaction=interaction, status=OfferStatus.PENDING)
    assert offer.csr_id == csr.pk
    offer_accept(offer_id=offer.pk, user=csr)


def park(csr) -> None:
    """Out of routing's way (Away), so that the next offer goes to another CSR."""
    csr_status_set(user=csr, status="away", away_reason_code="break")


def at(interaction, minutes: int):
    return interaction.created_at + timedelta(minutes=minutes)


def move_accepted(interaction, csr, minutes: int) -> None:
    """Date the CSR's acceptance `minutes` after the interaction started (tests need
    parts of known length; the services stamp the current time)."""
    Offer.objects.filter(interaction=interaction, csr=csr, status=OfferStatus.ACCEPTED).update(
        responded_at=at(interaction, minutes)
    )


@pytest.fixture
def transferred(billing, general, web):
    """A chat escalated 30 minutes ago into Billing: Alex takes it, transfers it to
    General, Blake takes it and ends it. Alex's part: 3 → 10 min, Blake's: 10 → 25."""
    alex = csr_in(billing, first_name="Alex")
    blake = csr_in(general, first_name="Blake")
    park(blake)
    customer = customer_factory(name="Dana Whitfield")
    interaction = interaction_factory(
        channel=web, queue=billing, customer=customer, status=InteractionStatus.QUEUED
    )
    accept(interaction, alex)
    message_send(
        interaction_id=interaction.pk,
        sender_kind=SenderKind.CUSTOMER,
        text="My card 4417 was charged twice",
        client_msg_id="m-1",
    )
    interaction_transfer_to_queue(interaction_id=interaction.pk, user=alex, queue=general)
    csr_status_set(user=blake, status="available")
    accept(interaction, blake)
    interaction_end(interaction_id=interaction.pk, by=SenderKind.CSR, user=blake)
    interaction.refresh_from_db()
    started = timezone.now() - timedelta(minutes=30)
    type(interaction).objects.filter(pk=interaction.pk).update(
        created_at=started, ended_at=started + timedelta(minutes=25)
    )
    interaction.refresh_from_db()
    move_accepted(interaction, alex, 3)
    move_accepted(interaction, blake, 10)
    return interaction, alex, blake


def test_every_csr_who_took_part_sees_the_chat_with_their_own_part(transferred):
    """The CSR who handled the first part of a transferred chat sees it too; each sees
    the interaction's real start, their own part and the whole duration."""
    interaction, alex, blake = transferred
    for csr, (start, end) in ((alex, (3, 10)), (blake, (10, 25))):
        found = list(csr_recent_work(user=csr))
        assert found == [interaction]
        [row] = recent_work_rows(interactions=found, user=csr)
        assert row.started_at == interaction.created_at
        assert [(p.start, p.end) for p in row.parts] == [
            (at(interaction, start), at(interaction, end))
        ]
        assert row.duration == "25 min 0 s"
        assert row.handled_by == ""


def test_the_page_shows_start_own_part_and_whole_duration(transferred):
    interaction, alex, _ = transferred
    response = login(alex).get(reverse("portal:recent_work"))
    assert response.status_code == 200
    content = response.content.decode()
    local = timezone.localtime
    assert local(interaction.created_at).strftime("%d %b %Y, %H:%M") in content  # started
    assert f"{local(at(interaction, 3)):%H:%M}" in content  # Alex's part starts...
    assert "7 min 0 s" in content  # ...and lasts 7 minutes
    assert "25 min 0 s" in content  # the whole interaction
    assert "Dana Whitfield" in content


def test_a_chat_given_back_to_a_csr_has_two_parts(transferred):
    """Alex hands the chat on and gets it back: two parts, each to the next acceptance."""
    interaction, alex, blake = transferred
    Offer.objects.create(
        interaction=interaction,
        csr=alex,
        queue=interaction.queue,
        status=OfferStatus.ACCEPTED,
        created_at=at(interaction, 15),
        expires_at=at(interaction, 16),
        responded_at=at(interaction, 15),
    )
    [row] = recent_work_rows(interactions=[interaction], user=alex)
    assert [(p.start, p.end) for p in row.parts] == [
        (at(interaction, 3), at(interaction, 10)),
        (at(interaction, 15), at(interaction, 25)),
    ]
    [blakes] = recent_work_rows(interactions=[interaction], user=blake)
    assert [(p.start, p.end) for p in blakes.parts] == [(at(interaction, 10), at(interaction, 15))]


def test_a_chat_handed_on_and_still_open_is_listed_with_who_has_it(billing, general, web):
    """Alex transferred it, Blake has it now: in Alex's Recent work (not in Blake's, who
    works it in My Work), with Blake named and no end yet."""
    alex = csr_in(billing, first_name="Alex")
    blake = csr_in(general, first_name="Blake")
    park(blake)
    interaction = interaction_factory(channel=web, queue=billing, status=InteractionStatus.QUEUED)
    accept(interaction, alex)
    assert list(csr_recent_work(user=alex)) == []  # still Alex's: in My Work
    interaction_transfer_to_queue(interaction_id=interaction.pk, user=alex, queue=general)
    assert list(csr_recent_work(user=alex)) == []  # Alex keeps it until someone accepts
    csr_status_set(user=blake, status="available")
    accept(interaction, blake)
    assert list(csr_recent_work(user=alex)) == [interaction]
    assert list(csr_recent_work(user=blake)) == []
    [row] = recent_work_rows(interactions=list(csr_recent_work(user=alex)), user=alex)
    assert row.handled_by == "Blake Doe"
    response = login(alex).get(reverse("portal:recent_work"))
    assert "with Blake Doe" in response.content.decode()
    assert "ongoing" in response.content.decode()


def test_a_csr_who_handled_a_part_opens_it_read_only_and_others_do_not(transferred):
    interaction, alex, _ = transferred
    stranger = user_factory(role=Role.CSR)
    roles = {Role.CSR}
    assert portal_panel_mode(interaction=interaction, user=alex, roles=roles) == "read_only"
    assert portal_panel_mode(interaction=interaction, user=stranger, roles=roles) is None
    assert login(alex).get(reverse("portal:interaction", args=[interaction.pk])).status_code == 200
    url = reverse("portal:interaction", args=[interaction.pk])
    assert login(stranger).get(url).status_code == 403


def test_declined_or_missed_offers_are_not_taking_part(billing, web):
    alex = csr_in(billing, first_name="Alex")
    interaction = interaction_factory(channel=web, queue=billing, status=InteractionStatus.QUEUED)
    route_chat(interaction_id=interaction.pk)
    Offer.objects.filter(interaction=interaction).update(status=OfferStatus.DECLINED)
    interaction_end(interaction_id=interaction.pk, by=SenderKind.CUSTOMER)
    assert list(csr_recent_work(user=alex)) == []


# --- Search and filters --------------------------------------------------------------------


@pytest.fixture
def history(billing, general, web):
    """Three ended chats of Alex's: different customers, queues, channels and days."""
    alex = user_factory(role=Role.CSR, first_name="Alex")
    facebook = channel_factory(name="Facebook Messenger", slug="facebook", default_queue=billing)
    now = timezone.now()

    def chat(name, *, queue, channel, days_ago, text):
        start = now - timedelta(days=days_ago)
        interaction = interaction_factory(
            channel=channel,
            queue=queue,
            customer=customer_factory(name=name),
            status=InteractionStatus.ENDED,
            assigned_csr=alex,
            created_at=start,
            accepted_at=start + timedelta(minutes=1),
            ended_at=start + timedelta(minutes=9),
        )
        Message.objects.create(
            interaction=interaction, seq=1, sender_kind=SenderKind.CUSTOMER, text=text
        )
        return interaction

    chats = {
        "dana": chat("Dana Whitfield", queue=billing, channel=web, days_ago=0, text="refund me"),
        "sam": chat("Sam Ortiz", queue=general, channel=facebook, days_ago=3, text="order 1017"),
        "kim": chat("Kim Lee", queue=billing, channel=facebook, days_ago=10, text="password reset"),
    }
    return alex, chats


def ids(response) -> list[int]:
    return [row.interaction.pk for row in response.context["rows"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["dana", "sam", "kim"]),
        ({"q": "whitf"}, ["dana"]),  # the customer's name, any case
        ({"q": "ORDER 10"}, ["sam"]),  # a message's text
        ({"queue": "billing"}, ["dana", "kim"]),
        ({"channel": "facebook"}, ["sam", "kim"]),
        ({"queue": "billing", "channel": "facebook"}, ["kim"]),
        ({"q": "nobody"}, []),
    ],
)
def test_search_and_filters(history, params, expected):
    alex, chats = history
    response = login(alex).get(reverse("portal:recent_work"), params)
    assert response.status_code == 200
    assert ids(response) == [chats[name].pk for name in expected]


def test_search_by_interaction_id(history):
    alex, chats = history
    client = login(alex)
    for text in (str(chats["sam"].pk), f"#{chats['sam'].pk}"):
        response = client.get(reverse("portal:recent_work"), {"q": text})
        assert chats["sam"].pk in ids(response)


def test_date_range_covers_whole_days_in_the_portals_time_zone(history):
    alex, chats = history
    today = timezone.localdate()
    client = login(alex)
    window = {"start": str(today - timedelta(days=4)), "end": str(today - timedelta(days=1))}
    assert ids(client.get(reverse("portal:recent_work"), window)) == [chats["sam"].pk]
    only_today = {"start": str(today), "end": str(today)}
    assert ids(client.get(reverse("portal:recent_work"), only_today)) == [chats["dana"].pk]


def test_pages_keep_the_filters(billing, web):
    alex = user_factory(role=Role.CSR)
    now = timezone.now()
    for n in range(30):
        interaction_factory(
            channel=web,
            queue=billing,
            status=InteractionStatus.ENDED,
            assigned_csr=alex,
            created_at=now - timedelta(minutes=n),
            ended_at=now,
        )
    response = login(alex).get(reverse("portal:recent_work"), {"queue": "billing"})
    assert len(response.context["rows"]) == 25
    assert 'href="?queue=billing&amp;page=2"' in response.content.decode()
    second = login(alex).get(reverse("portal:recent_work"), {"queue": "billing", "page": 2})
    assert len(second.context["rows"]) == 5


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "yesterday"}, "Enter the date as YYYY-MM-DD"),
        ({"end": "2026-02-30"}, "Enter the date as YYYY-MM-DD"),
        ({"end": "9999-12-31"}, "Enter a date between 1970-01-01 and 9998-12-31."),
        ({"start": "0001-01-01"}, "Enter a date between 1970-01-01 and 9998-12-31."),
        ({"start": "2026-03-02", "end": "2026-03-01"}, "The end date is before the start date."),
        ({"queue": "no-such-queue"}, "There is no such queue: choose one from the list."),
        ({"channel": "<b>x</b>"}, "There is no such channel: choose one from the list."),
        ({"page": "abc"}, "The page number must be a whole number."),
        ({"page": "0"}, "Pages are numbered from 1."),
        ({"page": "9" * 5000}, "The page number must be a whole number."),
        ({"q": "x" * 201}, "Search for at most 200 characters."),
        ({"q": "a\x00b"}, "The search cannot contain NUL characters."),
    ],
)
def test_bad_filter_values_get_a_clear_400(history, params, message):
    alex, _ = history
    response = login(alex).get(reverse("portal:recent_work"), params)
    assert response.status_code == 400
    content = response.content.decode()
    assert message in content
    assert "Check the search and filters" in content
    assert response.context["rows"] == []


def test_the_recent_work_query_filters_in_the_database(history):
    """RecentWorkQuery can be used without the form (the selector's own contract)."""
    alex, chats = history
    query = RecentWorkQuery(text="refund", channel_id=chats["dana"].channel_id)
    assert list(csr_recent_work(user=alex, query=query)) == [chats["dana"]]


def test_a_part_lost_with_the_connection_ends_when_it_was_lost(billing, general, web):
    """Alex goes Offline holding the chat: it goes back in line and Alex's part ends
    there, not when Blake accepts it later."""
    from routing.services.presence import interaction_requeue_lost_csr

    alex = csr_in(billing, first_name="Alex")
    blake = csr_in(billing, first_name="Blake")
    park(blake)
    interaction = interaction_factory(channel=web, queue=billing, status=InteractionStatus.QUEUED)
    accept(interaction, alex)
    csr_status_set(user=alex, status="offline")
    assert interaction_requeue_lost_csr(interaction_id=interaction.pk)
    csr_status_set(user=blake, status="available")
    accept(interaction, blake)
    move_accepted(interaction, alex, 3)
    move_accepted(interaction, blake, 20)
    Message.objects.filter(interaction=interaction, event="requeued").update(
        created_at=at(interaction, 8)
    )
    [row] = recent_work_rows(interactions=[interaction], user=alex)
    assert [(p.start, p.end) for p in row.parts] == [(at(interaction, 3), at(interaction, 8))]
    [blakes] = recent_work_rows(interactions=[interaction], user=blake)
    assert [(p.start, p.end) for p in blakes.parts] == [(at(interaction, 20), None)]
