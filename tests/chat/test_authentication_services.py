"""Request authentication and authenticate (chat.services): only the handling CSR asks,
only a valid identity token for the chat's customer authenticates, attempts are
rate-limited, and a refusal changes nothing."""

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.utils import timezone

from chat import identity, schemas
from chat.errors import ChatError, ChatRateLimited
from chat.events import interaction_group
from chat.models import (
    ChannelKind,
    Interaction,
    InteractionStatus,
    Message,
    SenderKind,
    SystemEvent,
    WebhookDelivery,
)
from chat.services.authentication import (
    AUTH_REQUESTED_TEXT,
    AUTHENTICATED_TEXT,
    interaction_authenticate,
    interaction_request_authentication,
)
from chat.services.bot_clients import bot_client_create
from config.users import Role
from tests.chat.conftest import assert_shape, group_listener, make_live_chat
from tests.factories import channel_factory, customer_factory, user_factory

pytestmark = pytest.mark.django_db

SECRET = "channel-identity-secret"


def auth_chat(*, status=InteractionStatus.ACTIVE, channel=None, **overrides):
    """A live chat on a channel with an identity secret, its customer known as cust-77."""
    channel = channel or channel_factory(identity_secret=SECRET)
    if "customer" not in overrides:
        overrides["customer"] = customer_factory(external_id="cust-77", name="Dana")
    return make_live_chat(status=status, channel=channel, **overrides)


def token_for(customer_id="cust-77", *, secret=SECRET, identity_text="NB-1001 (Dana)", **kw):
    return identity.sign(secret=secret, customer_id=customer_id, identity=identity_text, **kw)


def refused(code, fn, **kwargs) -> ChatError:
    with pytest.raises(ChatError) as caught:
        fn(**kwargs)
    assert caught.value.code == code, caught.value.message
    assert caught.value.message
    return caught.value


def snapshot(interaction: Interaction) -> tuple:
    """Everything authentication may change, to show that a refusal changed nothing."""
    interaction = Interaction.objects.select_related("customer").get(pk=interaction.pk)
    customer = interaction.customer
    return (
        interaction.authenticated,
        interaction.authenticated_at,
        interaction.auth_requested_at,
        interaction.last_seq,
        customer.authenticated,
        customer.verified_identity,
        Message.objects.filter(interaction=interaction).count(),
    )


# --- interaction_request_authentication -----------------------------------------------


def test_the_handling_csr_requests_authentication():
    """The request is stored and the chat gets the system message the reference names."""
    chat = auth_chat()
    before = timezone.now()

    message = interaction_request_authentication(interaction_id=chat.id, csr=chat.csr)

    assert message.text == "Authentication request is sent to customer" == AUTH_REQUESTED_TEXT
    assert message.sender_kind == SenderKind.SYSTEM
    assert message.event == SystemEvent.AUTH_REQUESTED
    assert message.seq == 1
    assert message.data == {"csr": chat.csr.get_full_name(), "csr_id": chat.csr.pk}
    chat.interaction.refresh_from_db()
    assert chat.interaction.auth_requested_at >= before
    assert chat.interaction.last_seq == 1
    assert chat.interaction.authenticated is False


def test_the_csr_may_ask_again():
    chat = auth_chat()
    interaction_request_authentication(interaction_id=chat.id, csr=chat.csr)
    again = interaction_request_authentication(interaction_id=chat.id, csr=chat.csr)
    assert again.seq == 2


@pytest.mark.parametrize(
    ("code", "setup"),
    [
        ("not_party", lambda chat: {"csr": user_factory(role=Role.CSR)}),
        ("not_party", lambda chat: {"csr": user_factory(role=Role.CSR_MANAGER)}),
        ("not_found", lambda chat: {"interaction_id": chat.id + 10_000}),
    ],
)
def test_only_the_handling_csr_may_request(code, setup):
    chat = auth_chat()
    before = snapshot(chat.interaction)
    kwargs = {"interaction_id": chat.id, "csr": chat.csr, **setup(chat)}
    refused(code, interaction_request_authentication, **kwargs)
    assert snapshot(chat.interaction) == before


@pytest.mark.parametrize(
    ("code", "make", "says"),
    [
        (
            "chat_ended",
            lambda csr: auth_chat(status=InteractionStatus.ENDED, csr=csr),
            "This chat has ended.",
        ),
        (
            "not_active",
            lambda csr: auth_chat(status=InteractionStatus.OFFERED, csr=csr),
            "The chat is not active.",
        ),
        (
            "already_authenticated",
            lambda csr: auth_chat(authenticated=True, csr=csr),
            "The customer is already authenticated.",
        ),
        (
            "auth_not_allowed",
            lambda csr: auth_chat(
                channel=channel_factory(identity_secret=SECRET, auth_requests_allowed=False),
                csr=csr,
            ),
            "This channel does not allow authentication requests.",
        ),
        (
            "identity_not_configured",
            lambda csr: auth_chat(channel=channel_factory(), csr=csr),
            "No identity secret is configured for this channel.",
        ),
    ],
)
def test_a_request_is_refused_when_the_chat_does_not_allow_it(code, make, says):
    """Only while active, the customer unauthenticated, and the channel allowing it with
    a secret to check tokens against; refused, nothing changes."""
    csr = user_factory(role=Role.CSR)
    chat = make(csr)
    before = snapshot(chat.interaction)
    assert (
        refused(code, interaction_request_authentication, interaction_id=chat.id, csr=csr).message
        == says
    )
    assert snapshot(chat.interaction) == before


def test_on_a_public_channel_the_request_goes_to_the_connector_by_webhook(
    django_capture_on_commit_callbacks,
):
    """The login request is the system message: a connector gets it like every system
    message, with event auth_requested, and asks the customer to log in."""
    channel = channel_factory(
        identity_secret=SECRET,
        kind=ChannelKind.WHATSAPP,
        webhook_url="https://connector.example/hook",
        webhook_secret="whsec",
    )
    chat = auth_chat(channel=channel)
    with django_capture_on_commit_callbacks(execute=False):
        message = interaction_request_authentication(interaction_id=chat.id, csr=chat.csr)
    delivery = WebhookDelivery.objects.get(message=message)
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.seq == message.seq


# --- interaction_authenticate ---------------------------------------------------------


def test_a_valid_token_authenticates_the_chat_and_the_customer():
    chat = auth_chat()
    interaction_request_authentication(interaction_id=chat.id, csr=chat.csr)
    before = timezone.now()

    interaction = interaction_authenticate(interaction_id=chat.id, token=token_for())

    assert interaction.authenticated is True
    interaction = Interaction.objects.select_related("customer").get(pk=chat.id)
    assert interaction.authenticated is True
    assert interaction.authenticated_at >= before
    assert interaction.auth_requested_at is None
    assert interaction.customer.authenticated is True
    assert interaction.customer.verified_identity == "NB-1001 (Dana)"
    last = Message.objects.get(interaction=interaction, seq=interaction.last_seq)
    assert (last.sender_kind, last.text, last.event) == (
        SenderKind.SYSTEM,
        "Customer authenticated",
        SystemEvent.AUTHENTICATED,
    )
    assert last.text == AUTHENTICATED_TEXT
    assert last.data == {"identity": "NB-1001 (Dana)", "via": "widget"}


def test_a_customer_may_authenticate_before_a_csr_joins():
    chat = auth_chat(status=InteractionStatus.QUEUED)
    assert interaction_authenticate(interaction_id=chat.id, token=token_for()).authenticated


def test_the_bot_that_escalated_may_authenticate_and_is_named():
    client, _ = bot_client_create(name="Connector")
    chat = auth_chat(bot_client=client)
    interaction_authenticate(interaction_id=chat.id, token=token_for(), client=client)
    last = Message.objects.filter(interaction_id=chat.id).last()
    assert last.data["via"] == "connector"


@pytest.mark.parametrize(
    ("code", "token"),
    [
        ("bad_signature", lambda: token_for(secret="another-secret")),
        ("wrong_customer", lambda: token_for("cust-78")),
        ("token_expired", lambda: token_for(now=timezone.now().timestamp() - 3600)),
        ("expiry_too_far", lambda: token_for(lifetime_seconds=3600)),
        ("malformed_token", lambda: {"customer_id": "cust-77"}),
        ("malformed_token", lambda: "a string"),
    ],
)
def test_a_refused_token_changes_nothing(code, token):
    chat = auth_chat()
    interaction_request_authentication(interaction_id=chat.id, csr=chat.csr)
    before = snapshot(chat.interaction)

    refused(code, interaction_authenticate, interaction_id=chat.id, token=token())

    assert snapshot(chat.interaction) == before


@pytest.mark.parametrize(
    ("code", "make"),
    [
        ("chat_ended", lambda: auth_chat(status=InteractionStatus.ENDED)),
        ("chat_ended", lambda: auth_chat(status=InteractionStatus.ABANDONED)),
        ("already_authenticated", lambda: auth_chat(authenticated=True)),
        ("identity_not_configured", lambda: auth_chat(channel=channel_factory())),
    ],
)
def test_authentication_is_refused_when_the_chat_cannot_take_it(code, make):
    chat = make()
    before = snapshot(chat.interaction)
    refused(code, interaction_authenticate, interaction_id=chat.id, token=token_for())
    assert snapshot(chat.interaction) == before


def test_a_bot_may_not_authenticate_another_bots_chat():
    mine, _ = bot_client_create(name="Mine")
    other, _ = bot_client_create(name="Other")
    chat = auth_chat(bot_client=mine)
    before = snapshot(chat.interaction)
    refused(
        "not_found",
        interaction_authenticate,
        interaction_id=chat.id,
        token=token_for(),
        client=other,
    )
    assert snapshot(chat.interaction) == before


def test_a_customer_without_an_id_cannot_be_verified():
    chat = auth_chat(customer=customer_factory(external_id=""))
    refused("wrong_customer", interaction_authenticate, interaction_id=chat.id, token=token_for())


def test_attempts_are_rate_limited_per_chat(settings):
    """Five attempts a minute per chat, good or bad; the sixth is refused even with a
    valid token, says when to retry, and leaves other chats alone."""
    settings.PORTAL = {**settings.PORTAL, "AUTH_ATTEMPTS_PER_MINUTE": 5}
    chat = auth_chat()
    other = auth_chat(customer=customer_factory(external_id="cust-99"))
    for _ in range(5):
        refused(
            "bad_signature",
            interaction_authenticate,
            interaction_id=chat.id,
            token=token_for(secret="x"),
        )
    before = snapshot(chat.interaction)

    error = refused(
        "rate_limited", interaction_authenticate, interaction_id=chat.id, token=token_for()
    )

    assert isinstance(error, ChatRateLimited)
    assert 1 <= error.retry_after <= 60
    assert "at most 5 a minute" in error.message
    assert snapshot(chat.interaction) == before
    assert interaction_authenticate(
        interaction_id=other.id, token=token_for("cust-99")
    ).authenticated


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_authentication_publishes_the_message_then_the_status():
    """The CSR's panel gets "Customer authenticated", then interaction.status with
    authenticated=true (so the icon lights up), both shaped as chat.schemas says."""
    chat = await sync_to_async(auth_chat)()
    async with group_listener(interaction_group(chat.id)) as next_payload:
        await database_sync_to_async(interaction_request_authentication)(
            interaction_id=chat.id, csr=chat.csr
        )
        requested = await next_payload()
        assert_shape(requested, schemas.MessagePayload)
        assert (requested["seq"], requested["text"], requested["event"]) == (
            1,
            "Authentication request is sent to customer",
            "auth_requested",
        )

        await database_sync_to_async(interaction_authenticate)(
            interaction_id=chat.id, token=token_for()
        )
        message = await next_payload()
        assert_shape(message, schemas.MessagePayload)
        assert (message["seq"], message["text"], message["event"]) == (
            2,
            "Customer authenticated",
            "authenticated",
        )
        status = await next_payload()
        assert_shape(status, schemas.InteractionStatusPayload)
        assert status["authenticated"] is True
        assert status["last_seq"] == 2
        assert status["status"] == "active"
