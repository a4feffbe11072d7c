"""Validating a credential: one cheap, real call to the provider (list models), and what it says about the key.

- `valid`: a 2xx answer with a JSON body;
- `invalid`, with the provider's reason: 401 or 403, any other 4xx (Gemini answers 400 to a bad key),
  a redirect, or a 2xx that is not JSON (the base URL is not the API's);
- `unreachable`, with why: a connection error, a timeout, 408, 429, 5xx, or an SSRF refusal.

A 429 says nothing about the key (a provider may rate-limit before it authenticates), so it is
"could not check now", not "invalid". Reasons quote the provider's error message, truncated, with
the key replaced wherever the provider echoed it; the request (its headers hold the key) is never logged.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from shared.credentials.records import CredentialValidationMessage, ValidationState
from shared.credentials.store import CredentialStore
from shared.providers import anthropic_messages, azure_openai, gemini
from shared.providers.egress import EgressRefused
from shared.providers.error_bodies import default_reason, error_object
from shared.providers.errors import redact
from shared.providers.models import ProviderCredential
from shared.providers.parsing import loads_object
from shared.providers.registry import default_base_url
from shared.providers.transport import join_url
from shared.secrets import SecretNotFound

log = logging.getLogger("tokenroute.credentials.validation")

# Connect fast; a models list is small and quick. The whole call is bounded by PROBE_BUDGET_S too.
PROBE_TIMEOUT = httpx.Timeout(5.0, read=10.0)
PROBE_BUDGET_S = 15.0
MAX_REASON_CHARS = 300
# Only an error body is read, and only this much of it: enough for any provider's error object.
_MAX_BODY_BYTES = 16 * 1024
# Gemini's base URL may already name an API version (`.../v1beta`); same rule as the adapter's.
_VERSIONED_BASE = re.compile(r"/v\d+(?:alpha|beta)?\d*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class Outcome:
    """What a validation found."""

    state: ValidationState
    reason: str | None = None


@dataclass(frozen=True)
class ProbeRequest:
    """The call that checks a key. Its headers hold the key: never log or repr them."""

    url: str
    params: Mapping[str, str]
    headers: Mapping[str, str]

    def __repr__(self) -> str:
        return f"ProbeRequest(url={self.url!r})"


def _azure_endpoint(credential: ProviderCredential) -> str:
    # As the adapter reads it: people paste the v1 base URL from the portal.
    endpoint = (credential.azure_endpoint or credential.base_url or "").rstrip("/")
    for suffix in ("/openai/v1", "/openai"):
        if endpoint.endswith(suffix):
            return endpoint[: -len(suffix)]
    return endpoint


def probe_request(provider: str, credential: ProviderCredential, key: str) -> ProbeRequest:
    """The cheapest authenticated call of `provider`: list (one page of) its models.

    Raises ValueError when the credential lacks the URL the provider needs.
    """
    if provider == anthropic_messages.PROVIDER:
        return ProbeRequest(
            join_url(credential.base_url or anthropic_messages.DEFAULT_BASE_URL, "v1/models"),
            {"limit": "1"},
            {"x-api-key": key, "anthropic-version": anthropic_messages.API_VERSION},
        )
    if provider == gemini.PROVIDER:
        base = (credential.base_url or gemini.DEFAULT_BASE_URL).rstrip("/")
        if not _VERSIONED_BASE.search(base):
            base = join_url(base, gemini.API_VERSION)
        # The key goes in the header, never in `?key=`: URLs end up in logs.
        return ProbeRequest(join_url(base, "models"), {"pageSize": "1"}, {"x-goog-api-key": key})
    if provider == azure_openai.PROVIDER:
        endpoint = _azure_endpoint(credential)
        if not endpoint:
            raise ValueError("no Azure endpoint configured")
        if credential.azure_deployment:
            version = credential.azure_api_version or azure_openai.DEFAULT_API_VERSION
            return ProbeRequest(f"{endpoint}/openai/models", {"api-version": version}, {"api-key": key})
        return ProbeRequest(f"{endpoint}/openai/v1/models", {}, {"api-key": key})
    # OpenAI and every OpenAI-compatible server.
    try:
        compat_base = credential.base_url or default_base_url(provider)
    except KeyError:
        raise ValueError(f"provider {provider!r} is no longer supported") from None
    if not compat_base:
        raise ValueError("no base URL configured")
    headers = {"Authorization": f"Bearer {key}"}
    if credential.organization:
        headers["OpenAI-Organization"] = credential.organization
    return ProbeRequest(join_url(compat_base, "models"), {}, headers)


def clean_reason(text: str, key: str) -> str:
    """One line, the key replaced wherever it occurs, at most MAX_REASON_CHARS characters."""
    line = " ".join(_CONTROL.sub(" ", redact(text, key)).split())
    return line if len(line) <= MAX_REASON_CHARS else line[: MAX_REASON_CHARS - 1] + "…"


def _provider_message(status: int, body: bytes) -> str:
    error = error_object(loads_object(body))
    message = next(
        (
            v.strip()
            for k in ("message", "detail", "error_description")
            if isinstance(v := error.get(k), str) and v.strip()
        ),
        None,
    )
    if message is None:
        message = body.decode("utf-8", errors="replace").strip() or "no error message"
    code = default_reason(error)
    return f"HTTP {status} {code}: {message}" if code and code != str(status) else f"HTTP {status}: {message}"


def judge(status: int, content_type: str, body: bytes, key: str) -> Outcome:
    """The state an answer to the probe puts the credential in."""
    if 200 <= status < 300:
        if "json" in content_type.lower():
            return Outcome(ValidationState.VALID)
        return Outcome(
            ValidationState.INVALID,
            f"HTTP {status} but not JSON ({content_type or 'no content type'}): is the base URL the API's?",
        )
    if 300 <= status < 400:
        return Outcome(ValidationState.INVALID, f"HTTP {status}: the endpoint redirects; use the final URL")
    reason = clean_reason(_provider_message(status, body), key)
    if status in (408, 429) or status >= 500:
        return Outcome(ValidationState.UNREACHABLE, reason)
    return Outcome(ValidationState.INVALID, reason)


async def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= _MAX_BODY_BYTES:
            break
    return b"".join(chunks)[:_MAX_BODY_BYTES]


async def probe(
    client: httpx.AsyncClient, provider: str, credential: ProviderCredential, *, budget_s: float = PROBE_BUDGET_S
) -> Outcome:
    """Call the provider once with the credential (through `client`, the SSRF-guarded one) and judge the answer."""
    key = credential.secret()
    if key is None:
        return Outcome(ValidationState.INVALID, "no key stored")
    try:
        request = probe_request(provider, credential, key)
    except ValueError as exc:
        return Outcome(ValidationState.INVALID, str(exc))
    try:
        async with (
            asyncio.timeout(budget_s),
            client.stream(
                "GET", request.url, params=request.params, headers=dict(request.headers), timeout=PROBE_TIMEOUT
            ) as response,
        ):
            ok = 200 <= response.status_code < 300
            # A success is judged by its status and type: a long model list is not worth reading.
            body = b"" if ok else await _read_capped(response)
            return judge(response.status_code, response.headers.get("content-type", ""), body, key)
    except EgressRefused as exc:
        return Outcome(ValidationState.UNREACHABLE, clean_reason(f"refused by the egress policy: {exc}", key))
    except (httpx.TimeoutException, TimeoutError):
        return Outcome(ValidationState.UNREACHABLE, f"no answer within {budget_s:g} s")
    except httpx.HTTPError as exc:
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return Outcome(ValidationState.UNREACHABLE, clean_reason(f"could not connect ({detail})", key))


class CredentialValidator:
    """Runs `credential-validations` messages: probe the provider, record the outcome on the credential."""

    def __init__(
        self,
        credentials: CredentialStore,
        http: Callable[[], httpx.AsyncClient],
        *,
        budget_s: float = PROBE_BUDGET_S,
    ) -> None:
        self.credentials = credentials
        self.http = http
        self.budget_s = budget_s

    async def handle(self, message: CredentialValidationMessage) -> Outcome | None:
        """Validate and record; None when the credential is gone or its key was rotated since the request."""
        record = await asyncio.to_thread(
            self.credentials.find, message.tenant_id, message.project_id, message.credential_id
        )
        if record is None or record.secret_version != message.secret_version:
            log.info("credential validation %s dropped: deleted or rotated since", message.credential_id)
            return None
        try:
            credential = await asyncio.to_thread(self.credentials.provider_credential, record)
        except SecretNotFound:
            log.info("credential validation %s dropped: its key is gone", message.credential_id)
            return None
        outcome = await probe(self.http(), record.provider, credential, budget_s=self.budget_s)
        stored = await asyncio.to_thread(self.credentials.record_validation, record, outcome.state, outcome.reason)
        if stored is None:
            log.info("credential validation %s dropped: changed while it ran", message.credential_id)
            return None
        log.info("credential %s (%s) validated: %s", record.row_key, record.provider, outcome.state.value)
        return outcome

    async def give_up(self, message: CredentialValidationMessage) -> None:
        """The job failed on every delivery: say so on the credential rather than leave it pending."""
        record = await asyncio.to_thread(
            self.credentials.find, message.tenant_id, message.project_id, message.credential_id
        )
        if record is None or record.secret_version != message.secret_version:
            return
        reason = "the validation could not be completed; request it again"
        await asyncio.to_thread(self.credentials.record_validation, record, ValidationState.UNREACHABLE, reason)
        log.warning("credential validation %s failed on every delivery", message.credential_id)
