"""Identity tokens (chat.identity): signed for one customer with the channel's secret, short
lived, checked in constant time, refused with a code and a clear message."""

import hashlib
import hmac
import shutil
import subprocess

import pytest

from chat import identity
from chat.identity import IdentityError, sign, verify

SECRET = "s3cret-for-tests"
NOW = 1_800_000_000.0


def refused(code: str, **kwargs) -> IdentityError:
    """verify(**kwargs) raises IdentityError with this code; returns it."""
    kwargs.setdefault("secret", SECRET)
    kwargs.setdefault("customer_id", "cust-1")
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("max_lifetime_seconds", 600)
    with pytest.raises(IdentityError) as caught:
        verify(**kwargs)
    assert caught.value.code == code, caught.value.message
    assert caught.value.message == str(caught.value)
    return caught.value


def test_a_token_signed_for_the_customer_is_accepted_with_its_identity():
    """A fresh token for the right customer proves the identity it names."""
    token = sign(secret=SECRET, customer_id="cust-1", identity="NB-1001 (Dana)", now=NOW)

    verified = verify(token=token, secret=SECRET, customer_id="cust-1", now=NOW)

    assert verified.customer_id == "cust-1"
    assert verified.identity == "NB-1001 (Dana)"


def test_without_an_identity_the_customer_id_is_the_verified_identity():
    """`identity` is optional: missing or empty, the customer id is what was proven."""
    token = sign(secret=SECRET, customer_id="cust-1", now=NOW)
    assert verify(token=token, secret=SECRET, customer_id="cust-1", now=NOW).identity == "cust-1"
    del token["identity"]
    assert verify(token=token, secret=SECRET, customer_id="cust-1", now=NOW).identity == "cust-1"


def test_the_signature_is_hmac_sha256_of_the_documented_message():
    """signature = hex HMAC-SHA256(secret, f"{customer_id}\\n{identity}\\n{expires_at}")."""
    token = sign(secret=SECRET, customer_id="cust-1", identity="NB-1", now=NOW, lifetime_seconds=60)

    assert token["expires_at"] == int(NOW) + 60
    expected = hmac.new(
        SECRET.encode(), f"cust-1\nNB-1\n{int(NOW) + 60}".encode(), hashlib.sha256
    ).hexdigest()
    assert token["signature"] == expected
    assert set(token) == {"customer_id", "identity", "expires_at", "signature"}


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_the_documented_openssl_one_liner_makes_the_same_signature():
    """docs/authentication.md's shell recipe signs exactly like sign()."""
    token = sign(secret=SECRET, customer_id="cust-1", identity="NB-1001 (Dana)", now=NOW)
    script = (
        'printf \'%s\\n%s\\n%s\' "$CUSTOMER_ID" "$IDENTITY" "$EXPIRES_AT" '
        "| openssl dgst -sha256 -hmac \"$SECRET\" | sed 's/^.*= //'"
    )
    env = {
        "CUSTOMER_ID": "cust-1",
        "IDENTITY": "NB-1001 (Dana)",
        "EXPIRES_AT": str(token["expires_at"]),
        "SECRET": SECRET,
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == token["signature"]


def test_an_uppercase_signature_is_accepted():
    token = sign(secret=SECRET, customer_id="cust-1", now=NOW)
    token["signature"] = token["signature"].upper()
    assert verify(token=token, secret=SECRET, customer_id="cust-1", now=NOW)


def test_a_token_signed_with_another_secret_is_refused():
    """Bad signature: another key, or any signed value changed afterwards."""
    refused("bad_signature", token=sign(secret="other", customer_id="cust-1", now=NOW))
    for field, value in (("identity", "NB-9999"), ("expires_at", int(NOW) + 599)):
        token = sign(secret=SECRET, customer_id="cust-1", identity="NB-1", now=NOW)
        token[field] = value
        error = refused("bad_signature", token=token)
        assert "identity secret" in error.message


def test_a_token_for_another_customer_is_refused():
    """Signed correctly, but for someone else than the chat's customer."""
    token = sign(secret=SECRET, customer_id="cust-2", now=NOW)
    error = refused("wrong_customer", token=token, customer_id="cust-1")
    assert error.message == "The identity token was signed for a different customer."
    # A chat whose customer has no id can never match.
    refused("wrong_customer", token=token, customer_id="")


def test_an_expired_token_is_refused():
    token = sign(secret=SECRET, customer_id="cust-1", now=NOW - 301)
    assert "expired" in refused("token_expired", token=token).message
    # Expiring this very second is expired too.
    token = sign(secret=SECRET, customer_id="cust-1", now=NOW - 300)
    refused("token_expired", token=token)


def test_a_token_valid_for_longer_than_the_lifetime_is_refused():
    """expires_at may be at most the lifetime (plus 30 s of clock skew) ahead."""
    ok = sign(secret=SECRET, customer_id="cust-1", now=NOW, lifetime_seconds=600 + 30)
    assert verify(token=ok, secret=SECRET, customer_id="cust-1", now=NOW, max_lifetime_seconds=600)
    too_far = sign(secret=SECRET, customer_id="cust-1", now=NOW, lifetime_seconds=600 + 31)
    error = refused("expiry_too_far", token=too_far)
    assert "at most 600 seconds" in error.message


def test_the_lifetime_comes_from_the_settings(settings):
    settings.PORTAL = {**settings.PORTAL, "IDENTITY_TOKEN_MAX_LIFETIME_SECONDS": 60}
    token = sign(secret=SECRET, customer_id="cust-1", now=NOW, lifetime_seconds=120)
    with pytest.raises(IdentityError) as caught:
        verify(token=token, secret=SECRET, customer_id="cust-1", now=NOW)
    assert caught.value.code == "expiry_too_far"


def test_a_channel_without_a_secret_checks_nothing():
    token = sign(secret="", customer_id="cust-1", now=NOW)
    error = refused("identity_not_configured", token=token, secret="")
    assert "no identity secret" in error.message


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda t: "not an object", "JSON object"),
        (lambda t: [t], "JSON object"),
        (lambda t: {**t, "name": "Dana"}, "unknown fields: name"),
        (lambda t: {k: v for k, v in t.items() if k != "customer_id"}, "no customer_id"),
        (lambda t: {**t, "customer_id": ""}, "no customer_id"),
        (lambda t: {**t, "customer_id": 42}, "customer_id must be a string"),
        (lambda t: {**t, "customer_id": "x" * 201}, "at most 200 characters"),
        (lambda t: {**t, "customer_id": "cust-1\nNB-1"}, "control characters"),
        (lambda t: {**t, "identity": "a\x00b"}, "control characters"),
        (lambda t: {**t, "identity": None}, "identity must be a string"),
        (lambda t: {**t, "expires_at": str(t["expires_at"])}, "positive integer"),
        (lambda t: {**t, "expires_at": True}, "positive integer"),
        (lambda t: {**t, "expires_at": 1.5e9}, "positive integer"),
        (lambda t: {**t, "expires_at": -5}, "positive integer"),
        (lambda t: {k: v for k, v in t.items() if k != "signature"}, "64 hexadecimal digits"),
        (lambda t: {**t, "signature": t["signature"][:-1]}, "64 hexadecimal digits"),
        (lambda t: {**t, "signature": "z" * 64}, "64 hexadecimal digits"),
    ],
)
def test_a_malformed_token_is_refused_saying_what_is_wrong(change, says):
    token = change(sign(secret=SECRET, customer_id="cust-1", now=NOW))
    assert says in refused("malformed_token", token=token).message


def test_signatures_are_compared_in_constant_time(monkeypatch):
    """The signature (and the customer id) go through hmac.compare_digest, never ==."""
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(identity.hmac, "compare_digest", spy)
    token = sign(secret=SECRET, customer_id="cust-1", now=NOW)
    verify(token=token, secret=SECRET, customer_id="cust-1", now=NOW)

    assert (token["signature"].encode(), token["signature"].encode()) in calls
    assert (b"cust-1", b"cust-1") in calls


def test_refusals_are_checked_in_order_so_forgeries_learn_nothing_more():
    """A forged token for another customer, already expired, is just a bad signature."""
    token = sign(secret="guess", customer_id="cust-2", now=NOW - 10_000)
    refused("bad_signature", token=token, customer_id="cust-1")
