"""Identity verification: tokens a host website or connector signs to prove who a customer is.

A token is a JSON object (docs/authentication.md):

    {"customer_id": "cust-1001", "identity": "NB-1001 (Dana Reyes)",
     "expires_at": 1767225600, "signature": "<64 hex digits>"}

- `customer_id`: the customer's id as the chat knows it (`customer.external_id` of the
  escalation); 1–200 characters, no control characters.
- `identity` (optional): who the customer proved to be, as the site knows them (an
  account number, a user name); at most 200 characters, no control characters. Missing
  or empty: the customer id itself is the verified identity.
- `expires_at`: when the token stops being accepted, in Unix seconds; at most
  PORTAL["IDENTITY_TOKEN_MAX_LIFETIME_SECONDS"] (10 minutes by default) ahead.
- `signature`: hex HMAC-SHA256, keyed with the channel's identity secret, of the three
  values joined by newlines (`signing_message`):

      f"{customer_id}\\n{identity}\\n{expires_at}"

Pure functions only: no database, no settings read unless no limit is passed.
"""

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings

MAX_FIELD_CHARS = 200
SIGNATURE_HEX_CHARS = 64
# A token may expire this much later than the lifetime allows (clocks of two hosts).
CLOCK_SKEW_SECONDS = 30
DEFAULT_LIFETIME_SECONDS = 300

TOKEN_FIELDS = frozenset({"customer_id", "identity", "expires_at", "signature"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")

# Refusal codes, the same on the customer socket, the REST API and in the logs.
NOT_CONFIGURED = "identity_not_configured"
MALFORMED = "malformed_token"
BAD_SIGNATURE = "bad_signature"
EXPIRED = "token_expired"
EXPIRY_TOO_FAR = "expiry_too_far"
WRONG_CUSTOMER = "wrong_customer"


class IdentityError(Exception):
    """A refused identity token, with a code for machines and a message for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class IdentityToken:
    customer_id: str
    identity: str
    expires_at: int
    signature: str


@dataclass(frozen=True)
class VerifiedIdentity:
    customer_id: str
    identity: str  # the token's identity, or the customer id when it named none


def signing_message(*, customer_id: str, identity: str, expires_at: int) -> bytes:
    """The exact bytes that are signed: the three values joined by newlines, UTF-8."""
    return f"{customer_id}\n{identity}\n{expires_at}".encode()


def signature_for(*, secret: str, customer_id: str, identity: str, expires_at: int) -> str:
    """Hex HMAC-SHA256 of the signing message, keyed with the secret (UTF-8)."""
    message = signing_message(customer_id=customer_id, identity=identity, expires_at=expires_at)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(
    *,
    secret: str,
    customer_id: str,
    identity: str = "",
    lifetime_seconds: int = DEFAULT_LIFETIME_SECONDS,
    now: float | None = None,
) -> dict[str, Any]:
    """A signed token for `customer_id`, valid for `lifetime_seconds`: what a host site's
    server does after its own login (docs/authentication.md has the same in a few lines
    of any language, and as an openssl one-liner)."""
    expires_at = int(time.time() if now is None else now) + lifetime_seconds
    return {
        "customer_id": customer_id,
        "identity": identity,
        "expires_at": expires_at,
        "signature": signature_for(
            secret=secret, customer_id=customer_id, identity=identity, expires_at=expires_at
        ),
    }


def _text(raw: dict[str, Any], field: str, *, required: bool) -> str:
    value = raw.get(field, "")
    if not isinstance(value, str):
        raise IdentityError(MALFORMED, f"The identity token's {field} must be a string.")
    if required and not value:
        raise IdentityError(MALFORMED, f"The identity token has no {field}.")
    if len(value) > MAX_FIELD_CHARS:
        raise IdentityError(
            MALFORMED,
            f"The identity token's {field} may be at most {MAX_FIELD_CHARS} characters.",
        )
    if _CONTROL.search(value):
        raise IdentityError(
            MALFORMED, f"The identity token's {field} may not contain control characters."
        )
    return value


def token_parse(raw: Any) -> IdentityToken:
    """The token's fields, checked for shape only (not for the signature)."""
    if not isinstance(raw, dict):
        raise IdentityError(
            MALFORMED,
            "The identity token must be a JSON object with customer_id, expires_at and "
            "signature (and optionally identity).",
        )
    unknown = sorted(str(key) for key in raw if key not in TOKEN_FIELDS)
    if unknown:
        raise IdentityError(
            MALFORMED,
            f"The identity token has unknown fields: {', '.join(unknown)}. Only "
            "customer_id, identity, expires_at and signature are signed.",
        )
    customer_id = _text(raw, "customer_id", required=True)
    identity = _text(raw, "identity", required=False)
    expires_at = raw.get("expires_at")
    if isinstance(expires_at, bool) or not isinstance(expires_at, int) or expires_at <= 0:
        raise IdentityError(
            MALFORMED, "The identity token's expires_at must be a positive integer (Unix seconds)."
        )
    signature = raw.get("signature")
    if not isinstance(signature, str) or not _HEX.match(signature):
        raise IdentityError(
            MALFORMED,
            f"The identity token's signature must be {SIGNATURE_HEX_CHARS} hexadecimal "
            "digits (HMAC-SHA256).",
        )
    return IdentityToken(
        customer_id=customer_id,
        identity=identity,
        expires_at=expires_at,
        signature=signature.lower(),
    )


def verify(
    *,
    token: Any,
    secret: str,
    customer_id: str,
    now: float | None = None,
    max_lifetime_seconds: int | None = None,
) -> VerifiedIdentity:
    """The identity the token proves for `customer_id`, or IdentityError saying why not.

    Checked in this order: a secret to check against, the shape, the signature (in
    constant time), the expiry (not past, not further ahead than the lifetime allows),
    and last the customer, so that only genuine tokens learn more than "bad signature".
    """
    if not secret:
        raise IdentityError(
            NOT_CONFIGURED,
            "This channel has no identity secret, so no identity token can be checked; an "
            "administrator can set one on the channel in the admin.",
        )
    parsed = token_parse(token)
    expected = signature_for(
        secret=secret,
        customer_id=parsed.customer_id,
        identity=parsed.identity,
        expires_at=parsed.expires_at,
    )
    if not hmac.compare_digest(expected.encode(), parsed.signature.encode()):
        raise IdentityError(
            BAD_SIGNATURE,
            "The identity token's signature does not match: sign it with this channel's "
            "identity secret (see docs/authentication.md).",
        )
    now = time.time() if now is None else now
    if max_lifetime_seconds is None:
        max_lifetime_seconds = settings.PORTAL["IDENTITY_TOKEN_MAX_LIFETIME_SECONDS"]
    if parsed.expires_at <= now:
        raise IdentityError(
            EXPIRED, "The identity token has expired: ask the website for a new one."
        )
    if parsed.expires_at > now + max_lifetime_seconds + CLOCK_SKEW_SECONDS:
        raise IdentityError(
            EXPIRY_TOO_FAR,
            f"The identity token expires too far ahead: tokens may be valid for at most "
            f"{max_lifetime_seconds} seconds.",
        )
    if not customer_id or not hmac.compare_digest(
        parsed.customer_id.encode(), customer_id.encode()
    ):
        raise IdentityError(
            WRONG_CUSTOMER, "The identity token was signed for a different customer."
        )
    return VerifiedIdentity(
        customer_id=parsed.customer_id, identity=parsed.identity or parsed.customer_id
    )
