"""One HTTP exchange with a provider: send, check the status, map httpx failures to ProviderErrors.

Every adapter goes through `post_json`, so the hygiene rules live in one place: the key travels only
in the auth header the adapter built, redirects are never followed (httpx would carry custom auth
headers such as `api-key` or `x-goog-api-key` to the new host), and no exception leaving this module
chains to an httpx exception (whose request object holds the headers).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from shared.providers.error_bodies import Classifier, error_from_response
from shared.providers.errors import ErrorKind, ProviderError, redact
from shared.providers.models import ProviderCredential
from shared.providers.parsing import loads_object

logger = logging.getLogger("tokenroute.providers")


def require_header_safe(secret: str | None, *, provider: str) -> None:
    """Refuse a key that cannot be a header value: h11's error for it would quote the key."""
    if secret is not None and not all(0x21 <= ord(char) <= 0x7E for char in secret):
        raise ProviderError(
            ErrorKind.AUTH,
            "the API key contains characters that cannot be sent in an HTTP header (whitespace or non-ASCII)",
            provider=provider,
        )


def required_secret(credential: ProviderCredential, *, provider: str) -> str:
    """The credential's key, refused when missing or unsendable (providers that always need one)."""
    secret = credential.secret()
    if secret is None:
        raise ProviderError(ErrorKind.AUTH, "no API key configured", provider=provider)
    require_header_safe(secret, provider=provider)
    return secret


def join_url(base: str, path: str) -> str:
    """`base` and `path` with exactly one slash between them."""
    return base.rstrip("/") + "/" + path.lstrip("/")


def _describe(exc: Exception, secret: str | None) -> str:
    detail = redact(str(exc), secret).strip()
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


@asynccontextmanager
async def post_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    provider: str,
    headers: dict[str, str],
    body: dict[str, Any],
    secret: str | None,
    classify: Classifier,
) -> AsyncIterator[httpx.Response]:
    """POST `body` and yield the 2xx response unread (for streaming); raise a ProviderError otherwise."""
    failure: ProviderError | None = None
    try:
        async with client.stream("POST", url, headers=headers, json=body, follow_redirects=False) as response:
            if not 200 <= response.status_code < 300:
                content = await response.aread()
                error = error_from_response(
                    provider=provider,
                    status=response.status_code,
                    headers=response.headers,
                    body=content,
                    secret=secret,
                    classify=classify,
                )
                logger.info("provider call failed: %r", error)
                raise error
            yield response
    except httpx.TimeoutException as exc:
        failure = ProviderError(ErrorKind.TIMEOUT, _describe(exc, secret), provider=provider)
    except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL) as exc:
        # Our request could not be sent as built (bad base URL, say): retrying cannot help.
        failure = ProviderError(ErrorKind.REQUEST, _describe(exc, secret), provider=provider)
    except httpx.RequestError as exc:
        # Connection refused or reset, a stream cut mid-body: the network or the provider, worth a retry.
        failure = ProviderError(ErrorKind.TRANSIENT, _describe(exc, secret), provider=provider)
    if failure is not None:
        logger.info("provider call failed: %r", failure)
        # Raised outside the except blocks so the httpx exception is neither cause nor context.
        raise failure


async def read_json_object(response: httpx.Response, *, provider: str) -> dict[str, Any]:
    """The whole body as a JSON object; a 2xx that is not one counts as a transient fault."""
    payload = loads_object(await response.aread())
    if payload is None:
        raise ProviderError(
            ErrorKind.TRANSIENT,
            "the provider answered 2xx with a body that is not a JSON object",
            provider=provider,
            status=response.status_code,
        )
    return payload
