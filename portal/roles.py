"""The three roles, as Django groups, and the checks every page and socket uses."""

from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


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
