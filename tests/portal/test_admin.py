"""The Django admin ("App Studio"): who may use it, and how each model behaves there."""

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from chat.models import (
    AppStudioSettings,
    BotClient,
    ChannelKind,
    CustomerToken,
    InteractionStatus,
    Message,
    SatisfactionRating,
    SenderKind,
    WebhookDelivery,
)
from chat.selectors.settings import app_studio_settings_get
from chat.tokens import token_digest
from config.users import Role
from routing.models import (
    AwayReason,
    CSRProfile,
    DispositionCode,
    LongWait,
    Offer,
    QueueMembership,
    RoutingDecision,
    RoutingStrategy,
    Wrapup,
)
from tests.factories import (
    bot_client_factory,
    channel_factory,
    customer_factory,
    intent_rule_factory,
    interaction_factory,
    queue_factory,
    user_factory,
)

OUR_APPS = {"chat", "routing", "transcripts", "cobrowse", "portal", "auth"}
REGISTERED = sorted(
    (model for model in admin.site._registry if model._meta.app_label in OUR_APPS),
    key=lambda model: model._meta.label_lower,
)
# Models whose history must not be rewritten: nobody may add them in the admin.
NO_ADD = {
    "chat.attachment",
    "chat.interaction",
    "chat.message",
    "chat.satisfactionrating",
    "chat.webhookdelivery",
    "cobrowse.cobrowsesession",
    "routing.longwait",
    "routing.offer",
    "routing.routingdecision",
    "routing.wrapup",
}
TOKEN_PATTERN = re.compile(r"bot_[A-Za-z0-9_-]{20,}")


def _message(**overrides) -> Message:
    fields = {"seq": 1, "sender_kind": SenderKind.CUSTOMER, "text": "Hello"}
    fields.update(overrides)
    if "interaction" not in fields:
        fields["interaction"] = interaction_factory()
    return Message.objects.create(**fields)


def _offer() -> Offer:
    interaction = interaction_factory(status=InteractionStatus.OFFERED)
    return Offer.objects.create(
        interaction=interaction,
        csr=user_factory(role=Role.CSR),
        queue=interaction.queue,
        expires_at=timezone.now() + timedelta(seconds=30),
    )


def _routing_decision() -> RoutingDecision:
    interaction = interaction_factory()
    return RoutingDecision.objects.create(
        interaction=interaction,
        queue=interaction.queue,
        strategy=RoutingStrategy.LONGEST_IDLE,
        summary="No CSR is available",
    )


def _webhook_delivery() -> WebhookDelivery:
    message = _message(sender_kind=SenderKind.CSR)
    return WebhookDelivery.objects.create(
        interaction=message.interaction, message=message, seq=message.seq
    )


def _attachment():
    from django.core.files.base import ContentFile

    from chat.models import Attachment

    attachment = Attachment(
        interaction=interaction_factory(),
        sender_kind=SenderKind.CUSTOMER,
        name="receipt.txt",
        content_type="text/plain",
        size=5,
        sha256="0" * 64,
    )
    attachment.file.save("file.txt", ContentFile(b"hello"))
    return attachment


def _cobrowse_session():
    from django.utils import timezone

    from cobrowse.models import CobrowseSession

    return CobrowseSession.objects.create(
        interaction=interaction_factory(),
        csr=user_factory(role=Role.CSR),
        started_via="actions",
        requested_at=timezone.now(),
    )


# One existing object per registered model, for its change page. A model registered
# later needs an entry here, or the tests below say so.
SAMPLES: dict[str, Callable[[], Model]] = {
    "auth.group": lambda: Group.objects.create(name="Team leads"),
    "auth.user": lambda: user_factory(),
    "chat.appstudiosettings": app_studio_settings_get,
    "chat.attachment": lambda: _attachment(),
    "chat.botclient": lambda: bot_client_factory()[0],
    "chat.channel": channel_factory,
    "chat.customer": customer_factory,
    "chat.interaction": interaction_factory,
    "chat.message": _message,
    "chat.satisfactionrating": lambda: SatisfactionRating.objects.create(
        interaction=interaction_factory(), rating=4, comment="Quick."
    ),
    "chat.webhookdelivery": _webhook_delivery,
    "cobrowse.cobrowsesession": lambda: _cobrowse_session(),
    "routing.awayreason": lambda: AwayReason.objects.create(code="coffee", label="Coffee"),
    "routing.csrprofile": lambda: CSRProfile.objects.create(user=user_factory(role=Role.CSR)),
    "routing.intentrule": lambda: intent_rule_factory(intent="refund", queue=queue_factory()),
    "routing.longwait": lambda: LongWait.objects.create(
        interaction=interaction_factory(), queue=queue_factory(), waited_seconds=600
    ),
    "routing.offer": _offer,
    "routing.queue": queue_factory,
    "routing.queuemembership": lambda: QueueMembership.objects.create(
        user=user_factory(role=Role.CSR), queue=queue_factory()
    ),
    "routing.routingdecision": _routing_decision,
    "routing.dispositioncode": lambda: DispositionCode.objects.create(
        queue=queue_factory(), code="resolved", label="Resolved"
    ),
    "routing.wrapup": lambda: Wrapup.objects.create(
        interaction=interaction_factory(),
        csr=user_factory(role=Role.CSR),
        queue=queue_factory(),
        due_at=timezone.now(),
        summary="Refund sent",
    ),
}


def _sample(model: type[Model]) -> Model:
    label = model._meta.label_lower
    if label not in SAMPLES:
        pytest.fail(f"Add a sample {label} to SAMPLES in {__file__} so its admin is tested.")
    return SAMPLES[label]()


def _url(model: type[Model], view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _tokens(texts: list[str]) -> list[str]:
    return [token for text in texts for token in TOKEN_PATTERN.findall(text)]


# --- Who may use the admin ----------------------------------------------------------------


def test_every_model_of_our_apps_is_registered():
    """Every model of our apps has an admin, except CustomerToken (a digest, nothing to see)
    and CSRPreferences (a CSR's own sound setting, changed only by them in My Work)."""
    from django.apps import apps

    models = [
        model
        for label in ("chat", "routing", "transcripts", "cobrowse", "portal")
        for model in apps.get_app_config(label).get_models()
    ]
    missing = [m._meta.label for m in models if m not in admin.site._registry]
    assert missing == ["chat.CustomerToken", "portal.CSRPreferences"]
    assert CustomerToken not in admin.site._registry


@pytest.mark.django_db
@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label_lower)
def test_administrator_loads_every_admin_page(administrator_client: Client, model):
    """An Administrator (staff, in the group, not a superuser) gets every list page, the
    add page where adding is allowed, and the change page of an existing object."""
    sample = _sample(model)
    label = model._meta.label_lower

    changelist = administrator_client.get(_url(model, "changelist"), follow=True)
    assert changelist.status_code == 200
    assert changelist.resolver_match.url_name != "login"

    add = administrator_client.get(_url(model, "add"))
    if label in NO_ADD or label == "chat.appstudiosettings":  # the record exists already
        assert add.status_code == 403
    else:
        assert add.status_code == 200

    change = administrator_client.get(_url(model, "change", sample.pk))
    assert change.status_code == 200
    assert change.context["original"] == sample


@pytest.mark.django_db
def test_administrator_sees_every_app_on_the_admin_index(administrator_client: Client):
    """The admin index lists the chat, routing and user sections for an Administrator."""
    response = administrator_client.get(reverse("admin:index"))
    assert response.status_code == 200
    apps = {app["app_label"] for app in response.context["app_list"]}
    assert {"auth", "chat", "routing"} <= apps


@pytest.mark.django_db
@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label_lower)
def test_csr_gets_no_admin_page(csr_client: Client, model):
    """A CSR never uses the admin: every page sends them to the admin login."""
    sample = _sample(model)
    for url in (
        _url(model, "changelist"),
        _url(model, "add"),
        _url(model, "change", sample.pk),
    ):
        response = csr_client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))


@pytest.mark.django_db
def test_csr_gets_no_admin_index(csr_client: Client):
    """The admin index also sends a CSR to the admin login."""
    response = csr_client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


# What a CSR manager (staff, view permissions) reaches in the admin, as docs/portal.md
# says: the history and routing pages read-only; never channels or bot API clients
# (secrets, connector settings), users or groups.
MANAGER_NO_ACCESS = {"auth.group", "auth.user", "chat.botclient", "chat.channel"}


@pytest.mark.django_db
@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label_lower)
def test_csr_manager_admin_permission_matrix(manager_client: Client, model):
    """A CSR manager gets 403 on every page of channels, bot API clients, users and
    groups; every other page is read-only: the list and the object open, without Save,
    and adding, saving or deleting is refused."""
    sample = _sample(model)
    label = model._meta.label_lower
    pages = {
        "changelist": _url(model, "changelist"),
        "change": _url(model, "change", sample.pk),
        "history": _url(model, "history", sample.pk),
    }
    if label in MANAGER_NO_ACCESS:
        for name, url in pages.items():
            assert manager_client.get(url).status_code == 403, name
    else:
        changelist = manager_client.get(pages["changelist"], follow=True)
        assert changelist.status_code == 200
        assert changelist.resolver_match.url_name != "login"
        change = manager_client.get(pages["change"])
        assert change.status_code == 200
        assert b'name="_save"' not in change.content
    assert manager_client.get(_url(model, "add")).status_code == 403
    assert manager_client.post(pages["change"], {}).status_code == 403
    assert manager_client.post(_url(model, "delete", sample.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=sample.pk).exists()


@pytest.mark.django_db
def test_csr_manager_admin_index_lists_no_channels_or_clients(manager_client: Client):
    """The admin index a CSR manager sees has the history and routing models, and no
    channels, bot API clients or users."""
    response = manager_client.get(reverse("admin:index"))
    assert response.status_code == 200
    models = {
        f"{app['app_label']}.{model['object_name'].lower()}"
        for app in response.context["app_list"]
        for model in app["models"]
    }
    assert {"chat.interaction", "chat.message", "routing.queue"} <= models
    assert not models & MANAGER_NO_ACCESS


@pytest.mark.django_db
def test_csr_manager_cannot_rotate_secrets(manager_client: Client):
    """The Rotate actions need the change permission: a CSR manager's POST is refused and
    the secret stays as it was."""
    channel = channel_factory(identity_secret="kept-identity-secret-000")
    response = manager_client.post(
        reverse("admin:chat_channel_changelist"),
        {"action": "rotate_identity_secret", "_selected_action": [channel.pk]},
    )
    assert response.status_code == 403
    channel.refresh_from_db()
    assert channel.identity_secret == "kept-identity-secret-000"


# --- Channels -------------------------------------------------------------------------


@pytest.mark.django_db
def test_channel_list_never_shows_secrets(administrator_client: Client):
    """The channel list shows whether secrets are set, never the secrets, and searching for
    a secret finds nothing."""
    channel_factory(
        name="Web",
        identity_secret="identity-secret-value-1234",
        webhook_url="https://connector.example/hook",
        webhook_secret="webhook-secret-value-5678",
    )
    url = reverse("admin:chat_channel_changelist")
    page = administrator_client.get(url).content.decode()
    assert "identity-secret-value-1234" not in page
    assert "webhook-secret-value-5678" not in page
    search = administrator_client.get(url, {"q": "identity-secret-value"})
    assert search.context["cl"].result_count == 0


@pytest.mark.django_db
def test_channel_list_shows_kind_public_and_switches(administrator_client: Client):
    """The list shows each channel's kind, whether it is public and its switches, and
    filters by kind and by each switch."""
    channel_factory(name="Web", kind=ChannelKind.WEB_MESSAGING)
    channel_factory(name="Messenger", kind=ChannelKind.FACEBOOK, cobrowse_allowed=False)
    url = reverse("admin:chat_channel_changelist")
    response = administrator_client.get(url)
    # The first column is the select-all box of the actions.
    headers = [str(header["text"]).lower() for header in response.context["result_headers"]][1:]
    assert headers[:5] == ["name", "slug", "kind", "public", "default queue"]
    filtered = administrator_client.get(url, {"cobrowse_allowed__exact": "0"})
    assert [c.name for c in filtered.context["cl"].result_list] == ["Messenger"]
    by_kind = administrator_client.get(url, {"kind__exact": ChannelKind.WEB_MESSAGING})
    assert [c.name for c in by_kind.context["cl"].result_list] == ["Web"]


@pytest.mark.django_db
def test_channel_form_is_grouped_into_fieldsets(administrator_client: Client):
    """The channel form groups its fields under Identity, Routing, the App Studio
    switches, Identity verification and Connector webhook, and fills the slug from the
    name."""
    response = administrator_client.get(reverse("admin:chat_channel_add"))
    names = [fieldset.name for fieldset in response.context["adminform"]]
    assert names == [
        "Identity",
        "Routing",
        "Capabilities — App Studio switches",
        "Identity verification",
        "Connector webhook",
    ]
    assert response.context["adminform"].prepopulated_fields[0]["field"].name == "slug"


IDENTITY_SECRET = "identity-secret-value-1234"
WEBHOOK_SECRET = "webhook-secret-value-5678"


def _secret_channel():
    return channel_factory(
        name="Web",
        identity_secret=IDENTITY_SECRET,
        webhook_url="https://connector.example/hook",
        webhook_secret=WEBHOOK_SECRET,
    )


def _channel_form(channel, **overrides) -> dict:
    data = {
        "name": channel.name,
        "slug": channel.slug,
        "kind": channel.kind,
        "active": "on",
        "default_queue": channel.default_queue_id or "",
        "cobrowse_allowed": "on",
        "attachments_allowed": "on",
        "auth_requests_allowed": "on",
        "webhook_url": channel.webhook_url,
        "new_identity_secret": "",
        "new_webhook_secret": "",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_channel_pages_never_show_secrets(administrator_client: Client):
    """The change page, its history and a form sent back with an error show whether each
    secret is set, never a secret: the secret fields are empty write-only inputs."""
    channel = _secret_channel()
    change_url = reverse("admin:chat_channel_change", args=[channel.pk])
    change = administrator_client.get(change_url)
    assert change.status_code == 200
    form = change.context["adminform"].form
    assert "identity_secret" not in form.fields
    assert "webhook_secret" not in form.fields
    assert form.fields["new_identity_secret"].widget.input_type == "password"
    page = change.content.decode()
    assert page.count("Set (hidden)") == 2
    # A failed save with a new secret typed in does not echo it back either.
    refused = administrator_client.post(
        change_url, _channel_form(channel, name="", new_identity_secret="typed-then-refused-999")
    )
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors
    administrator_client.post(change_url, _channel_form(channel, name="Web chat"))
    history = administrator_client.get(reverse("admin:chat_channel_history", args=[channel.pk]))
    for response in (change, refused, history):
        text = response.content.decode()
        for secret in (IDENTITY_SECRET, WEBHOOK_SECRET, "typed-then-refused-999"):
            assert secret not in text


@pytest.mark.django_db
def test_a_typed_secret_replaces_the_stored_one_and_blank_keeps_it(
    administrator_client: Client,
):
    """Typing a new secret stores it (the change log names the field, not the value);
    saving with the secret fields blank keeps the stored secrets."""
    from django.contrib.admin.models import LogEntry

    channel = _secret_channel()
    url = reverse("admin:chat_channel_change", args=[channel.pk])
    kept = administrator_client.post(url, _channel_form(channel, name="Web chat"))
    assert kept.status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.identity_secret) == ("Web chat", IDENTITY_SECRET)
    assert channel.webhook_secret == WEBHOOK_SECRET

    replaced = administrator_client.post(
        url, _channel_form(channel, new_identity_secret="a-new-identity-secret-42")
    )
    assert replaced.status_code == 302
    channel.refresh_from_db()
    assert channel.identity_secret == "a-new-identity-secret-42"
    assert channel.webhook_secret == WEBHOOK_SECRET
    logged = " ".join(str(entry.get_change_message()) for entry in LogEntry.objects.all())
    assert "identity secret" in logged.lower()
    assert "a-new-identity-secret-42" not in logged
    # Error reports of the request leave the typed secrets out.
    assert set(replaced.wsgi_request.sensitive_post_parameters) == {
        "new_identity_secret",
        "new_webhook_secret",
    }


@pytest.mark.django_db
def test_a_new_channel_takes_its_secrets_on_the_add_form(administrator_client: Client):
    """The add form has the write-only secret fields; what is typed there is stored."""
    queue = queue_factory()
    response = administrator_client.post(
        reverse("admin:chat_channel_add"),
        {
            "name": "WhatsApp",
            "slug": "whatsapp",
            "kind": ChannelKind.WHATSAPP,
            "active": "on",
            "default_queue": queue.pk,
            "webhook_url": "https://connector.example/wa",
            "new_identity_secret": "wa-identity-secret-0001",
            "new_webhook_secret": "wa-webhook-secret-0002",
        },
    )
    assert response.status_code == 302
    from chat.models import Channel

    channel = Channel.objects.get(slug="whatsapp")
    assert channel.identity_secret == "wa-identity-secret-0001"
    assert channel.webhook_secret == "wa-webhook-secret-0002"


@pytest.mark.django_db
def test_rotate_action_shows_each_new_secret_once(administrator_client: Client):
    """Rotate identity secret gives each selected channel a new random secret, shown on
    the answer page only (not cached, not kept in a message) and never again; the change
    log records the rotation without the value; other channels and the webhook secret are
    untouched."""
    from django.contrib.admin.models import LogEntry

    first = _secret_channel()
    second = channel_factory(name="Messenger", identity_secret="old-messenger-secret-1")
    untouched = channel_factory(name="SMS", identity_secret="untouched-secret-00001")
    changelist = reverse("admin:chat_channel_changelist")
    response = administrator_client.post(
        changelist,
        {"action": "rotate_identity_secret", "_selected_action": [first.pk, second.pk]},
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    for channel in (first, second, untouched):
        channel.refresh_from_db()
    shown = re.findall(r'<code class="rotated-secret">([^<]+)</code>', response.content.decode())
    assert sorted(shown) == sorted([first.identity_secret, second.identity_secret])
    assert IDENTITY_SECRET not in shown and "old-messenger-secret-1" not in shown
    assert all(len(secret) >= 40 for secret in shown)
    assert first.webhook_secret == WEBHOOK_SECRET
    assert untouched.identity_secret == "untouched-secret-00001"
    assert not _texts(response)  # nothing left in the messages storage

    logged = [str(entry.get_change_message()) for entry in LogEntry.objects.all()]
    assert logged.count("Rotated the identity secret.") == 2
    for url in (changelist, reverse("admin:chat_channel_change", args=[first.pk])):
        page = administrator_client.get(url).content.decode()
        assert not any(secret in page for secret in shown)


@pytest.mark.django_db
def test_rotate_webhook_secret_changes_only_the_webhook_secret(administrator_client: Client):
    """Rotate webhook secret replaces the webhook secret and leaves the identity secret."""
    channel = _secret_channel()
    response = administrator_client.post(
        reverse("admin:chat_channel_changelist"),
        {"action": "rotate_webhook_secret", "_selected_action": [channel.pk]},
    )
    channel.refresh_from_db()
    assert channel.webhook_secret not in (WEBHOOK_SECRET, "")
    assert channel.webhook_secret in response.content.decode()
    assert channel.identity_secret == IDENTITY_SECRET


@pytest.mark.django_db
def test_view_only_staff_sees_whether_a_secret_is_set_and_nothing_more(roles):
    """Someone given view permission on channels by hand gets the read-only page: each
    secret is "Set (hidden)" or "Not set", without a field to type one."""
    from django.contrib.auth.models import Permission

    channel = _secret_channel()
    viewer = user_factory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_channel"))
    client = Client()
    client.force_login(viewer)
    response = client.get(reverse("admin:chat_channel_change", args=[channel.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("Set (hidden)") == 2
    assert IDENTITY_SECRET not in page and WEBHOOK_SECRET not in page
    assert 'name="new_identity_secret"' not in page


# --- App Studio settings ------------------------------------------------------------------


@pytest.mark.django_db
def test_settings_list_page_opens_the_one_record(administrator_client: Client):
    """The App Studio settings list page creates the record on the first visit and opens
    its change form; the record cannot be added again or deleted."""
    assert not AppStudioSettings.objects.exists()
    response = administrator_client.get(reverse("admin:chat_appstudiosettings_changelist"))
    record = AppStudioSettings.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:chat_appstudiosettings_change", args=[record.pk])

    assert administrator_client.get(response.url).status_code == 200
    assert administrator_client.get(reverse("admin:chat_appstudiosettings_add")).status_code == 403
    delete_url = reverse("admin:chat_appstudiosettings_delete", args=[record.pk])
    assert administrator_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert AppStudioSettings.objects.count() == 1


@pytest.mark.django_db
def test_saving_settings_in_the_admin_refreshes_the_cached_copy(
    administrator_client: Client, django_capture_on_commit_callbacks
):
    """After an administrator saves the settings, every reader gets the new values: the
    cached copy is dropped once the change is committed."""
    cached = app_studio_settings_get()
    assert cached.default_offer_timeout_seconds == 30
    form = {
        "cobrowse_enabled": "on",
        "attachments_enabled": "on",
        "max_attachment_bytes": cached.max_attachment_bytes,
        "max_message_attachment_bytes": cached.max_message_attachment_bytes,
        "allowed_attachment_types": cached.allowed_attachment_types,
        "default_offer_timeout_seconds": 45,
        "missed_offers_before_away": cached.missed_offers_before_away,
        "default_csr_capacity": cached.default_csr_capacity,
        # sentiment_enabled left out: an unticked box.
        "time_zone": "Europe/Paris",
    }
    url = reverse("admin:chat_appstudiosettings_change", args=[cached.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = administrator_client.post(url, form)
    assert response.status_code == 302, response.context["adminform"].form.errors

    fresh = app_studio_settings_get()
    assert fresh.default_offer_timeout_seconds == 45
    assert fresh.sentiment_enabled is False
    assert fresh.time_zone == "Europe/Paris"


def test_an_unknown_time_zone_is_refused_with_a_clear_message(administrator_client: Client):
    """A time zone the server does not know is refused, and nothing is saved."""
    cached = app_studio_settings_get()
    form = {
        "max_attachment_bytes": cached.max_attachment_bytes,
        "allowed_attachment_types": cached.allowed_attachment_types,
        "default_offer_timeout_seconds": 45,
        "missed_offers_before_away": cached.missed_offers_before_away,
        "default_csr_capacity": cached.default_csr_capacity,
        "time_zone": "Mars/Olympus_Mons",
    }
    url = reverse("admin:chat_appstudiosettings_change", args=[cached.pk])
    response = administrator_client.post(url, form)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["time_zone"]
    assert errors == [
        "“Mars/Olympus_Mons” is not a time zone this server knows. Use an IANA name such as "
        "Europe/Paris or America/New_York."
    ]
    assert AppStudioSettings.objects.get().default_offer_timeout_seconds == 30


# --- Bot API clients -----------------------------------------------------------------------


@pytest.mark.django_db
def test_new_bot_client_token_is_shown_once(administrator_client: Client):
    """Adding a bot client generates its token and shows it once in a success message;
    only the token's digest is stored, and the token appears on no later page."""
    channel = channel_factory()
    response = administrator_client.post(
        reverse("admin:chat_botclient_add"),
        {"name": "Acme bot", "active": "on", "allowed_channels": [channel.pk]},
        follow=True,
    )
    assert response.status_code == 200
    texts = _texts(response)
    [token] = _tokens(texts)
    assert any(
        text.startswith("Copy this token now; it will not be shown again: bot_") for text in texts
    )
    assert token.encode() in response.content

    client = BotClient.objects.get(name="Acme bot")
    assert client.token_hash == token_digest(token)
    assert client.token_prefix == token[:10]
    assert list(client.allowed_channels.all()) == [channel]
    assert client.active

    for url in (
        reverse("admin:chat_botclient_changelist"),
        reverse("admin:chat_botclient_change", args=[client.pk]),
    ):
        assert token.encode() not in administrator_client.get(url).content


@pytest.mark.django_db
def test_bot_client_form_takes_no_token(administrator_client: Client):
    """The add form asks for a name, the active switch and the channels, not a token."""
    response = administrator_client.get(reverse("admin:chat_botclient_add"))
    assert set(response.context["adminform"].form.fields) == {
        "name",
        "active",
        "allowed_channels",
    }


@pytest.mark.django_db
def test_rotate_token_action_shows_each_new_token_once(administrator_client: Client):
    """ "Rotate token" gives each selected client a new token, shown once per client; the
    old tokens stop matching."""
    first, old_first = bot_client_factory(name="First bot")
    second, old_second = bot_client_factory(name="Second bot")
    untouched, _ = bot_client_factory(name="Untouched bot")
    untouched_hash = untouched.token_hash

    response = administrator_client.post(
        reverse("admin:chat_botclient_changelist"),
        {"action": "rotate_token", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )
    assert response.status_code == 200
    texts = _texts(response)
    tokens = _tokens(texts)
    assert len(tokens) == 2
    first.refresh_from_db()
    second.refresh_from_db()
    untouched.refresh_from_db()
    assert {token_digest(t) for t in tokens} == {first.token_hash, second.token_hash}
    assert token_digest(old_first) != first.token_hash
    assert token_digest(old_second) != second.token_hash
    assert untouched.token_hash == untouched_hash
    assert all("it will not be shown again" in text for text in texts)

    again = administrator_client.get(reverse("admin:chat_botclient_changelist"))
    assert not _tokens([again.content.decode()])


# --- Interactions and messages --------------------------------------------------------------


@pytest.mark.django_db
def test_interactions_and_messages_refuse_add_change_and_delete(superuser_client: Client):
    """Interactions and messages are history: even a superuser may only look at them."""
    message = _message()
    for obj in (message.interaction, message):
        model = type(obj)
        assert superuser_client.get(_url(model, "add")).status_code == 403
        change = superuser_client.get(_url(model, "change", obj.pk))
        assert change.status_code == 200
        assert b'name="_save"' not in change.content
        assert superuser_client.post(_url(model, "change", obj.pk), {}).status_code == 403
        assert superuser_client.get(_url(model, "delete", obj.pk)).status_code == 403
        changelist = superuser_client.get(_url(model, "changelist"))
        assert "delete_selected" not in changelist.context["cl"].model_admin.get_actions(
            changelist.wsgi_request
        )
    assert Message.objects.filter(pk=message.pk).exists()


@pytest.mark.django_db
def test_interaction_page_lists_its_messages_by_seq(administrator_client: Client):
    """The interaction page shows its messages read-only, in sequence order."""
    interaction = interaction_factory()
    for seq, text in ((2, "second-message"), (1, "first-message"), (3, "third-message")):
        _message(interaction=interaction, seq=seq, text=text)
    response = administrator_client.get(
        reverse("admin:chat_interaction_change", args=[interaction.pk])
    )
    page = response.content.decode()
    assert page.index("first-message") < page.index("second-message") < page.index("third-message")
    [inline] = response.context["inline_admin_formsets"]
    assert not inline.has_add_permission
    assert not inline.has_change_permission
    assert not inline.has_delete_permission


@pytest.mark.django_db
def test_interaction_list_query_count_does_not_grow_with_rows(administrator_client: Client):
    """The interaction list loads customers, channels, queues and CSRs with the rows: the
    number of queries stays the same however many interactions there are."""
    url = reverse("admin:chat_interaction_changelist")
    interaction_factory(assigned_csr=user_factory(role=Role.CSR))
    administrator_client.get(url)  # warm the session and content-type caches
    with CaptureQueriesContext(connection) as one:
        administrator_client.get(url)
    for _ in range(4):
        interaction_factory(assigned_csr=user_factory(role=Role.CSR))
    with CaptureQueriesContext(connection) as five:
        response = administrator_client.get(url)
    assert response.context["cl"].result_count == 5
    assert len(five) == len(one)


@pytest.mark.django_db
def test_interaction_search_by_id_customer_name_and_intent(administrator_client: Client):
    """Interactions are found by id, customer name or intent; other words find nothing."""
    wanted = interaction_factory(
        customer=customer_factory(name="Ingrid Nakamura"), intent="billing.refund"
    )
    # No digits in the other one's fields, so only `wanted` can match its id.
    interaction_factory(customer=customer_factory(name="Olaf Berg"), intent="technical")
    url = reverse("admin:chat_interaction_changelist")
    for query in (str(wanted.pk), "Nakamura", "refund"):
        response = administrator_client.get(url, {"q": query})
        assert list(response.context["cl"].result_list) == [wanted], query
    nothing = administrator_client.get(url, {"q": "no-such-thing"})
    assert nothing.context["cl"].result_count == 0


@pytest.mark.django_db
def test_message_list_filters_and_search(administrator_client: Client):
    """Messages can be filtered by sender kind and bot-conversation flag and searched by
    text."""
    interaction = interaction_factory()
    _message(interaction=interaction, seq=1, sender_kind=SenderKind.BOT, text="How can I help?")
    _message(interaction=interaction, seq=2, text="My invoice is wrong", pre_escalation=True)
    url = reverse("admin:chat_message_changelist")
    bot = administrator_client.get(url, {"sender_kind__exact": SenderKind.BOT})
    assert [m.seq for m in bot.context["cl"].result_list] == [1]
    found = administrator_client.get(url, {"q": "invoice"})
    assert [m.seq for m in found.context["cl"].result_list] == [2]
    pre = administrator_client.get(url, {"pre_escalation__exact": "1"})
    assert [m.seq for m in pre.context["cl"].result_list] == [2]


# --- Routing ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_queue_page_edits_intent_rules_inline(administrator_client: Client):
    """Adding a queue can add its intent rules on the same page."""
    response = administrator_client.post(
        reverse("admin:routing_queue_add"),
        {
            "name": "Returns",
            "slug": "returns",
            "strategy": RoutingStrategy.ROUND_ROBIN,
            "offer_timeout_seconds": "",
            "priority": 2,
            "service_level_seconds": 60,
            "reoffer_cooldown_seconds": 60,
            "max_wait_seconds": 600,
            "wrapup_seconds": 0,
            "active": "on",
            "disposition_codes-TOTAL_FORMS": 0,
            "disposition_codes-INITIAL_FORMS": 0,
            "intent_rules-TOTAL_FORMS": 1,
            "intent_rules-INITIAL_FORMS": 0,
            "intent_rules-0-intent": "returns",
            "memberships-TOTAL_FORMS": 0,
            "memberships-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    from routing.models import Queue

    queue = Queue.objects.get(slug="returns")
    assert [rule.intent for rule in queue.intent_rules.all()] == ["returns"]


@pytest.mark.django_db
def test_system_away_reasons_cannot_be_deleted(administrator_client: Client):
    """The portal's own Away reasons (e.g. Missed offers) cannot be deleted or renamed by
    code; the others can."""
    system = AwayReason.objects.create(code="system-test", label="System test", system=True)
    own = AwayReason.objects.create(code="gym", label="Gym")
    delete = "admin:routing_awayreason_delete"
    assert administrator_client.get(reverse(delete, args=[system.pk])).status_code == 403
    assert administrator_client.get(reverse(delete, args=[own.pk])).status_code == 200
    change = administrator_client.get(reverse("admin:routing_awayreason_change", args=[system.pk]))
    assert "code" not in change.context["adminform"].form.fields
