"""Fixtures for the portal tests: users in each role and admin clients logged in as them."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from config.users import Role
from portal.services import roles_sync
from tests.factories import user_factory


@pytest.fixture
def roles(db) -> None:
    """The role groups with their permissions, whatever earlier tests left behind."""
    roles_sync()


@pytest.fixture
def administrator(roles) -> User:
    """An Administrator as the admin sees one: staff, in the group, not a superuser."""
    return user_factory(role=Role.ADMINISTRATOR)


@pytest.fixture
def administrator_client(administrator: User) -> Client:
    client = Client()
    client.force_login(administrator)
    return client


@pytest.fixture
def manager(roles) -> User:
    """A CSR manager with staff status, so the admin lets them look around."""
    return user_factory(role=Role.CSR_MANAGER, is_staff=True)


@pytest.fixture
def manager_client(manager: User) -> Client:
    client = Client()
    client.force_login(manager)
    return client


@pytest.fixture
def csr_client(roles) -> Client:
    client = Client()
    client.force_login(user_factory(role=Role.CSR))
    return client


@pytest.fixture
def superuser_client(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser(username="root", password="root-pass-123"))
    return client
