"""The role groups and their permissions, from the data migration and `roles_sync()`."""

import importlib
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.models import Q

from config.users import Role
from portal.services import roles_sync

ADMINISTRATOR_APPS = ("chat", "routing", "transcripts", "cobrowse", "cases", "assist", "portal")
# Configuration with secrets: never a CSR manager's, even to look at.
MANAGER_DENIED_MODELS = {("chat", "channel"), ("chat", "botclient")}


def group_permissions(role: Role) -> set[str]:
    group = Group.objects.get(name=role.value)
    return {
        f"{app}.{codename}"
        for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


def expected_permissions() -> dict[Role, set[str]]:
    """What each role should hold, computed from every permission in the database."""
    everything = {
        (p.content_type.app_label, p.content_type.model, p.codename)
        for p in Permission.objects.select_related("content_type")
    }
    return {
        Role.CSR: set(),
        Role.CSR_MANAGER: {
            f"{app}.{codename}"
            for app, model, codename in everything
            if app in ("chat", "routing", "cobrowse")
            and codename.startswith("view_")
            and (app, model) not in MANAGER_DENIED_MODELS
        },
        Role.ADMINISTRATOR: {
            f"{app}.{codename}"
            for app, model, codename in everything
            if app in ADMINISTRATOR_APPS or (app == "auth" and model in ("user", "group"))
        },
    }


@pytest.mark.django_db
def test_migrated_database_has_the_roles_with_their_permissions():
    """A freshly migrated database has the CSR, CSR manager and Administrator groups:
    Administrators hold every permission of the chat, routing, transcripts, cobrowse and
    portal apps plus those on users and groups, CSR managers only view permissions on chat
    and routing except channels and bot API clients, CSRs none."""
    assert set(Group.objects.values_list("name", flat=True)) >= {role.value for role in Role}
    expected = expected_permissions()
    for role in Role:
        assert group_permissions(role) == expected[role], role
    administrator = group_permissions(Role.ADMINISTRATOR)
    assert {"chat.change_channel", "routing.add_queue", "auth.change_user"} <= administrator
    assert "auth.change_permission" not in administrator
    assert "sessions.view_session" not in administrator


@pytest.mark.django_db
def test_the_migration_creates_missing_permissions_first():
    """On a fresh database no permission exists yet while migrations run: the migration
    creates them with its own app registry before granting them."""
    Group.objects.filter(name__in=[role.value for role in Role]).delete()
    Permission.objects.filter(Q(content_type__app_label__in=("chat", "routing", "auth"))).delete()
    migration = importlib.import_module("portal.migrations.0001_roles")
    state = MigrationLoader(connection).project_state(("portal", "0001_roles"))

    migration.create_roles(state.apps, SimpleNamespace(connection=connection))

    assert Permission.objects.filter(content_type__app_label="chat").exists()
    expected = expected_permissions()
    for role in Role:
        assert group_permissions(role) == expected[role], role


@pytest.mark.django_db
def test_roles_sync_grants_what_is_missing_and_keeps_extras():
    """roles_sync() gives a role back the permissions it lacks (e.g. of a model added
    later) and keeps permissions an administrator granted by hand."""
    administrator = Group.objects.get(name=Role.ADMINISTRATOR.value)
    administrator.permissions.remove(Permission.objects.get(codename="change_channel"))
    manager = Group.objects.get(name=Role.CSR_MANAGER.value)
    manager.permissions.add(Permission.objects.get(codename="change_queue"))

    roles_sync()

    assert "chat.change_channel" in group_permissions(Role.ADMINISTRATOR)
    assert "routing.change_queue" in group_permissions(Role.CSR_MANAGER)


@pytest.mark.django_db
def test_roles_sync_takes_channel_and_bot_client_permissions_from_managers():
    """A CSR manager group that holds any permission on channels or bot API clients (an
    older grant, or one made by hand) loses it on the next roles_sync(): their secrets
    and connector settings are the Administrators' alone."""
    manager = Group.objects.get(name=Role.CSR_MANAGER.value)
    manager.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="chat", content_type__model__in=("channel", "botclient")
        )
    )

    roles_sync()

    held = group_permissions(Role.CSR_MANAGER)
    assert not {p for p in held if p.endswith(("_channel", "_botclient"))}
    assert "chat.view_interaction" in held
    assert "chat.change_channel" in group_permissions(Role.ADMINISTRATOR)


@pytest.mark.django_db
def test_every_migrate_brings_the_roles_up_to_date():
    """After a migrate (its post_migrate signal), a permission missing from a role is
    granted and a CSR manager's permission on channels is gone, without seed_demo."""
    from django.core.management.sql import emit_post_migrate_signal

    manager = Group.objects.get(name=Role.CSR_MANAGER.value)
    manager.permissions.add(Permission.objects.get(codename="view_channel"))
    manager.permissions.remove(Permission.objects.get(codename="view_interaction"))

    emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)

    held = group_permissions(Role.CSR_MANAGER)
    assert "chat.view_channel" not in held
    assert "chat.view_interaction" in held


@pytest.mark.django_db
def test_roles_sync_recreates_missing_groups_and_permissions():
    """roles_sync() creates the groups and the permissions themselves when they are gone,
    and running it again changes nothing."""
    Group.objects.all().delete()
    Permission.objects.filter(content_type__model="channel").delete()

    roles_sync()
    first = {role: group_permissions(role) for role in Role}
    roles_sync()

    assert {role: group_permissions(role) for role in Role} == first
    assert "chat.add_channel" in first[Role.ADMINISTRATOR]
    assert "chat.view_channel" not in first[Role.CSR_MANAGER]
    assert "chat.view_interaction" in first[Role.CSR_MANAGER]
    assert first[Role.CSR] == set()
    assert Group.objects.count() == 3
