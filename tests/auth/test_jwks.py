"""The JWKS cache under real HTTP: refresh rate limit, key rotation, endpoint outages, key filtering."""

from __future__ import annotations

import asyncio
import time
from http import HTTPStatus

import httpx
import pytest

from shared.auth import InvalidSessionToken, JwksCache, SessionTokenVerifier, rsa_signing_keys
from tests.support.clerk import ISSUER, FakeClock, JwksServer, RsaKey, new_rsa_key, session_claims, sign


async def refusal(verifier: SessionTokenVerifier, token: str) -> str:
    """The reason code `verify` refuses `token` with (the test fails if it is accepted)."""
    with pytest.raises(InvalidSessionToken) as caught:
        await verifier.verify(token)
    return caught.value.reason_code


async def test_cached_kid_is_fetched_once(
    verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock, jwks_server: JwksServer
) -> None:
    for _ in range(5):
        await verifier.verify(sign(signing_key, session_claims(clock.now)))
        clock.advance(3600)

    assert jwks_server.requests == 1


async def test_unknown_kids_cause_one_refresh_a_minute(
    verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock, jwks_server: JwksServer
) -> None:
    await verifier.verify(sign(signing_key, session_claims(clock.now)))
    assert jwks_server.requests == 1
    clock.advance(61)

    # 20 unknown kids within one minute: 10 at once, then 10 one after the other.
    tokens = [sign(signing_key, session_claims(clock.now), kid=f"ins_random_{n}") for n in range(20)]
    results = await asyncio.gather(*(verifier.verify(token) for token in tokens[:10]), return_exceptions=True)
    for token in tokens[10:]:
        clock.advance(5)
        with pytest.raises(InvalidSessionToken) as caught:
            await verifier.verify(token)
        results.append(caught.value)
    assert all(isinstance(result, InvalidSessionToken) for result in results)
    assert {result.reason_code for result in results if isinstance(result, InvalidSessionToken)} == {"unknown_kid"}
    assert jwks_server.requests == 2, "exactly one refresh for 20 unknown kids within a minute"

    # The refresh happened 50 s ago; a minute after it, one more is allowed, and only one.
    clock.advance(11)
    for n in range(5):
        assert await refusal(verifier, sign(signing_key, session_claims(clock.now), kid=f"ins_later_{n}")) == (
            "unknown_kid"
        )
    assert jwks_server.requests == 3


async def test_concurrent_requests_for_an_unknown_kid_share_one_fetch(
    verifier: SessionTokenVerifier, rotated_key: RsaKey, clock: FakeClock, jwks_server: JwksServer
) -> None:
    # Cold cache: the first fetch is in flight while 19 more requests arrive.
    jwks_server.publish(rotated_key.jwk())
    token = sign(rotated_key, session_claims(clock.now))

    claims = await asyncio.gather(*(verifier.verify(token) for _ in range(20)))

    assert {c.user_id for c in claims} == {"user_2abc"}
    assert jwks_server.requests == 1


async def test_key_rotation(
    verifier: SessionTokenVerifier,
    signing_key: RsaKey,
    rotated_key: RsaKey,
    clock: FakeClock,
    jwks_server: JwksServer,
) -> None:
    await verifier.verify(sign(signing_key, session_claims(clock.now)))
    jwks_server.publish(signing_key.jwk(), rotated_key.jwk())
    clock.advance(61)

    claims = await verifier.verify(sign(rotated_key, session_claims(clock.now)))

    assert claims.user_id == "user_2abc"
    assert jwks_server.requests == 2
    # Both keys are now cached: neither needs the network any more.
    await verifier.verify(sign(signing_key, session_claims(clock.now)))
    await verifier.verify(sign(rotated_key, session_claims(clock.now)))
    assert jwks_server.requests == 2


async def test_a_key_dropped_from_the_jwks_stops_verifying_after_a_refresh(
    verifier: SessionTokenVerifier,
    signing_key: RsaKey,
    rotated_key: RsaKey,
    clock: FakeClock,
    jwks_server: JwksServer,
) -> None:
    await verifier.verify(sign(signing_key, session_claims(clock.now)))
    jwks_server.publish(rotated_key.jwk())
    clock.advance(61)

    await verifier.verify(sign(rotated_key, session_claims(clock.now)))

    assert await refusal(verifier, sign(signing_key, session_claims(clock.now))) == "unknown_kid"


@pytest.mark.parametrize("status", [HTTPStatus.INTERNAL_SERVER_ERROR, HTTPStatus.SERVICE_UNAVAILABLE])
async def test_endpoint_answering_5xx(
    verifier: SessionTokenVerifier,
    signing_key: RsaKey,
    clock: FakeClock,
    jwks_server: JwksServer,
    status: HTTPStatus,
) -> None:
    await verifier.verify(sign(signing_key, session_claims(clock.now)))
    jwks_server.fail_with(status)
    clock.advance(61)

    # The failed refresh triggered by an unknown kid keeps the cached keys...
    assert await refusal(verifier, sign(signing_key, session_claims(clock.now), kid="ins_new")) == "unknown_kid"
    assert jwks_server.requests == 2
    claims = await verifier.verify(sign(signing_key, session_claims(clock.now)))
    assert claims.user_id == "user_2abc"

    # ...and counts against the rate limit: the failing endpoint is not hammered.
    for n in range(10):
        clock.advance(1)
        assert await refusal(verifier, sign(signing_key, session_claims(clock.now), kid=f"ins_{n}")) == "unknown_kid"
    assert jwks_server.requests == 2


async def test_endpoint_stopped(
    verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock, jwks_server: JwksServer
) -> None:
    await verifier.verify(sign(signing_key, session_claims(clock.now)))
    jwks_server.stop()
    clock.advance(61)

    started = time.monotonic()
    assert await refusal(verifier, sign(signing_key, session_claims(clock.now), kid="ins_new")) == "unknown_kid"
    for n in range(10):
        assert await refusal(verifier, sign(signing_key, session_claims(clock.now), kid=f"ins_{n}")) == "unknown_kid"
    assert (await verifier.verify(sign(signing_key, session_claims(clock.now)))).user_id == "user_2abc"
    # One refused connection, then nothing but cache lookups.
    assert time.monotonic() - started < 2


async def test_hanging_endpoint_is_given_up_on(
    http_client: httpx.AsyncClient, signing_key: RsaKey, clock: FakeClock, jwks_server: JwksServer
) -> None:
    cache = JwksCache(jwks_server.url, client=http_client, clock=clock, timeout=httpx.Timeout(0.2))
    verifier = SessionTokenVerifier(issuer=ISSUER, jwks=cache, clock=clock)
    await verifier.verify(sign(signing_key, session_claims(clock.now)))
    jwks_server.slow_down(1.0)
    clock.advance(61)

    started = time.monotonic()
    refreshing = asyncio.create_task(verifier.verify(sign(signing_key, session_claims(clock.now), kid="ins_new")))
    await asyncio.sleep(0.05)
    # While the refresh hangs, a cached kid does not wait for it.
    assert (await verifier.verify(sign(signing_key, session_claims(clock.now)))).user_id == "user_2abc"
    assert time.monotonic() - started < 0.2
    with pytest.raises(InvalidSessionToken) as caught:
        await refreshing

    assert caught.value.reason_code == "unknown_kid"
    assert time.monotonic() - started < 0.9
    assert jwks_server.requests == 2


async def test_cold_start_while_the_endpoint_is_down_recovers_a_minute_later(
    verifier: SessionTokenVerifier, signing_key: RsaKey, clock: FakeClock, jwks_server: JwksServer
) -> None:
    jwks_server.fail_with(HTTPStatus.BAD_GATEWAY)
    token = sign(signing_key, session_claims(clock.now))
    assert await refusal(verifier, token) == "unknown_kid"
    clock.advance(30)
    assert await refusal(verifier, token) == "unknown_kid"
    assert jwks_server.requests == 1

    jwks_server.fail_with(None)
    clock.advance(31)

    assert (await verifier.verify(token)).user_id == "user_2abc"
    assert jwks_server.requests == 2


@pytest.mark.parametrize(
    "body",
    [b'{"keys": []}', b'{"nothing": "here"}', b"[]", b"<html>maintenance</html>", b""],
    ids=["empty-set", "no-keys", "array", "html", "no-body"],
)
async def test_an_unusable_jwks_keeps_the_cached_keys(
    verifier: SessionTokenVerifier,
    signing_key: RsaKey,
    clock: FakeClock,
    jwks_server: JwksServer,
    body: bytes,
) -> None:
    await verifier.verify(sign(signing_key, session_claims(clock.now)))
    jwks_server.serve_body(body)
    clock.advance(61)

    assert await refusal(verifier, sign(signing_key, session_claims(clock.now), kid="ins_new")) == "unknown_kid"

    assert jwks_server.requests == 2
    assert (await verifier.verify(sign(signing_key, session_claims(clock.now)))).user_id == "user_2abc"


def test_only_rsa_signing_keys_are_kept(signing_key: RsaKey) -> None:
    small = new_rsa_key("ins_small", bits=1024)
    document = {
        "keys": [
            signing_key.jwk(),
            signing_key.jwk(kid="ins_no_use_no_alg", use=None, alg=None),
            signing_key.jwk(kid="ins_enc", use="enc"),
            signing_key.jwk(kid="ins_rs512", alg="RS512"),
            signing_key.jwk(kid="ins_hs256", kty="oct", k="c2VjcmV0", alg="HS256"),
            {"kid": "ins_ec", "kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "use": "sig"},
            small.jwk(),
            {**signing_key.jwk(kid="ins_private"), "d": "AQAB"},
            {"kid": "ins_broken", "kty": "RSA", "n": "not base64!", "e": "AQAB"},
            signing_key.jwk(kid=""),
            "not a key",
        ]
    }
    # JWK members set to None stand for absent ones.
    for entry in document["keys"]:
        if isinstance(entry, dict):
            for name in [name for name, value in entry.items() if value is None]:
                del entry[name]

    assert set(rsa_signing_keys(document)) == {signing_key.kid, "ins_no_use_no_alg"}
    assert rsa_signing_keys({"keys": "nope"}) == {}
    assert rsa_signing_keys(["nope"]) == {}


async def test_cache_with_its_own_client(signing_key: RsaKey, jwks_server: JwksServer) -> None:
    async with JwksCache(jwks_server.url) as cache:
        key = await cache.get_key(signing_key.kid)

        assert key is not None
        assert key.public_numbers() == signing_key.public.public_numbers()
        assert cache.kids == {signing_key.kid}


async def test_a_client_passed_in_is_left_open(
    http_client: httpx.AsyncClient, signing_key: RsaKey, jwks_server: JwksServer
) -> None:
    async with JwksCache(jwks_server.url, client=http_client) as cache:
        assert await cache.get_key(signing_key.kid) is not None

    assert not http_client.is_closed


def test_refresh_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="min_refresh_interval"):
        JwksCache("https://clerk.tokenroute.test/.well-known/jwks.json", min_refresh_interval=0)
