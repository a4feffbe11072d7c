"""Session token verification: what is accepted, what is refused and with which reason code."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from shared.auth import InvalidSessionToken, JwksCache, SessionTokenVerifier
from tests.support.clerk import (
    APP_ORIGIN,
    ISSUER,
    FakeClock,
    JwksServer,
    RsaKey,
    hand_made,
    hs256_with_secret,
    session_claims,
    sign,
)


async def refusal(verifier: SessionTokenVerifier, token: str) -> str:
    """The reason code `verify` refuses `token` with (the test fails if it is accepted)."""
    with pytest.raises(InvalidSessionToken) as caught:
        await verifier.verify(token)
    return caught.value.reason_code


# --- accepted -----------------------------------------------------------------------------


async def test_personal_session_token_verifies(
    verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock
) -> None:
    claims = await verifier.verify(sign(signing_key, session_claims(clock.now)))

    assert claims.user_id == "user_2abc"
    assert claims.session_id == "sess_2xyz"
    assert claims.azp == APP_ORIGIN
    assert (claims.org_id, claims.org_role, claims.org_slug) == (None, None, None)
    assert claims.expires_at == datetime.fromtimestamp(int(clock.now) + 60, tz=UTC)


async def test_v2_organization_claim(verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock) -> None:
    organization = {"id": "org_2def", "rol": "admin", "slg": "acme", "per": "read,manage", "fpm": "3"}
    claims = await verifier.verify(sign(signing_key, session_claims(clock.now, o=organization)))

    assert (claims.org_id, claims.org_role, claims.org_slug) == ("org_2def", "admin", "acme")


async def test_v1_flat_organization_claims_drop_the_role_prefix(
    verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock
) -> None:
    v1 = session_claims(clock.now, v=None, org_id="org_2def", org_role="org:admin", org_slug="acme")
    claims = await verifier.verify(sign(signing_key, v1))

    assert (claims.org_id, claims.org_role, claims.org_slug) == ("org_2def", "admin", "acme")


async def test_role_without_organization_is_ignored(
    verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock
) -> None:
    claims = await verifier.verify(sign(signing_key, session_claims(clock.now, org_role="org:admin")))

    assert (claims.org_id, claims.org_role) == (None, None)


async def test_token_without_azp_verifies(
    verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock
) -> None:
    claims = await verifier.verify(sign(signing_key, session_claims(clock.now, azp=None)))

    assert claims.azp is None


async def test_any_azp_verifies_when_no_party_is_configured(
    jwks_cache: JwksCache, signing_key: RsaKey, clock: FakeClock
) -> None:
    verifier = SessionTokenVerifier(issuer=ISSUER, jwks=jwks_cache, clock=clock)

    claims = await verifier.verify(sign(signing_key, session_claims(clock.now, azp="https://elsewhere.test")))

    assert claims.azp == "https://elsewhere.test"


@pytest.mark.parametrize("exp_offset", [0, -1, -4])
async def test_just_expired_token_is_within_leeway(
    verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock, exp_offset: int
) -> None:
    token = sign(signing_key, session_claims(clock.now, exp=int(clock.now) + exp_offset))

    assert (await verifier.verify(token)).user_id == "user_2abc"


@pytest.mark.parametrize("claim", ["nbf", "iat"])
async def test_nbf_and_iat_slightly_ahead_are_within_leeway(
    verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock, claim: str
) -> None:
    token = sign(signing_key, session_claims(clock.now, **{claim: int(clock.now) + 4}))

    assert (await verifier.verify(token)).user_id == "user_2abc"


# --- refused --------------------------------------------------------------------------------


async def test_forged_signature_with_the_same_kid(
    verifier: SessionTokenVerifier, impostor_key: RsaKey, signing_key: RsaKey, clock: FakeClock
) -> None:
    assert impostor_key.kid == signing_key.kid

    assert await refusal(verifier, sign(impostor_key, session_claims(clock.now))) == "bad_signature"


async def test_tampered_payload(verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock) -> None:
    header, _, signature = sign(signing_key, session_claims(clock.now)).split(".")
    other_payload = sign(signing_key, session_claims(clock.now, sub="user_victim")).split(".")[1]

    assert await refusal(verifier, f"{header}.{other_payload}.{signature}") == "bad_signature"


@pytest.mark.parametrize("alg", ["none", "None", "NONE", ""])
async def test_alg_none(
    verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock, jwks_server: JwksServer, alg: str
) -> None:
    token = hand_made({"alg": alg, "typ": "JWT", "kid": signing_key.kid}, session_claims(clock.now))

    assert await refusal(verifier, token) == "alg_not_allowed"
    # Refused on the header alone, before any key was looked for.
    assert jwks_server.requests == 0


async def test_hs256_signed_with_the_public_key_pem(
    verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock
) -> None:
    header = {"alg": "HS256", "typ": "JWT", "kid": signing_key.kid}
    claims = session_claims(clock.now)
    # Both PEM spellings an attacker might try as the HMAC secret.
    for secret in (signing_key.public_pem.encode(), signing_key.public_pem.strip().encode()):
        assert await refusal(verifier, hs256_with_secret(header, claims, secret)) == "alg_not_allowed"


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256"])
async def test_other_rsa_algorithms_with_the_right_key(
    verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock, alg: str
) -> None:
    token = sign(signing_key, session_claims(clock.now), algorithm=alg)

    assert await refusal(verifier, token) == "alg_not_allowed"


async def test_es256(verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock) -> None:
    token = jwt.encode(
        session_claims(clock.now),
        ec.generate_private_key(ec.SECP256R1()),
        algorithm="ES256",
        headers={"kid": signing_key.kid},
    )

    assert await refusal(verifier, token) == "alg_not_allowed"


@pytest.mark.parametrize("seconds_ago", [5, 6, 60, 3600])
async def test_expired(verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock, seconds_ago: int) -> None:
    token = sign(signing_key, session_claims(clock.now, exp=int(clock.now) - seconds_ago))

    assert await refusal(verifier, token) == "expired"


async def test_becomes_expired_as_the_clock_moves(
    verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock
) -> None:
    token = sign(signing_key, session_claims(clock.now))
    await verifier.verify(token)

    clock.advance(60 + 5)

    assert await refusal(verifier, token) == "expired"


@pytest.mark.parametrize("claim", ["nbf", "iat"])
async def test_not_yet_valid_beyond_leeway(
    verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock, claim: str
) -> None:
    token = sign(signing_key, session_claims(clock.now, **{claim: int(clock.now) + 6}))

    assert await refusal(verifier, token) == "not_yet_valid"


@pytest.mark.parametrize(
    "issuer",
    [
        "https://evil.test",
        ISSUER + "/",
        ISSUER + ".evil.test",
        ISSUER.removeprefix("https://"),
        ISSUER.upper(),
        ISSUER[:-1],
    ],
)
async def test_wrong_issuer(verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock, issuer: str) -> None:
    token = sign(signing_key, session_claims(clock.now, iss=issuer))

    assert await refusal(verifier, token) == "wrong_issuer"


@pytest.mark.parametrize("azp", ["https://evil.test", APP_ORIGIN + "/", APP_ORIGIN + ".evil.test"])
async def test_wrong_azp(verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock, azp: str) -> None:
    token = sign(signing_key, session_claims(clock.now, azp=azp))

    assert await refusal(verifier, token) == "wrong_azp"


async def test_missing_kid(
    verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock, jwks_server: JwksServer
) -> None:
    for token in (
        sign(signing_key, session_claims(clock.now), kid=None),
        hand_made({"alg": "RS256", "kid": ""}, session_claims(clock.now), b"x"),
    ):
        assert await refusal(verifier, token) == "missing_kid"
    assert jwks_server.requests == 0


async def test_unknown_kid(verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock) -> None:
    token = sign(signing_key, session_claims(clock.now), kid="ins_not_published")

    assert await refusal(verifier, token) == "unknown_kid"


@pytest.mark.parametrize("claim", ["sub", "exp", "iss"])
async def test_missing_required_claim(
    verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock, claim: str
) -> None:
    token = sign(signing_key, session_claims(clock.now, **{claim: None}))

    assert await refusal(verifier, token) == "missing_claim"


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": "tomorrow"},
        {"exp": True},
        {"exp": float("nan")},
        {"exp": float("inf")},
        {"exp": 10**30},
        {"nbf": "now"},
        {"nbf": float("nan")},
        {"iat": float("nan")},
        {"sub": 42},
        {"azp": ["https://app.tokenroute.test"]},
        {"o": "org_2def"},
        {"o": {"id": 7}},
        {"org_id": {"id": "org_2def"}},
    ],
    ids=str,
)
async def test_malformed_claims(
    verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock, overrides: dict[str, Any]
) -> None:
    token = sign(signing_key, session_claims(clock.now, **overrides))

    assert await refusal(verifier, token) == "malformed"


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b.c", "a.b", "...", "eyJhbGciOiJSUzI1NiJ9.e30.!!!!", "x" * 20_000, "€.€.€"],
    ids=["empty", "one-part", "junk-parts", "two-parts", "dots", "bad-signature-segment", "huge", "non-ascii"],
)
async def test_malformed_tokens(verifier: SessionTokenVerifier, token: str) -> None:
    assert await refusal(verifier, token) == "malformed"


async def test_non_json_header_and_payload(
    verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock
) -> None:
    valid = sign(signing_key, session_claims(clock.now))
    _, payload, signature = valid.split(".")

    assert await refusal(verifier, f"bm90IGpzb24.{payload}.{signature}") == "malformed"
    # A payload that is not a JSON object, properly signed.
    assert (
        await refusal(
            verifier, jwt.api_jws.encode(b"[1, 2]", signing_key.private, "RS256", headers={"kid": signing_key.kid})
        )
        == "malformed"
    )


# --- what the failure tells, and to whom -----------------------------------------------------


async def test_failure_message_is_generic_and_the_token_is_never_logged(
    verifier: SessionTokenVerifier,
    signing_key: RsaKey,
    impostor_key: RsaKey,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = {
        "bad_signature": sign(impostor_key, session_claims(clock.now)),
        "expired": sign(signing_key, session_claims(clock.now, exp=int(clock.now) - 600)),
        "wrong_issuer": sign(signing_key, session_claims(clock.now, iss="https://evil.test")),
        "unknown_kid": sign(signing_key, session_claims(clock.now), kid="ins_other"),
    }
    messages = set()
    for expected, token in tokens.items():
        with pytest.raises(InvalidSessionToken) as caught:
            await verifier.verify(token)
        assert caught.value.reason_code == expected
        messages.add(str(caught.value))
        assert token not in repr(caught.value)
        assert caught.value.__cause__ is None

    assert messages == {"invalid session token"}
    assert caplog.records, "refusals are logged (by reason code)"
    for token in tokens.values():
        for part in token.split("."):
            assert part not in caplog.text
