"""`manage.py seed_demo`: the demo data, created once and refreshed idempotently."""

import stat
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from chat.models import AppStudioSettings, BotClient, Channel, ChannelKind
from chat.selectors.channels import bot_client_get_by_token
from chat.tokens import token_digest
from config.users import Role
from portal.services import DEMO_LOGINS
from routing.models import CSRProfile, IntentRule, Queue, QueueMembership

TOKEN_FILE = "demo_bot_token"


@pytest.fixture
def var_dir(settings, tmp_path: Path) -> Path:
    """A VAR_DIR of the test's own, so the real var/ is never touched."""
    settings.VAR_DIR = tmp_path
    return tmp_path


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    """Every row the seed writes, by its key fields."""
    return {
        "channels": list(
            Channel.objects.order_by("slug").values_list(
                "slug",
                "name",
                "kind",
                "default_queue__slug",
                "identity_secret",
                "active",
                "cobrowse_allowed",
            )
        ),
        "queues": list(Queue.objects.order_by("slug").values_list("slug", "name", "strategy")),
        "rules": list(IntentRule.objects.order_by("intent").values_list("intent", "queue__slug")),
        "settings": list(
            AppStudioSettings.objects.values_list("pk", "default_offer_timeout_seconds")
        ),
        "users": list(
            User.objects.order_by("username").values_list(
                "username",
                "first_name",
                "last_name",
                "is_staff",
                "is_superuser",
                "is_active",
                "password",
            )
        ),
        "memberships": list(
            User.objects.order_by("username", "groups__name").values_list(
                "username", "groups__name"
            )
        ),
        "queue_memberships": list(
            QueueMembership.objects.order_by("user__username", "queue__slug").values_list(
                "user__username", "queue__slug", "joined"
            )
        ),
        "profiles": list(
            CSRProfile.objects.order_by("user__username").values_list("user__username")
        ),
        "bots": list(
            BotClient.objects.order_by("name", "allowed_channels__slug").values_list(
                "name", "token_hash", "token_prefix", "active", "allowed_channels__slug"
            )
        ),
        "groups": list(
            Group.objects.order_by("name", "permissions__codename").values_list(
                "name", "permissions__codename"
            )
        ),
    }


@pytest.mark.django_db
def test_running_twice_leaves_the_same_rows(var_dir: Path):
    """A second run changes no row: same counts, same values, same bot token."""
    first_output = seed()
    first = snapshot()
    token_file = (var_dir / TOKEN_FILE).read_text()
    second_output = seed()
    assert snapshot() == first
    assert (var_dir / TOKEN_FILE).read_text() == token_file
    assert first_output.replace("new token", "unchanged") == second_output


@pytest.mark.django_db
def test_seed_creates_the_demo_data(var_dir: Path):
    """The seed creates the two channels, three queues with their intent rules and default
    queue, the settings record and the demo bot allowed on both channels."""
    seed()
    web = Channel.objects.get(slug="web-messaging")
    facebook = Channel.objects.get(slug="facebook")
    assert (web.name, web.kind) == ("Web messaging", ChannelKind.WEB_MESSAGING)
    assert (facebook.name, facebook.kind) == ("Facebook Messenger", ChannelKind.FACEBOOK)
    assert web.default_queue.slug == facebook.default_queue.slug == "general"
    assert len(web.identity_secret) >= 32

    queues = dict(Queue.objects.values_list("slug", "name"))
    assert queues == {
        "general": "General",
        "billing": "Billing",
        "technical-support": "Technical support",
    }
    rules = dict(IntentRule.objects.values_list("intent", "queue__slug"))
    assert rules["refund"] == "billing"
    assert rules["password_reset"] == "technical-support"
    assert rules["general"] == "general"

    assert AppStudioSettings.objects.count() == 1
    bot = BotClient.objects.get(name="Demo bot")
    assert bot.active
    assert set(bot.allowed_channels.values_list("slug", flat=True)) == {"web-messaging", "facebook"}


@pytest.mark.django_db
def test_demo_users_have_their_roles(var_dir: Path):
    """csr1–csr4 are CSRs allowed on every demo queue, manager is a CSR manager, admin an
    Administrator and superuser; staff status goes only to the manager and the admin."""
    seed()
    for username in ("csr1", "csr2", "csr3", "csr4"):
        user = User.objects.get(username=username)
        assert [g.name for g in user.groups.all()] == [Role.CSR.value]
        assert not user.is_staff
        assert user.first_name and user.last_name
        assert user.queue_memberships.count() == 3
    manager = User.objects.get(username="manager")
    assert [g.name for g in manager.groups.all()] == [Role.CSR_MANAGER.value]
    assert manager.is_staff and not manager.is_superuser
    admin = User.objects.get(username="admin")
    assert [g.name for g in admin.groups.all()] == [Role.ADMINISTRATOR.value]
    assert admin.is_staff and admin.is_superuser


@pytest.mark.django_db
def test_output_gives_working_logins_and_bot_token(var_dir: Path):
    """The command prints every login with its password (which works) and the bot token,
    which authenticates as the demo bot: its digest is the client's token_hash."""
    output = seed()
    for login in DEMO_LOGINS:
        assert login.username in output
        assert login.password in output
        assert Client().login(username=login.username, password=login.password)

    token = (var_dir / TOKEN_FILE).read_text().strip()
    assert token.startswith("bot_")
    assert token in output
    bot = BotClient.objects.get(name="Demo bot")
    assert token_digest(token) == bot.token_hash
    assert bot_client_get_by_token(token=token) == bot


@pytest.mark.django_db
def test_token_file_is_private(var_dir: Path):
    """Only the owner may read the token file (mode 600)."""
    seed()
    mode = stat.S_IMODE((var_dir / TOKEN_FILE).stat().st_mode)
    assert mode == 0o600


@pytest.mark.django_db
def test_a_stale_token_file_is_replaced(var_dir: Path):
    """When the file no longer holds the client's token, the seed rotates the token and
    rewrites the file; the old token stops working."""
    seed()
    old = (var_dir / TOKEN_FILE).read_text().strip()
    (var_dir / TOKEN_FILE).write_text("bot_not-the-right-token\n")
    output = seed()
    new = (var_dir / TOKEN_FILE).read_text().strip()
    assert new not in (old, "bot_not-the-right-token")
    assert new in output
    assert BotClient.objects.get(name="Demo bot").token_hash == token_digest(new)
    assert bot_client_get_by_token(token=old) is None


@pytest.mark.django_db
def test_a_missing_token_file_is_rewritten(var_dir: Path):
    """Without the file (e.g. a new VAR_DIR) the seed issues a new token and writes it."""
    seed()
    (var_dir / TOKEN_FILE).unlink()
    seed()
    token = (var_dir / TOKEN_FILE).read_text().strip()
    assert BotClient.objects.get(name="Demo bot").token_hash == token_digest(token)
    assert BotClient.objects.filter(name="Demo bot").count() == 1


@pytest.mark.django_db
def test_demo_passwords_and_roles_are_reset(var_dir: Path):
    """Each run gives the demo users their demo password and role back."""
    seed()
    csr1 = User.objects.get(username="csr1")
    csr1.set_password("something-else-entirely")
    csr1.save()
    csr1.groups.set([Group.objects.get(name=Role.ADMINISTRATOR.value)])
    seed()
    csr1.refresh_from_db()
    assert csr1.check_password("csr1-demo")
    assert [g.name for g in csr1.groups.all()] == [Role.CSR.value]


@pytest.mark.django_db
def test_administrator_changes_to_demo_switches_survive_a_seed(var_dir: Path):
    """Switches an administrator changed on a demo channel are kept by the next run, and
    the identity secret is generated only once."""
    seed()
    web = Channel.objects.get(slug="web-messaging")
    secret = web.identity_secret
    web.cobrowse_allowed = False
    web.save()
    seed()
    web.refresh_from_db()
    assert web.cobrowse_allowed is False
    assert web.identity_secret == secret


@pytest.mark.django_db
def test_demo_admin_and_manager_reach_the_admin(var_dir: Path):
    """The demo admin gets the admin index; the demo manager the history read-only but
    not the channels (their secrets); the demo CSR is sent to the admin login."""
    seed()
    admin = Client()
    assert admin.login(username="admin", password="admin-demo")
    assert admin.get(reverse("admin:index")).status_code == 200
    manager = Client()
    assert manager.login(username="manager", password="manager-demo")
    assert manager.get(reverse("admin:chat_interaction_changelist")).status_code == 200
    assert manager.get(reverse("admin:chat_channel_changelist")).status_code == 403
    web = reverse("admin:chat_channel_change", args=[Channel.objects.get(slug="web-messaging").pk])
    assert manager.get(web).status_code == 403
    csr = Client()
    assert csr.login(username="csr1", password="csr1-demo")
    assert csr.get(reverse("admin:index")).status_code == 302


@pytest.mark.django_db
def test_seed_puts_back_the_away_reasons_csrs_pick(var_dir: Path):
    """Away reasons deleted (a flushed database keeps none of the migration's rows) are
    back after a seed, and an administrator's own reasons are left alone."""
    from routing.models import AwayReason

    AwayReason.objects.all().delete()
    AwayReason.objects.create(code="coaching", label="Coaching")
    seed()
    assert dict(AwayReason.objects.filter(system=False).values_list("code", "label")) == {
        "break": "Break",
        "lunch": "Lunch",
        "meeting": "Meeting",
        "training": "Training",
        "after-chat-work": "After-chat work",
        "coaching": "Coaching",
    }
