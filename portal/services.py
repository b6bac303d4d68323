"""State changes of the portal: the role groups and their permissions, the demo data."""

import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, User
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Q

from assist.demo import demo_assist_seed
from cases.demo import demo_case_types_create
from chat.demo_bot import DEMO_BOT_TOKEN_FILE_NAME
from chat.models import AppStudioSettings, BotClient, Channel, ChannelKind
from chat.services.bot_clients import bot_client_create, bot_client_rotate_token
from chat.tokens import digests_match, token_digest
from config.users import Role
from portal.models import CSRPreferences
from routing.models import (
    AwayReason,
    CSRProfile,
    DispositionCode,
    IntentRule,
    Queue,
    QueueMembership,
)

# --- Roles ----------------------------------------------------------------------------

# Administrators get every permission of these apps...
ADMINISTRATOR_APPS = ("chat", "routing", "transcripts", "cobrowse", "cases", "assist", "portal")
# ...and of these auth models, to manage users and their roles.
ADMINISTRATOR_AUTH_MODELS = ("user", "group")
# CSR managers may look at (not change) the models of these apps in the admin...
CSR_MANAGER_VIEW_APPS = ("chat", "routing", "cobrowse")
# ...except these (app label, model): configuration holding secrets and connector
# settings. roles_sync() takes them back from the group if it ever held them.
CSR_MANAGER_DENIED_MODELS = (("chat", "channel"), ("chat", "botclient"))
# Apps whose permissions must exist before they can be granted (on a fresh database
# Django creates permissions only after the last migration has run).
_PERMISSION_APPS = ("auth", *ADMINISTRATOR_APPS)


def roles_sync(*, apps: Apps | None = None, using: str = DEFAULT_DB_ALIAS) -> None:
    """Create the CSR, CSR manager and Administrator groups and grant them their
    permissions, creating the permissions first if they do not exist yet.

    Idempotent, and it only adds, with one exception: permissions of models added since
    the last run are granted, permissions an administrator granted by hand are kept,
    but CSR managers lose any permission on CSR_MANAGER_DENIED_MODELS (channels and bot
    API clients, whose secrets and settings are the Administrators' alone). `apps` is
    the app registry to use (a migration passes its own); by default the project's."""
    registry = global_apps if apps is None else apps
    for label in _PERMISSION_APPS:
        # create_permissions() looks the app up again in `registry`; it wants the real
        # app config only to know whether the app has models at all.
        create_permissions(
            global_apps.get_app_config(label), verbosity=0, using=using, apps=registry
        )

    group_model = registry.get_model("auth", "Group")
    permission_model = registry.get_model("auth", "Permission")
    permissions = permission_model.objects.using(using)

    denied = Q()
    for app_label, model in CSR_MANAGER_DENIED_MODELS:
        denied |= Q(content_type__app_label=app_label, content_type__model=model)
    granted = {
        Role.CSR: permissions.none(),
        Role.CSR_MANAGER: permissions.filter(
            content_type__app_label__in=CSR_MANAGER_VIEW_APPS, codename__startswith="view_"
        ).exclude(denied),
        Role.ADMINISTRATOR: permissions.filter(
            Q(content_type__app_label__in=ADMINISTRATOR_APPS)
            | Q(
                content_type__app_label="auth",
                content_type__model__in=ADMINISTRATOR_AUTH_MODELS,
            )
        ),
    }
    for role, role_permissions in granted.items():
        group, _ = group_model.objects.using(using).get_or_create(name=role.value)
        group.permissions.add(*role_permissions)
        if role is Role.CSR_MANAGER:
            group.permissions.remove(*permissions.filter(denied))


# --- Demo data ------------------------------------------------------------------------

DEMO_BOT_NAME = "Demo bot"

# slug, name, kind
DEMO_CHANNELS = (
    ("web-messaging", "Web messaging", ChannelKind.WEB_MESSAGING),
    ("facebook", "Facebook Messenger", ChannelKind.FACEBOOK),
)
# slug, name
DEMO_QUEUES = (
    ("general", "General"),
    ("billing", "Billing"),
    ("technical-support", "Technical support"),
)
DEMO_DEFAULT_QUEUE = "general"
# Wrap-up disposition codes (code, label), given to every demo queue; Technical support
# also gets a wrap-up time with a required code, the others none (their chats free the
# CSR's place at once), so the demo shows both.
DEMO_DISPOSITION_CODES = (
    ("resolved", "Resolved"),
    ("follow-up", "Follow-up needed"),
    ("complaint", "Complaint"),
)
DEMO_WRAPUP_QUEUE = "technical-support"
DEMO_WRAPUP_SECONDS = 120
# intent → queue slug
# The reasons a CSR can pick when going Away (routing's migration 0003 creates them in
# a new database; the demo puts back any that were deleted, e.g. by a test flush).
DEMO_AWAY_REASONS = {
    "break": "Break",
    "lunch": "Lunch",
    "meeting": "Meeting",
    "training": "Training",
    "after-chat-work": "After-chat work",
}
DEMO_INTENT_RULES = {
    "billing": "billing",
    "refund": "billing",
    "invoice": "billing",
    "payment": "billing",
    "technical": "technical-support",
    "login": "technical-support",
    "password_reset": "technical-support",
    "app_error": "technical-support",
    "general": "general",
}


@dataclass(frozen=True)
class DemoLogin:
    """A demo user; its password is always `<username>-demo`."""

    username: str
    first_name: str
    last_name: str
    role: Role
    superuser: bool = False

    @property
    def password(self) -> str:
        return f"{self.username}-demo"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


DEMO_LOGINS = (
    DemoLogin("csr1", "Alex", "Morgan", Role.CSR),
    DemoLogin("csr2", "Blake", "Chen", Role.CSR),
    DemoLogin("csr3", "Casey", "Patel", Role.CSR),
    DemoLogin("csr4", "Drew", "Okafor", Role.CSR),
    DemoLogin("manager", "Jordan", "Rivera", Role.CSR_MANAGER),
    DemoLogin("admin", "Avery", "Lindqvist", Role.ADMINISTRATOR, superuser=True),
)


@dataclass(frozen=True)
class DemoSeed:
    """What `demo_seed()` set up, for the command to print."""

    logins: tuple[DemoLogin, ...]
    bot_client: BotClient
    bot_token: str
    bot_token_file: Path
    bot_token_changed: bool  # a new token was issued (first run, or the file was stale)


@transaction.atomic
def demo_seed() -> DemoSeed:
    """Create or refresh the demo data: channels, queues and intent rules, App Studio
    settings, demo users in each role (passwords reset to `<username>-demo`) and the
    demo bot client, whose clear-text token is kept in VAR_DIR/demo_bot_token.

    Idempotent: a second run changes no row (and keeps the bot token while the file
    still holds the client's token). Settings an administrator changed on the demo
    channels and queues (switches, strategy, timeouts) are left alone."""
    roles_sync()
    queues = _demo_queues_ensure()
    channels = _demo_channels_ensure(default_queue=queues[DEMO_DEFAULT_QUEUE])
    for intent, slug in DEMO_INTENT_RULES.items():
        IntentRule.objects.update_or_create(
            intent__iexact=intent,
            defaults={"queue": queues[slug]},
            create_defaults={"intent": intent, "queue": queues[slug]},
        )
    AppStudioSettings.objects.get_or_create(pk=AppStudioSettings.SINGLETON_ID)
    for code, label in DEMO_AWAY_REASONS.items():
        AwayReason.objects.get_or_create(code=code, defaults={"label": label})
    for login in DEMO_LOGINS:
        user = _demo_user_ensure(login)
        if login.role is Role.CSR:
            CSRProfile.objects.get_or_create(user=user)
            for queue in queues.values():
                QueueMembership.objects.get_or_create(user=user, queue=queue)
    client, token, changed = _demo_bot_ensure(channels=list(channels.values()))
    demo_assist_seed()  # the help centre's articles, common phrases, page push domains
    demo_case_types_create()  # the demo bank's five service case types
    return DemoSeed(
        logins=DEMO_LOGINS,
        bot_client=client,
        bot_token=token,
        bot_token_file=_demo_bot_token_path(),
        bot_token_changed=changed,
    )


def _demo_queues_ensure() -> dict[str, Queue]:
    queues = {}
    for slug, name in DEMO_QUEUES:
        wrapup = (
            {"wrapup_seconds": DEMO_WRAPUP_SECONDS, "wrapup_required": True}
            if slug == DEMO_WRAPUP_QUEUE
            else {}
        )
        queues[slug] = Queue.objects.update_or_create(
            slug=slug, defaults={"name": name}, create_defaults={"name": name, **wrapup}
        )[0]
        for order, (code, label) in enumerate(DEMO_DISPOSITION_CODES, start=1):
            DispositionCode.objects.get_or_create(
                queue=queues[slug], code=code, defaults={"label": label, "order": order}
            )
    return queues


def _demo_channels_ensure(*, default_queue: Queue) -> dict[str, Channel]:
    channels = {}
    for slug, name, kind in DEMO_CHANNELS:
        channel, _ = Channel.objects.update_or_create(
            slug=slug,
            defaults={"name": name, "kind": kind, "default_queue": default_queue, "active": True},
        )
        if kind == ChannelKind.WEB_MESSAGING and not channel.identity_secret:
            # Generated once: the host website signs customer ids with it.
            channel.identity_secret = secrets.token_urlsafe(32)
            channel.save(update_fields=["identity_secret"])
        channels[slug] = channel
    return channels


def _demo_user_ensure(login: DemoLogin) -> User:
    user, _ = User.objects.update_or_create(
        username=login.username,
        defaults={
            "first_name": login.first_name,
            "last_name": login.last_name,
            "email": f"{login.username}@demo.invalid",
            "is_active": True,
            # Managers' view permissions are for the admin, so they may log in there.
            "is_staff": login.role in (Role.ADMINISTRATOR, Role.CSR_MANAGER),
            "is_superuser": login.superuser,
        },
    )
    # Reset the password only when it differs: a fresh salt would change the row.
    if not user.check_password(login.password):
        user.set_password(login.password)
        user.save(update_fields=["password"])
    user.groups.set([Group.objects.get(name=login.role.value)])
    return user


def _demo_bot_token_path() -> Path:
    return Path(settings.VAR_DIR) / DEMO_BOT_TOKEN_FILE_NAME


def _demo_bot_ensure(*, channels: list[Channel]) -> tuple[BotClient, str, bool]:
    """The demo bot client and its clear-text token: the one in the token file while its
    digest matches the client, else a new one (written to the file)."""
    client = BotClient.objects.filter(name=DEMO_BOT_NAME).first()
    if client is None:
        client, token = bot_client_create(name=DEMO_BOT_NAME, channels=channels)
        _demo_bot_token_write(token)
        return client, token, True
    if not client.active:
        client.active = True
        client.save(update_fields=["active"])
    client.allowed_channels.set(channels)
    stored = _demo_bot_token_read()
    if stored and digests_match(token_digest(stored), client.token_hash):
        return client, stored, False
    token = bot_client_rotate_token(client=client)
    _demo_bot_token_write(token)
    return client, token, True


def _demo_bot_token_read() -> str:
    try:
        return _demo_bot_token_path().read_text().strip()
    except FileNotFoundError:
        return ""


def _demo_bot_token_write(token: str) -> None:
    """Replace the token file atomically; only its owner may read it (mode 600)."""
    path = _demo_bot_token_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file with mode 600 before anything is written to it.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as file:
            file.write(token + "\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# --- A CSR's preferences ------------------------------------------------------------------


def csr_preferences_update(
    *, user_id: int, sound_enabled: bool | None = None, sound_volume: int | None = None
) -> CSRPreferences:
    """Save the CSR's notification preferences; a value not given keeps the stored one
    (or the default). The caller has checked the values' types and range."""
    with transaction.atomic():
        row, _ = CSRPreferences.objects.select_for_update().get_or_create(user_id=user_id)
        if sound_enabled is not None:
            row.sound_enabled = sound_enabled
        if sound_volume is not None:
            row.sound_volume = sound_volume
        row.save()
    return row
