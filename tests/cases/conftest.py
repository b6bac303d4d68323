"""Fixtures for the service-case tests: the demo bank's case types, a CSR handling an
active chat (with the accepted offer routing records) and clients logged in."""

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from cases.demo import demo_case_types_create
from cases.models import CaseType
from chat.models import Interaction, InteractionStatus, Message, SenderKind
from chat.services.messages import message_create
from config.users import Role
from portal.services import roles_sync
from routing.models import Offer, OfferStatus
from tests.factories import interaction_factory, user_factory


@pytest.fixture
def case_types(db) -> dict[str, CaseType]:
    return {case_type.prefix: case_type for case_type in demo_case_types_create()}


@pytest.fixture
def csr(db) -> User:
    roles_sync()
    return user_factory(role=Role.CSR)


@pytest.fixture
def other_csr(db) -> User:
    roles_sync()
    return user_factory(role=Role.CSR)


@pytest.fixture
def manager(db) -> User:
    roles_sync()
    return user_factory(role=Role.CSR_MANAGER)


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def chat_with(csr: User, *, authenticated: bool = False, **overrides) -> Interaction:
    """An active chat the CSR accepted."""
    interaction = interaction_factory(
        status=InteractionStatus.ACTIVE,
        assigned_csr=csr,
        accepted_at=timezone.now(),
        authenticated=authenticated,
        **overrides,
    )
    Offer.objects.create(
        interaction=interaction,
        csr=csr,
        queue=interaction.queue,
        status=OfferStatus.ACCEPTED,
        responded_at=timezone.now(),
        expires_at=timezone.now(),
    )
    return interaction


def customer_says(interaction: Interaction, text: str) -> Message:
    interaction.refresh_from_db()
    return message_create(
        interaction=interaction,
        sender_kind=SenderKind.CUSTOMER,
        text=text,
        author_name=interaction.customer_name,
    )


@dataclass
class Chat:
    csr: User
    interaction: Interaction


@pytest.fixture
def dispute_chat(csr, case_types) -> Chat:
    """An authenticated customer who says someone took £250 from their card on Monday."""
    interaction = chat_with(csr, authenticated=True, intent="card_dispute")
    customer_says(interaction, "someone took £250 from my card on Monday")
    interaction.refresh_from_db()
    return Chat(csr=csr, interaction=interaction)
