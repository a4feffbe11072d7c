"""Verification of Clerk session tokens (DESIGN.md section 5).

Only RS256 is accepted, the algorithm is checked in the header before any key is chosen, and
every failure raises `InvalidSessionToken`, whose message is the same whatever went wrong: an
API answers 401 without telling an attacker which check failed, while `reason_code` tells logs
and tests. The token itself is never logged.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal, Self

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.types import Options

from shared.auth.jwks import MIN_RSA_KEY_BITS, JwksCache
from shared.config import Settings

logger = logging.getLogger(__name__)

ALGORITHM: Final = "RS256"
MAX_LEEWAY_SECONDS: Final = 5.0
# Clerk session tokens are about 1 KB and must fit a cookie; anything far larger is not one,
# and is refused before any parsing.
MAX_TOKEN_LENGTH: Final = 16 * 1024

ReasonCode = Literal[
    "malformed",
    "alg_not_allowed",
    "missing_kid",
    "unknown_kid",
    "bad_signature",
    "expired",
    "not_yet_valid",
    "wrong_issuer",
    "wrong_azp",
    "missing_claim",
]

# Signature only: PyJWT reads the wall clock itself, so the time claims, like the issuer and
# the authorized party, are checked below with the injected clock.
_SIGNATURE_ONLY: Final[Options] = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_iss": False,
    "verify_aud": False,
    "verify_sub": False,
    "verify_jti": False,
    "require": [],
}


class InvalidSessionToken(Exception):
    """The session token cannot be trusted; `reason_code` says why, the message never does."""

    public_message: Final = "invalid session token"

    def __init__(self, reason_code: ReasonCode) -> None:
        """Record why the token was refused; the exception's text stays generic."""
        super().__init__(self.public_message)
        self.reason_code: ReasonCode = reason_code

    def __repr__(self) -> str:
        """Show the reason code, never anything of the token."""
        return f"InvalidSessionToken(reason_code={self.reason_code!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionClaims:
    """What TokenRoute uses from a verified Clerk session token.

    `org_*` are None for a personal session (no active organization); `org_role` has Clerk's
    `org:` prefix removed (`org:admin` -> `admin`).
    """

    user_id: str
    session_id: str | None
    org_id: str | None
    org_role: str | None
    org_slug: str | None
    azp: str | None
    expires_at: datetime


def load_rsa_public_key(pem: str) -> RSAPublicKey:
    """An RSA public key of at least 2048 bits from PEM text (`CLERK_JWT_KEY`); ValueError otherwise."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as exc:
        raise ValueError("CLERK_JWT_KEY is not a readable PEM public key") from exc
    if not isinstance(key, RSAPublicKey):
        raise ValueError("CLERK_JWT_KEY must be an RSA public key")
    if key.key_size < MIN_RSA_KEY_BITS:
        raise ValueError(f"CLERK_JWT_KEY must be at least {MIN_RSA_KEY_BITS} bits")
    return key


class SessionTokenVerifier:
    """Verifies Clerk session tokens against one issuer, with keys from a JWKS or one static key.

    `clock` returns the current Unix time in seconds (injectable for tests); `leeway` absorbs
    clock skew between Clerk and this host and may not exceed 5 seconds.
    """

    def __init__(
        self,
        *,
        issuer: str,
        jwks: JwksCache | None = None,
        static_key: RSAPublicKey | None = None,
        authorized_parties: Iterable[str] = (),
        leeway: float = MAX_LEEWAY_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Configure the verifier; exactly one of `jwks` and `static_key` is required."""
        if not issuer:
            raise ValueError("issuer is required")
        if (jwks is None) == (static_key is None):
            raise ValueError("give exactly one of jwks and static_key")
        if not 0 <= leeway <= MAX_LEEWAY_SECONDS:
            raise ValueError(f"leeway must be between 0 and {MAX_LEEWAY_SECONDS:g} seconds")
        self._issuer = issuer
        self._jwks = jwks
        self._static_key = static_key
        self._authorized_parties = frozenset(authorized_parties)
        self._leeway = leeway
        self._clock = clock
        self._owned_jwks: JwksCache | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> Self:
        """A verifier for `CLERK_ISSUER`, `CLERK_AUTHORIZED_PARTIES` and `CLERK_JWT_KEY` or `CLERK_JWKS_URL`.

        `CLERK_JWT_KEY` wins when both are set: it needs no network at all. The JWKS cache made
        here belongs to the verifier (`aclose()` closes it); `http_client` stays its caller's.
        Raises ValueError when the settings cannot verify tokens.
        """
        if not settings.clerk_issuer:
            raise ValueError("CLERK_ISSUER is required to verify session tokens")
        parties = settings.clerk_authorized_parties
        if settings.clerk_jwt_key is not None:
            key = load_rsa_public_key(settings.clerk_jwt_key.get_secret_value())
            return cls(issuer=settings.clerk_issuer, static_key=key, authorized_parties=parties, clock=clock)
        if settings.clerk_jwks_url is not None:
            jwks = JwksCache(str(settings.clerk_jwks_url), client=http_client)
            verifier = cls(issuer=settings.clerk_issuer, jwks=jwks, authorized_parties=parties, clock=clock)
            verifier._owned_jwks = jwks
            return verifier
        raise ValueError("CLERK_JWKS_URL or CLERK_JWT_KEY is required to verify session tokens")

    async def aclose(self) -> None:
        """Release the JWKS cache's HTTP client when this verifier created the cache."""
        if self._owned_jwks is not None:
            await self._owned_jwks.aclose()

    async def verify(self, token: str) -> SessionClaims:
        """The claims of a valid session token; `InvalidSessionToken` for anything else."""
        try:
            return await self._verify(token)
        except InvalidSessionToken as exc:
            # The reason only: the token is a credential and never reaches a log.
            logger.debug("session token refused: %s", exc.reason_code)
            raise

    async def _verify(self, token: str) -> SessionClaims:
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidSessionToken("malformed")
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, ValueError, TypeError):
            raise InvalidSessionToken("malformed") from None
        # Before any key is looked at: the algorithm must never be the attacker's choice
        # (`none`, or HS256 with the public key as the HMAC secret).
        if header.get("alg") != ALGORITHM:
            raise InvalidSessionToken("alg_not_allowed")
        key = await self._key_for(header)
        try:
            payload = jwt.decode(token, key, algorithms=[ALGORITHM], options=_SIGNATURE_ONLY)
        except jwt.InvalidSignatureError:
            raise InvalidSessionToken("bad_signature") from None
        except jwt.InvalidAlgorithmError:
            raise InvalidSessionToken("alg_not_allowed") from None
        except (jwt.PyJWTError, ValueError, TypeError):
            raise InvalidSessionToken("malformed") from None
        return self._claims(payload)

    async def _key_for(self, header: Mapping[str, Any]) -> RSAPublicKey:
        if self._static_key is not None:
            # One key, nothing to choose: a `kid` is neither needed nor looked at.
            return self._static_key
        assert self._jwks is not None  # the constructor guarantees one of the two
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidSessionToken("missing_kid")
        key = await self._jwks.get_key(kid)
        if key is None:
            raise InvalidSessionToken("unknown_kid")
        return key

    def _claims(self, payload: Mapping[str, Any]) -> SessionClaims:
        """Check the registered claims with the injected clock, then map Clerk's claims."""
        issuer = payload.get("iss")
        if issuer is None:
            raise InvalidSessionToken("missing_claim")
        # Exact equality, never a prefix or substring match.
        if not isinstance(issuer, str) or issuer != self._issuer:
            raise InvalidSessionToken("wrong_issuer")

        now = self._clock()
        expires = _numeric_date(payload, "exp")
        if expires is None:
            raise InvalidSessionToken("missing_claim")
        if now >= expires + self._leeway:
            raise InvalidSessionToken("expired")
        not_before = _numeric_date(payload, "nbf")
        if not_before is not None and not_before > now + self._leeway:
            raise InvalidSessionToken("not_yet_valid")
        # Clerk sets iat to the signing time; one from the future is refused like nbf.
        issued_at = _numeric_date(payload, "iat")
        if issued_at is not None and issued_at > now + self._leeway:
            raise InvalidSessionToken("not_yet_valid")

        azp = _optional_str(payload, "azp")
        if azp is not None and self._authorized_parties and azp not in self._authorized_parties:
            raise InvalidSessionToken("wrong_azp")

        user_id = _optional_str(payload, "sub")
        if user_id is None:
            raise InvalidSessionToken("missing_claim")

        org_id, org_role, org_slug = _organization(payload)
        try:
            expires_at = datetime.fromtimestamp(expires, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidSessionToken("malformed") from None
        return SessionClaims(
            user_id=user_id,
            session_id=_optional_str(payload, "sid"),
            org_id=org_id,
            org_role=org_role,
            org_slug=org_slug,
            azp=azp,
            expires_at=expires_at,
        )


def _numeric_date(claims: Mapping[str, Any], name: str) -> float | None:
    """A NumericDate claim, None when absent; a non-number (or NaN, which JSON parsing lets through) is malformed."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidSessionToken("malformed")
    return float(value)


def _optional_str(claims: Mapping[str, Any], name: str) -> str | None:
    """A string claim, None when absent or empty; any other type is malformed."""
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidSessionToken("malformed")
    return value or None


def _organization(payload: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """Active organization id, role and slug, from the v2 `o` claim or the v1 flat claims."""
    compact = payload.get("o")
    if compact is not None:
        if not isinstance(compact, Mapping):
            raise InvalidSessionToken("malformed")
        org_id, role, slug = _optional_str(compact, "id"), _optional_str(compact, "rol"), _optional_str(compact, "slg")
    else:
        org_id = _optional_str(payload, "org_id")
        role = _optional_str(payload, "org_role")
        slug = _optional_str(payload, "org_slug")
    if org_id is None:
        # A role or slug without an organization grants nothing.
        return None, None, None
    if role is not None:
        # v1 tokens carry Clerk's role key ("org:admin"); v2 tokens already drop the prefix.
        role = role.removeprefix("org:") or None
    return org_id, role, slug
