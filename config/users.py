"""Portal users: the three roles (Django groups), the checks every page, socket and
endpoint makes with them, and the name a user is shown by.

Here, below every app, because each app checks roles: chat (who may watch a chat),
routing (who takes chats), transcripts (who may download) and the portal's pages."""

from enum import StrEnum
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from rest_framework.permissions import BasePermission


class Role(StrEnum):
    CSR = "CSR"
    CSR_MANAGER = "CSR manager"
    ADMINISTRATOR = "Administrator"


def user_roles(user: AbstractBaseUser | AnonymousUser) -> set[Role]:
    if not user.is_authenticated:
        return set()
    names = {group.name for group in user.groups.all()}  # type: ignore[attr-defined]
    roles = {role for role in Role if role.value in names}
    if user.is_superuser:  # type: ignore[attr-defined]
        roles.add(Role.ADMINISTRATOR)
    return roles


def is_csr(user: AbstractBaseUser | AnonymousUser) -> bool:
    return Role.CSR in user_roles(user)


def is_csr_manager(user: AbstractBaseUser | AnonymousUser) -> bool:
    return Role.CSR_MANAGER in user_roles(user)


def is_administrator(user: AbstractBaseUser | AnonymousUser) -> bool:
    return Role.ADMINISTRATOR in user_roles(user)


def display_name(user: Any) -> str:
    """The user's full name, or their user name when they have none."""
    return (user.get_full_name() or "").strip() or user.get_username()


class IsCSR(BasePermission):
    message = "Only CSRs may do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and is_csr(request.user))


class IsCSRManager(BasePermission):
    message = "Only CSR managers may do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and is_csr_manager(request.user))
