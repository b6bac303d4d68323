"""Secrets handed out once and stored only as SHA-256 digests."""

import hashlib
import hmac
import secrets

BOT_TOKEN_PREFIX = "bot_"  # noqa: S105 (a prefix, not a secret)
CUSTOMER_TOKEN_PREFIX = "cus_"  # noqa: S105


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_new(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def digests_match(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
