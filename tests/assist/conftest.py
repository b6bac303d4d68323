"""Fixtures for the assist app's tests: the demo help centre and phrases, a live chat
handled by a CSR, and logged-in clients."""

from dataclasses import dataclass

import pytest
from django.test import Client

from assist.demo import demo_assist_seed
from assist.models import PushDomain
from chat.models import Interaction
from config.users import Role
from tests.chat.conftest import (  # noqa: F401 - fixtures used by the tests here
    chat_headers,
    live_chat_factory,
    make_live_chat,
)
from tests.factories import user_factory


@pytest.fixture
def demo_content(db):
    """The demo articles and phrases (assist/demo.py)."""
    demo_assist_seed()


@dataclass
class CsrChat:
    interaction: Interaction
    csr_client: Client
    csr: object

    @property
    def id(self) -> int:
        return self.interaction.pk

    def url(self, path: str) -> str:
        return f"/portal-api/assist/interactions/{self.id}/{path}"


def csr_chat_make(**overrides) -> CsrChat:
    chat = make_live_chat(customer_name="Dana Reyes", intent="lost_card", **overrides)
    PushDomain.objects.create(channel=chat.interaction.channel, domain="northwind.example")
    client = Client()
    client.force_login(chat.csr)
    return CsrChat(interaction=chat.interaction, csr_client=client, csr=chat.csr)


@pytest.fixture
def csr_chat(db, demo_content) -> CsrChat:
    """An active chat (customer Dana Reyes, intent lost_card) handled by a CSR logged in
    to a test client; its channel allows pages from northwind.example."""
    return csr_chat_make()


@pytest.fixture
def other_csr_client(db) -> Client:
    client = Client()
    client.force_login(user_factory(role=Role.CSR, first_name="Blake", last_name="Chen"))
    return client
