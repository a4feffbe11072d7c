"""Verifiers built from settings: CLERK_JWT_KEY without any network, CLERK_JWKS_URL, and bad configurations."""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any, NoReturn

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from shared.auth import InvalidSessionToken, JwksCache, SessionTokenVerifier, load_rsa_public_key
from shared.config import Settings, SettingsError, load_settings
from tests.support.clerk import (
    APP_ORIGIN,
    ISSUER,
    FakeClock,
    JwksServer,
    RsaKey,
    hand_made,
    hs256_with_secret,
    new_rsa_key,
    session_claims,
    sign,
)


def clerk_settings(**clerk: str) -> Settings:
    """Valid test settings with the given CLERK_* values (storage is never contacted here)."""
    environ = {
        "TOKENROUTE_ENV": "test",
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        "SECRETS_BACKEND": "local",
        "LOCAL_SECRETS_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        **clerk,
    }
    return load_settings(environ, local_settings=None)


def escaped(pem: str) -> str:
    """The PEM on one line with "\\n" escapes, as app settings and Clerk's dashboard show it."""
    return pem.strip().replace("\n", "\\n")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any HTTP request made through httpx fails the test."""

    async def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        raise AssertionError("no network expected")

    monkeypatch.setattr(httpx.AsyncClient, "send", refuse)


@pytest.mark.usefixtures("no_network")
async def test_static_pem_key_verifies_without_network(signing_key: RsaKey, clock: FakeClock) -> None:
    settings = clerk_settings(
        CLERK_ISSUER=ISSUER,
        CLERK_JWT_KEY=escaped(signing_key.public_pem),
        CLERK_AUTHORIZED_PARTIES=f"{APP_ORIGIN}, http://localhost:3000",
    )
    verifier = SessionTokenVerifier.from_settings(settings, clock=clock)

    # A static key needs no kid, and any kid is irrelevant to it.
    without_kid = await verifier.verify(sign(signing_key, session_claims(clock.now), kid=None))
    with_kid = await verifier.verify(sign(signing_key, session_claims(clock.now), kid="ins_whatever"))

    assert without_kid.user_id == with_kid.user_id == "user_2abc"
    await verifier.aclose()


@pytest.mark.usefixtures("no_network")
async def test_static_pem_key_refusals(signing_key: RsaKey, impostor_key: RsaKey, clock: FakeClock) -> None:
    settings = clerk_settings(
        CLERK_ISSUER=ISSUER, CLERK_JWT_KEY=signing_key.public_pem, CLERK_AUTHORIZED_PARTIES=APP_ORIGIN
    )
    verifier = SessionTokenVerifier.from_settings(settings, clock=clock)
    claims = session_claims(clock.now)
    cases = {
        "bad_signature": sign(impostor_key, claims, kid=None),
        "alg_not_allowed": hs256_with_secret({"alg": "HS256", "typ": "JWT"}, claims, signing_key.public_pem.encode()),
        "expired": sign(signing_key, session_claims(clock.now, exp=int(clock.now) - 60), kid=None),
        "wrong_issuer": sign(signing_key, session_claims(clock.now, iss="https://evil.test"), kid=None),
        "wrong_azp": sign(signing_key, session_claims(clock.now, azp="https://evil.test"), kid=None),
    }
    cases_none = hand_made({"alg": "none"}, claims)

    for reason, token in [*cases.items(), ("alg_not_allowed", cases_none)]:
        with pytest.raises(InvalidSessionToken) as caught:
            await verifier.verify(token)
        assert caught.value.reason_code == reason


async def test_static_key_wins_over_jwks_url(signing_key: RsaKey, clock: FakeClock, jwks_server: JwksServer) -> None:
    settings = clerk_settings(CLERK_ISSUER=ISSUER, CLERK_JWT_KEY=signing_key.public_pem, CLERK_JWKS_URL=jwks_server.url)
    verifier = SessionTokenVerifier.from_settings(settings, clock=clock)

    await verifier.verify(sign(signing_key, session_claims(clock.now)))

    assert jwks_server.requests == 0


async def test_jwks_url_from_settings(signing_key: RsaKey, jwks_server: JwksServer) -> None:
    settings = clerk_settings(CLERK_ISSUER=ISSUER, CLERK_JWKS_URL=jwks_server.url, CLERK_AUTHORIZED_PARTIES=APP_ORIGIN)
    # The real clock: tokens are issued now.
    verifier = SessionTokenVerifier.from_settings(settings)
    try:
        claims = await verifier.verify(sign(signing_key, session_claims(time.time())))
        with pytest.raises(InvalidSessionToken) as caught:
            await verifier.verify(sign(signing_key, session_claims(time.time(), azp="https://evil.test")))
    finally:
        await verifier.aclose()

    assert claims.user_id == "user_2abc"
    assert caught.value.reason_code == "wrong_azp"
    assert jwks_server.requests == 1


@pytest.mark.parametrize(
    ("clerk", "message"),
    [
        ({"CLERK_JWKS_URL": "https://clerk.tokenroute.test/.well-known/jwks.json"}, "CLERK_ISSUER"),
        ({"CLERK_ISSUER": ISSUER}, "CLERK_JWKS_URL or CLERK_JWT_KEY"),
    ],
)
def test_settings_that_cannot_verify(clerk: dict[str, str], message: str) -> None:
    # An issuer without a key source is already refused by the settings validation.
    with pytest.raises((ValueError, SettingsError), match=message):
        SessionTokenVerifier.from_settings(clerk_settings(**clerk))


def test_static_key_must_be_rsa_of_2048_bits() -> None:
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(ValueError, match="RSA"):
        load_rsa_public_key(ec_pem)
    with pytest.raises(ValueError, match="2048"):
        load_rsa_public_key(new_rsa_key("small", bits=1024).public_pem)
    with pytest.raises(ValueError, match="PEM"):
        load_rsa_public_key("-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n")


def test_constructor_guards(signing_key: RsaKey) -> None:
    cache = JwksCache("https://clerk.tokenroute.test/.well-known/jwks.json")
    with pytest.raises(ValueError, match="leeway"):
        SessionTokenVerifier(issuer=ISSUER, static_key=signing_key.public, leeway=6)
    with pytest.raises(ValueError, match="exactly one"):
        SessionTokenVerifier(issuer=ISSUER, jwks=cache, static_key=signing_key.public)
    with pytest.raises(ValueError, match="exactly one"):
        SessionTokenVerifier(issuer=ISSUER)
    with pytest.raises(ValueError, match="issuer"):
        SessionTokenVerifier(issuer="", static_key=signing_key.public)
