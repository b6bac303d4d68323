"""The portal pages: who may open what, what Recent work and the interaction window show,
and how many queries the main pages take."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chat.models import AppStudioSettings, ChannelKind, InteractionStatus, Message, SenderKind
from config.users import Role
from portal.selectors import (
    COBROWSE_OFF_IN_APP_STUDIO,
    COBROWSE_PUBLIC_CHANNEL,
)
from tests.factories import channel_factory, customer_factory, interaction_factory, user_factory

XSS = "<script>alert(1)</script>"


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def csr(roles):
    return user_factory(role=Role.CSR, first_name="Alex", last_name="Morgan")


@pytest.fixture
def other_csr(roles):
    return user_factory(role=Role.CSR, first_name="Blake", last_name="Chen")


def active_chat(csr, **overrides):
    now = timezone.now()
    return interaction_factory(
        status=InteractionStatus.ACTIVE, assigned_csr=csr, accepted_at=now, **overrides
    )


def ended_chat(csr, *, ended_minutes_ago: int = 0, **overrides):
    """Escalated 6 minutes before it ended, accepted 5 minutes before."""
    ended = timezone.now() - timedelta(minutes=ended_minutes_ago)
    fields = {
        "status": InteractionStatus.ENDED,
        "assigned_csr": csr,
        "created_at": ended - timedelta(minutes=6),
        "accepted_at": ended - timedelta(minutes=5),
        "ended_at": ended,
        "ended_by": "csr",
    }
    return interaction_factory(**{**fields, **overrides})


def add_message(interaction, text: str, *, kind=SenderKind.CUSTOMER, pre: bool = False):
    interaction.last_seq += 1
    interaction.save(update_fields=["last_seq"])
    return Message.objects.create(
        interaction=interaction,
        seq=interaction.last_seq,
        sender_kind=kind,
        text=text,
        pre_escalation=pre,
    )


# --- Access -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["portal:home", "portal:recent_work"])
def test_anonymous_users_are_sent_to_the_login_page(name):
    """Nobody unauthenticated sees a page: they get the login page, then come back."""
    url = reverse(name)
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.django_db
def test_anonymous_users_cannot_open_an_interaction_or_its_panel_data():
    interaction = interaction_factory()
    response = Client().get(reverse("portal:interaction", args=[interaction.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    response = Client().get(reverse("portal:api-interaction-panel", args=[interaction.pk]))
    assert response.status_code == 401


@pytest.mark.django_db
def test_the_login_page_has_a_form_with_a_csrf_token():
    response = Client(enforce_csrf_checks=True).get(reverse("login"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "csrfmiddlewaretoken" in content
    assert "Log in to the Interaction Portal" in content


def test_a_csr_lands_on_my_work(csr):
    response = login(csr).get(reverse("portal:home"))
    assert response.status_code == 200
    assert response.templates[0].name == "portal/my_work.html"
    content = response.content.decode()
    assert 'id="status-select"' in content
    assert 'role="dialog"' in content and 'aria-modal="true"' in content
    assert "portal/js/my-work.js" in content


def test_a_csr_manager_lands_on_the_live_interactions(manager, csr):
    live = active_chat(csr)
    ended = ended_chat(csr)
    response = login(manager).get(reverse("portal:home"))
    assert response.status_code == 200
    assert response.templates[0].name == "portal/live_interactions.html"
    content = response.content.decode()
    assert reverse("portal:interaction", args=[live.pk]) in content
    assert reverse("portal:interaction", args=[ended.pk]) not in content


def test_administrators_are_sent_to_the_admin(administrator):
    response = login(administrator).get(reverse("portal:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_a_user_without_a_role_is_told_so(roles):
    response = login(user_factory()).get(reverse("portal:home"))
    assert response.status_code == 403
    assert "no portal role" in response.content.decode()


def test_recent_work_and_interactions_are_for_csrs_and_managers_only(administrator, manager):
    interaction = interaction_factory()
    admin = login(administrator)
    assert admin.get(reverse("portal:recent_work")).status_code == 403
    assert admin.get(reverse("portal:interaction", args=[interaction.pk])).status_code == 403
    assert login(manager).get(reverse("portal:recent_work")).status_code == 403


def test_a_csr_opens_their_own_live_chat(csr):
    interaction = active_chat(csr)
    response = login(csr).get(reverse("portal:interaction", args=[interaction.pk]))
    assert response.status_code == 200
    assert response.context["mode"] == "live"
    assert response.context["panel"]["mode"] == "live"


def test_another_csr_gets_403_on_a_chat_that_is_not_theirs(csr, other_csr):
    interaction = active_chat(csr)
    add_message(interaction, "private words")
    client = login(other_csr)
    response = client.get(reverse("portal:interaction", args=[interaction.pk]))
    assert response.status_code == 403
    assert b"private words" not in response.content
    response = client.get(reverse("portal:api-interaction-panel", args=[interaction.pk]))
    assert response.status_code == 403
    # Nor a chat that is still waiting for a CSR, nor one someone else ended.
    waiting = interaction_factory()
    assert client.get(reverse("portal:interaction", args=[waiting.pk])).status_code == 403
    ended = ended_chat(csr)
    assert client.get(reverse("portal:interaction", args=[ended.pk])).status_code == 403


def test_an_unknown_interaction_is_404_for_csrs(csr):
    assert login(csr).get(reverse("portal:interaction", args=[999999])).status_code == 404


def test_a_csr_manager_opens_any_interaction_read_only(manager, csr):
    live = active_chat(csr)
    ended = ended_chat(csr)
    client = login(manager)
    response = client.get(reverse("portal:interaction", args=[live.pk]))
    assert response.status_code == 200
    assert response.context["mode"] == "observer"
    assert "You are watching this chat read-only." in response.content.decode()
    response = client.get(reverse("portal:interaction", args=[ended.pk]))
    assert response.context["mode"] == "read_only"
    panel = client.get(reverse("portal:api-interaction-panel", args=[live.pk])).json()
    assert panel["mode"] == "observer"


def test_panel_data_for_the_csr_handling_the_chat(csr):
    customer = customer_factory(
        name="Dana Reyes", email="dana@example.com", metadata={"tier": "gold"}
    )
    interaction = active_chat(
        csr, customer=customer, intent="billing.refund", context={"order": "A-17", "items": [1, 2]}
    )
    data = login(csr).get(reverse("portal:api-interaction-panel", args=[interaction.pk])).json()
    assert data["id"] == interaction.pk
    assert data["mode"] == "live"
    assert data["intent"] == "billing.refund"
    assert data["customer"]["name"] == "Dana Reyes"
    assert {"key": "Email", "value": "dana@example.com"} in data["customer"]["metadata"]
    assert {"key": "tier", "value": "gold"} in data["customer"]["metadata"]
    assert sorted(data["context"], key=lambda item: item["key"]) == [
        {"key": "items", "value": "[1, 2]"},
        {"key": "order", "value": "A-17"},
    ]
    assert data["actions"]["cobrowse"] == ""  # Start co-browse is enabled
    assert data["cobrowse"] is None  # no session yet
    assert data["max_message_length"] == 5000


def test_start_cobrowse_says_why_it_is_disabled(csr):
    client = login(csr)
    public = active_chat(csr, channel=channel_factory(kind=ChannelKind.WHATSAPP))
    data = client.get(reverse("portal:api-interaction-panel", args=[public.pk])).json()
    assert data["actions"]["cobrowse"] == COBROWSE_PUBLIC_CHANNEL
    AppStudioSettings.objects.update_or_create(
        pk=AppStudioSettings.SINGLETON_ID, defaults={"cobrowse_enabled": False}
    )
    from chat.selectors.settings import app_studio_cache_invalidate

    app_studio_cache_invalidate()
    private = active_chat(csr)
    data = client.get(reverse("portal:api-interaction-panel", args=[private.pk])).json()
    assert data["actions"]["cobrowse"] == COBROWSE_OFF_IN_APP_STUDIO


# --- Recent work ------------------------------------------------------------------------------


def test_recent_work_lists_only_the_csrs_ended_chats_newest_first(csr, other_csr):
    older = ended_chat(csr, ended_minutes_ago=60, customer=customer_factory(name="Older One"))
    newer = ended_chat(csr, ended_minutes_ago=5, customer=customer_factory(name="Newer One"))
    active_chat(csr, customer=customer_factory(name="Still Active"))
    ended_chat(other_csr, customer=customer_factory(name="Someone Else's"))
    response = login(csr).get(reverse("portal:recent_work"))
    assert response.status_code == 200
    assert [i.pk for i in response.context["page"].object_list] == [newer.pk, older.pk]
    content = response.content.decode()
    assert "Newer One" in content and "Older One" in content
    assert "Still Active" not in content and "Someone Else" not in content
    assert "5 min 0 s" in content  # accepted 5 minutes before it ended
    assert reverse("portal:interaction", args=[newer.pk]) in content


def test_recent_work_is_paginated_25_a_page(csr):
    chats = [ended_chat(csr, ended_minutes_ago=n) for n in range(30)]
    client = login(csr)
    first = client.get(reverse("portal:recent_work"))
    assert [i.pk for i in first.context["page"].object_list] == [c.pk for c in chats[:25]]
    assert "Page 1 of 2" in first.content.decode()
    second = client.get(reverse("portal:recent_work"), {"page": 2})
    assert [i.pk for i in second.context["page"].object_list] == [c.pk for c in chats[25:]]
    # A page out of range shows the last page rather than an error.
    assert client.get(reverse("portal:recent_work"), {"page": 9}).context["page"].number == 2


def test_an_ended_interaction_opens_read_only_with_its_history_escaped(csr):
    interaction = ended_chat(csr, customer=customer_factory(name="<b>Dana</b>"))
    add_message(interaction, "Hello bot", pre=True)
    add_message(interaction, "I can help with FAQs", kind=SenderKind.BOT, pre=True)
    add_message(interaction, XSS)
    add_message(interaction, "Alex Morgan ended the chat", kind=SenderKind.SYSTEM)
    response = login(csr).get(reverse("portal:interaction", args=[interaction.pk]))
    assert response.status_code == 200
    assert response.context["mode"] == "read_only"
    content = response.content.decode()
    assert XSS not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<b>Dana</b>" not in content
    assert "&lt;b&gt;Dana&lt;/b&gt;" in content
    assert "This interaction has ended. You are viewing it read-only." in content
    assert "Bot conversation before escalation" in content
    assert content.count("I can help with FAQs") == 2  # in the log and in Transcripts
    # The panel data for the script is JSON escaped for HTML too.
    assert '<script id="panel-data" type="application/json">' in content


# --- Query counts -------------------------------------------------------------------------------


def test_my_work_query_count(csr, django_assert_num_queries):
    for _ in range(3):
        active_chat(csr)
    client = login(csr)
    client.get(reverse("portal:home"))  # warm App Studio settings' cache
    # session, user, groups, active chats (with customer, channel, queue, CSR), their open
    # co-browse sessions (one prefetch), the groups again for the appbar's links (kept on
    # the user by reports_nav for every other tag), the CSR's notification preferences
    with django_assert_num_queries(7):
        response = client.get(reverse("portal:home"))
    assert len(response.context["panels"]) == 3


def test_recent_work_query_count(csr, django_assert_num_queries):
    for n in range(30):
        ended_chat(csr, ended_minutes_ago=n)
    client = login(csr)
    # session, user, groups, count, the page (with customer, channel, queue, CSR), the
    # page's acceptances and lost connections (the CSR's parts), the service cases opened
    # in them, the open follow-ups of the CSR's queues, the queues and channels to filter
    # by, the groups for the appbar's links
    with django_assert_num_queries(12):
        client.get(reverse("portal:recent_work"))


def test_interaction_window_query_count(csr, django_assert_num_queries):
    interaction = ended_chat(csr)
    for n in range(20):
        add_message(interaction, f"message {n}")
    client = login(csr)
    client.get(reverse("portal:interaction", args=[interaction.pk]))
    # session, user, groups, the interaction (with its relations), its messages, the
    # groups for the appbar's links
    with django_assert_num_queries(6):
        client.get(reverse("portal:interaction", args=[interaction.pk]))


@pytest.mark.django_db
def test_the_health_check_stays_up_while_redis_is_down(client, settings):
    """The portal serves without Redis (live updates delayed): a load balancer must keep
    it. Redis's state is in the body."""
    assert client.get("/healthz").json() == {
        "ok": True,
        "checks": {"database": True, "redis": True},
    }
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"ok": True, "checks": {"database": True, "redis": False}}
