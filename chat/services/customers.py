"""Customers: the record a bot's escalation creates or updates, and the tokens that
let a customer's widget join their chat."""

from typing import Any, NotRequired, TypedDict

from django.db import IntegrityError, transaction

from chat.identity import VerifiedIdentity
from chat.locks import customer_lock
from chat.models import Customer, CustomerToken, Interaction
from chat.tokens import CUSTOMER_TOKEN_PREFIX, token_digest, token_new

# The name given to a new customer the bot could not name.
UNNAMED_CUSTOMER = "Guest"


class CustomerData(TypedDict):
    """Who the customer is, as the bot knows them. Empty or missing values keep what an
    earlier escalation stored for the same external_id."""

    external_id: NotRequired[str]
    name: NotRequired[str]
    email: NotRequired[str]
    phone: NotRequired[str]
    # A claim of authentication counts only with a valid identity token (chat.identity).
    authenticated: NotRequired[bool]
    identity_token: NotRequired[dict[str, Any]]
    metadata: NotRequired[dict[str, Any]]


def customer_upsert(*, data: CustomerData, verified: VerifiedIdentity | None = None) -> Customer:
    """The customer with this external_id, updated (empty values keep the stored ones,
    metadata is merged key by key), or a new customer; always new without an
    external_id. A claim of authentication sets `authenticated` to whether it was
    verified. Joins the caller's transaction."""
    external_id = data.get("external_id", "")
    given: dict[str, Any] = {
        field: data[field]  # type: ignore[literal-required]
        for field in ("name", "email", "phone")
        if data.get(field)
    }
    if "authenticated" in data or "identity_token" in data:
        given["authenticated"] = verified is not None
    if verified is not None:
        given["verified_identity"] = verified.identity
    metadata = data.get("metadata") or {}
    defaults = {"name": UNNAMED_CUSTOMER, **given, "metadata": metadata}
    if not external_id:
        return Customer.objects.create(**defaults)
    with transaction.atomic(savepoint=False):
        # Locked: two escalations of one customer must not lose each other's metadata.
        customer = customer_lock(external_id=external_id)
        if customer is None:
            try:
                with transaction.atomic():
                    return Customer.objects.create(external_id=external_id, **defaults)
            except IntegrityError:
                # Two escalations of a new customer: the insert that commits first wins;
                # the other waited on the unique constraint, and updates that customer.
                customer = customer_lock(external_id=external_id)
                assert customer is not None
        for field, value in given.items():
            setattr(customer, field, value)
        customer.metadata = {**customer.metadata, **metadata}
        customer.save(update_fields=[*given, "metadata", "updated_at"])
    return customer


def customer_snapshot(*, customer: Customer, verified_identity: str = "") -> dict[str, Any]:
    """The Interaction fields that keep the customer as they are now (name, email,
    phone, metadata, and the identity proven for that interaction, if any): readers of
    an interaction show these, never the Customer row, which a later escalation of the
    same customer may change."""
    return {
        "customer_name": customer.name,
        "customer_email": customer.email,
        "customer_phone": customer.phone,
        "customer_verified_identity": verified_identity,
        "customer_metadata": dict(customer.metadata),
    }


def customer_token_create(*, interaction: Interaction) -> str:
    """A new token for the customer's widget to join the chat: handed out once in clear
    text; only its digest is stored."""
    token = token_new(CUSTOMER_TOKEN_PREFIX)
    CustomerToken.objects.create(interaction=interaction, token_hash=token_digest(token))
    return token
