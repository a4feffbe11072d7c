"""Who may call: real Clerk session tokens (JWKS on 127.0.0.1), cookies with CSRF checks, API keys."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import TokenFactory
from tests.support.clerk import APP_ORIGIN, ISSUER, JwksServer, RsaKey, hand_made, hs256_with_secret, new_rsa_key, sign


def claims(user: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    body: dict[str, Any] = {"iss": ISSUER, "sub": user, "azp": APP_ORIGIN, "iat": now, "nbf": now - 5, "exp": now + 60}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def bad_tokens(key: RsaKey, user: str) -> dict[str, str]:
    now = int(time.time())
    impostor = new_rsa_key(key.kid)
    return {
        "forged signature": sign(impostor, claims(user)),
        "alg none": hand_made({"alg": "none", "typ": "JWT", "kid": key.kid}, claims(user)),
        "hs256 keyed with the public key": hs256_with_secret(
            {"alg": "HS256", "typ": "JWT", "kid": key.kid}, claims(user), key.public_pem.encode()
        ),
        "expired": sign(key, claims(user, iat=now - 600, nbf=now - 600, exp=now - 300)),
        "not yet valid": sign(key, claims(user, nbf=now + 300, iat=now + 300)),
        "wrong issuer": sign(key, claims(user, iss="https://evil.example.com")),
        "wrong azp": sign(key, claims(user, azp="https://evil.example.com")),
        "missing kid": sign(key, claims(user), kid=None),
        "garbage": "not-a-jwt",
    }


async def test_every_bad_token_gets_the_same_unhelpful_401(
    client: httpx.AsyncClient, clerk_key: RsaKey, unique_user: str
) -> None:
    bodies = set()
    for name, token in bad_tokens(clerk_key, unique_user).items():
        response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"].startswith("Bearer")
        body = response.json()
        body.pop("request_id")
        bodies.add(str(sorted(body.items())))
    # One body for every failure: nothing tells an attacker which check failed.
    assert len(bodies) == 1
    assert "expired" not in next(iter(bodies))


async def test_unknown_kid_refreshes_jwks_once_not_per_request(
    client: httpx.AsyncClient, clerk_jwks: JwksServer, unique_user: str
) -> None:
    stranger = new_rsa_key("kid_" + uuid.uuid4().hex[:8])
    before = clerk_jwks.requests
    for _ in range(10):
        response = await client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {sign(stranger, claims(unique_user))}"}
        )
        assert response.status_code == 401
    assert clerk_jwks.requests - before <= 1


async def test_no_credentials_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["type"] == "urn:tokenroute:problem:unauthenticated"


async def test_other_authorization_schemes_are_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401


async def test_valid_session_creates_personal_tenant_on_first_sight(
    client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str
) -> None:
    headers = {"Authorization": f"Bearer {session_token(unique_user)}"}
    first = (await client.get("/api/v1/me", headers=headers)).json()
    second = (await client.get("/api/v1/me", headers=headers)).json()
    assert first["kind"] == "user"
    assert first["id"] == unique_user
    assert first["role"] == "owner"
    assert first["tenant_id"] == second["tenant_id"]
    assert first["tenants"] == [{"tenant_id": first["tenant_id"], "kind": "personal", "role": "owner", "current": True}]


async def test_organization_role_comes_from_the_token(
    client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str
) -> None:
    org = "org_" + uuid.uuid4().hex[:12]
    member = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {session_token(unique_user, org=org, role='org:member')}"}
    )
    assert member.json()["role"] == "member"
    personal = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {session_token(unique_user)}"})
    tenants = {t["kind"]: t for t in personal.json()["tenants"]}
    assert set(tenants) == {"organization", "personal"}
    assert tenants["organization"]["role"] == "member"
    assert tenants["personal"]["current"] is True


class TestCookieSessions:
    """The web frontend bridges same-origin and sends the session as the `__session` cookie."""

    async def test_cookie_read_works_without_origin(
        self, client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str
    ) -> None:
        client.cookies.set("__session", session_token(unique_user))
        assert (await client.get("/api/v1/me")).status_code == 200

    @pytest.mark.parametrize("origin", [None, "https://evil.example.com", "null"])
    async def test_cookie_write_needs_an_authorized_origin(
        self, client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str, origin: str | None
    ) -> None:
        client.cookies.set("__session", session_token(unique_user))
        headers = {"Origin": origin} if origin else {}
        response = await client.post("/api/v1/projects", json={"name": "x"}, headers=headers)
        assert response.status_code == 403
        assert response.json()["type"] == "urn:tokenroute:problem:forbidden"
        listed = await client.get("/api/v1/projects")
        assert listed.json()["items"] == []  # nothing was written

    async def test_cookie_write_from_the_app_origin_works(
        self, client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str
    ) -> None:
        client.cookies.set("__session", session_token(unique_user))
        response = await client.post("/api/v1/projects", json={"name": "From the app"}, headers={"Origin": APP_ORIGIN})
        assert response.status_code == 201

    async def test_bearer_write_needs_no_origin(
        self, client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str
    ) -> None:
        headers = {"Authorization": f"Bearer {session_token(unique_user)}"}
        assert (await client.post("/api/v1/projects", json={"name": "x"}, headers=headers)).status_code == 201
