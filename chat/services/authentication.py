"""Request authentication and authenticate: a CSR asks the customer to prove who they
are; the customer's widget or the connector sends an identity token that does
(docs/authentication.md)."""

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from chat import events, identity
from chat.errors import ChatError, ChatRateLimited
from chat.locks import interaction_lock
from chat.models import (
    BotClient,
    Channel,
    Interaction,
    InteractionStatus,
    Message,
    SenderKind,
    SystemEvent,
)
from chat.services.messages import message_create
from config.ratelimit import window_count
from config.redis import REDIS_ERRORS
from config.users import display_name

logger = logging.getLogger(__name__)

AUTH_REQUESTED_TEXT = "Authentication request is sent to customer"
AUTHENTICATED_TEXT = "Customer authenticated"
AUTH_ATTEMPT_WINDOW_SECONDS = 60
# How the customer proved who they are (the AUTHENTICATED message's data["via"]).
AUTH_VIA_WIDGET = "widget"
AUTH_VIA_CONNECTOR = "connector"


def auth_request_unavailable(*, interaction: Interaction) -> ChatError | None:
    """Why the customer of this chat cannot be asked to authenticate now, whoever asks;
    None when they can. Reads `interaction.channel`."""
    if not interaction.is_open:
        return ChatError("chat_ended", "This chat has ended.")
    if interaction.status != InteractionStatus.ACTIVE:
        return ChatError("not_active", "The chat is not active.")
    if interaction.authenticated:
        return ChatError("already_authenticated", "The customer is already authenticated.")
    return channel_auth_request_unavailable(channel=interaction.channel)


def channel_auth_request_unavailable(*, channel: Channel) -> ChatError | None:
    """Why customers on this channel can never be asked to authenticate; None when they
    can (App Studio allows it and an identity secret is set to check their tokens)."""
    if not channel.auth_requests_allowed:
        return ChatError("auth_not_allowed", "This channel does not allow authentication requests.")
    if not channel.identity_secret:
        return ChatError(
            identity.NOT_CONFIGURED, "No identity secret is configured for this channel."
        )
    return None


def interaction_request_authentication(*, interaction_id: int, csr: AbstractBaseUser) -> Message:
    """The handling CSR asks the customer to log in: the request time is stored and the
    system message "Authentication request is sent to customer" (event auth_requested)
    is added, which is the customer's login request: the widget shows a login prompt on
    it, and a connector gets it by webhook (docs/authentication.md)."""
    with transaction.atomic():
        interaction = interaction_lock(interaction_id, "channel")
        if interaction is None:
            raise ChatError("not_found", "This chat does not exist.")
        if interaction.assigned_csr_id != csr.pk:
            raise ChatError("not_party", "You are not handling this chat.")
        refusal = auth_request_unavailable(interaction=interaction)
        if refusal is not None:
            raise refusal
        interaction.auth_requested_at = timezone.now()
        interaction.save(update_fields=["auth_requested_at"])
        return message_create(
            interaction=interaction,
            sender_kind=SenderKind.SYSTEM,
            text=AUTH_REQUESTED_TEXT,
            event=SystemEvent.AUTH_REQUESTED,
            data={"csr": display_name(csr), "csr_id": csr.pk},
        )


def _auth_attempt_take(interaction_id: int) -> None:
    """Count an authentication attempt against the interaction's minute, in the shared
    cache (fixed windows, so every server process counts together). While Redis is down
    attempts are not counted: the token's signature still has to check out."""
    limit = settings.PORTAL["AUTH_ATTEMPTS_PER_MINUTE"]
    try:
        counted = window_count(
            f"auth-attempts:{interaction_id}", window_seconds=AUTH_ATTEMPT_WINDOW_SECONDS
        )
    except REDIS_ERRORS:
        logger.warning("Authentication attempt in interaction %s not counted", interaction_id)
        return
    if counted.count > limit:
        retry_after = counted.retry_after
        raise ChatRateLimited(
            f"Too many authentication attempts for this chat: at most {limit} a minute. "
            f"Try again in {retry_after} seconds.",
            retry_after=retry_after,
        )


def interaction_authenticate(
    *, interaction_id: int, token: Any, client: BotClient | None = None
) -> Interaction:
    """The customer proves who they are with an identity token signed for them
    (chat.identity): sent by their widget over the customer socket, or by the connector
    (`client`) that escalated the chat.

    Every attempt counts against PORTAL["AUTH_ATTEMPTS_PER_MINUTE"] first. A valid token
    marks, in one transaction, the interaction (its `customer_verified_identity`) and the
    customer authenticated with the verified identity, adds "Customer authenticated"
    (event authenticated) and publishes the status change, so the CSR's icon lights up.
    Any refusal changes nothing."""
    _auth_attempt_take(interaction_id)
    with transaction.atomic():
        interaction = interaction_lock(interaction_id, "channel", "customer", "assigned_csr")
        if interaction is None or (client is not None and interaction.bot_client_id != client.pk):
            raise ChatError("not_found", "This chat does not exist.")
        if not interaction.is_open:
            raise ChatError("chat_ended", "This chat has ended; it can no longer be authenticated.")
        if interaction.authenticated:
            raise ChatError("already_authenticated", "The customer is already authenticated.")
        customer = interaction.customer
        try:
            verified = identity.verify(
                token=token,
                secret=interaction.channel.identity_secret,
                customer_id=customer.external_id,
            )
        except identity.IdentityError as error:
            logger.info("Authentication refused in interaction %s: %s", interaction.pk, error.code)
            raise ChatError(error.code, error.message) from None
        interaction.authenticated = True
        interaction.authenticated_at = timezone.now()
        interaction.auth_requested_at = None
        interaction.customer_verified_identity = verified.identity
        interaction.save(
            update_fields=[
                "authenticated",
                "authenticated_at",
                "auth_requested_at",
                "customer_verified_identity",
            ]
        )
        customer.authenticated = True
        customer.verified_identity = verified.identity
        customer.save(update_fields=["authenticated", "verified_identity", "updated_at"])
        message_create(
            interaction=interaction,
            sender_kind=SenderKind.SYSTEM,
            text=AUTHENTICATED_TEXT,
            event=SystemEvent.AUTHENTICATED,
            data={
                "identity": verified.identity,
                "via": AUTH_VIA_CONNECTOR if client is not None else AUTH_VIA_WIDGET,
            },
        )
        events.interaction_status_changed(interaction=interaction)
    logger.info("Interaction %s: customer authenticated", interaction.pk)
    return interaction
