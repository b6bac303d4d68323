"""Escalations: a bot hands a customer over to the contact center. The front door of
routing: the chat is opened in its queue and a routing run asked for."""

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from chat import identity
from chat.errors import IdempotencyKeyConflict
from chat.models import BotClient, Channel, Interaction
from chat.selectors.channels import channel_get_for_escalation
from chat.selectors.interactions import interaction_get_by_idempotency_key
from chat.services.customers import CustomerData, customer_token_create, customer_upsert
from chat.services.interactions import TranscriptEntry, interaction_open
from config.oncommit import on_commit_robust
from routing.selectors.queues import queue_for_escalation
from routing.services.requests import routing_request
from routing.services.waits import long_wait_timer_arm

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EscalationWarning:
    """Something the escalation did not take as sent, though it went through."""

    code: str
    field: str
    message: str


@dataclass(frozen=True)
class EscalationResult:
    interaction: Interaction
    customer_token: str  # clear text, handed out once; only its digest is stored
    created: bool  # False for an idempotent replay
    warnings: tuple[EscalationWarning, ...] = ()


def escalation_fingerprint(*, body: Any) -> str:
    """SHA-256 of the request body as canonical JSON (sorted keys, no spaces), so the
    same content sent with other spacing or key order has the same fingerprint."""
    canonical = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def escalation_create(
    *,
    client: BotClient,
    channel_slug: str,
    customer: CustomerData,
    queue_slug: str | None = None,
    intent: str = "",
    context: dict[str, Any] | None = None,
    transcript: list[TranscriptEntry] | None = None,
    priority: int = 0,
    idempotency_key: str = "",
    fingerprint: str = "",
) -> EscalationResult:
    """Hand a customer over from a bot: in one transaction upsert the customer, open the
    queued interaction with the bot transcript and the escalation notice, and mint a
    customer token; ask for a routing run of its queue once that commits.

    With an idempotency key already used by this client: the same fingerprint replays
    the first escalation (with a new customer token), another raises
    IdempotencyKeyConflict. The key is not looked up first: the insert hits the unique
    constraint, everything rolls back, and the first interaction is read."""
    try:
        with transaction.atomic():
            channel = channel_get_for_escalation(client=client, slug=channel_slug)
            queue = queue_for_escalation(channel=channel, queue_slug=queue_slug, intent=intent)
            verified, warnings = _escalation_identity(channel=channel, customer_data=customer)
            interaction = interaction_open(
                customer=customer_upsert(data=customer, verified=verified),
                channel=channel,
                queue=queue,
                bot_client=client,
                intent=intent,
                context=context,
                transcript=transcript,
                priority=priority,
                authenticated_at=timezone.now() if verified is not None else None,
                idempotency_key=idempotency_key,
                fingerprint=fingerprint,
            )
            token = customer_token_create(interaction=interaction)
            # robust: the escalation is committed whatever the broker does; a queued
            # interaction that missed its run waits in its queue for the sweep.
            on_commit_robust(routing_request, queue_ids=[queue.pk])
            long_wait_timer_arm(queue=queue, queued_at=interaction.queued_at)
    except IntegrityError:
        existing = interaction_get_by_idempotency_key(client=client, key=idempotency_key)
        if existing is None:
            raise
        logger.info("Escalation with key %r replays interaction %s", idempotency_key, existing.pk)
        return _escalation_replay(
            interaction=existing, key=idempotency_key, fingerprint=fingerprint
        )
    logger.info(
        "Escalated interaction %s to queue %s (channel %s)",
        interaction.pk,
        queue.slug,
        channel.slug,
    )
    return EscalationResult(
        interaction=interaction, customer_token=token, created=True, warnings=warnings
    )


def _escalation_replay(*, interaction: Interaction, key: str, fingerprint: str) -> EscalationResult:
    if interaction.request_fingerprint != fingerprint:
        raise IdempotencyKeyConflict(
            f"Idempotency key '{key}' was already used for escalation {interaction.pk} with a "
            "different request body. Send a new key for a new escalation, or the original "
            "body to get that escalation back."
        )
    # Only digests are stored, so the first token cannot be returned: mint another. The
    # first one stays valid.
    token = customer_token_create(interaction=interaction)
    return EscalationResult(interaction=interaction, customer_token=token, created=False)


def _escalation_identity(
    *, channel: Channel, customer_data: CustomerData
) -> tuple[identity.VerifiedIdentity | None, tuple[EscalationWarning, ...]]:
    """Whether the escalation proves who the customer is: only a valid identity token
    for customer.external_id does. A bare `authenticated: true`, or a token that does
    not check out, is not an error (the customer still reaches a CSR): the interaction
    arrives unauthenticated, with a warning saying why."""
    token = customer_data.get("identity_token")
    if token is None:
        if not customer_data.get("authenticated"):
            return None, ()
        warning = EscalationWarning(
            code="authentication_unverified",
            field="customer.authenticated",
            message="authenticated: true needs customer.identity_token, signed with the "
            "channel's identity secret (docs/authentication.md); the customer arrives "
            "unauthenticated.",
        )
    else:
        try:
            verified = identity.verify(
                token=token,
                secret=channel.identity_secret,
                customer_id=customer_data.get("external_id", ""),
            )
        except identity.IdentityError as error:
            warning = EscalationWarning(
                code=error.code,
                field="customer.identity_token",
                message=f"{error.message} The customer arrives unauthenticated.",
            )
        else:
            return verified, ()
    logger.warning("Escalation on channel %r not authenticated: %s", channel.slug, warning.code)
    return None, (warning,)
