"""Identity: verification of Clerk session tokens (DESIGN.md section 5)."""

from shared.auth.clerk_tokens import (
    InvalidSessionToken,
    ReasonCode,
    SessionClaims,
    SessionTokenVerifier,
    load_rsa_public_key,
)
from shared.auth.jwks import JwksCache, rsa_signing_keys

__all__ = [
    "InvalidSessionToken",
    "JwksCache",
    "ReasonCode",
    "SessionClaims",
    "SessionTokenVerifier",
    "load_rsa_public_key",
    "rsa_signing_keys",
]
