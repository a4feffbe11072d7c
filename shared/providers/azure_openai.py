"""Azure OpenAI adapter: OpenAI's body and parser, Azure's URLs and `api-key` header.

Two URL forms, chosen by whether the credential names a deployment:
- deployment: `{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...` (the model is
  the deployment, so the body carries none);
- v1 (no deployment): `{endpoint}/openai/v1/chat/completions` with the model in the body.
"""

from __future__ import annotations

import time
from urllib.parse import quote, urlencode

import httpx

from shared.providers.compat import AZURE_OPENAI
from shared.providers.errors import ErrorKind, ProviderError
from shared.providers.models import ChatRequest, Completion, MonotonicClock, ProviderCredential
from shared.providers.openai_chat import build_body, exchange
from shared.providers.transport import required_secret

PROVIDER = "azure_openai"
# The GA data-plane version the recorded fixtures use; it knows stream_options and max_completion_tokens.
DEFAULT_API_VERSION = "2024-10-21"


def _endpoint(credential: ProviderCredential) -> str:
    endpoint = (credential.azure_endpoint or credential.base_url or "").rstrip("/")
    if not endpoint:
        raise ProviderError(ErrorKind.REQUEST, "no Azure endpoint configured", provider=PROVIDER)
    # People paste the v1 base URL from the portal; accept it as the endpoint.
    for suffix in ("/openai/v1", "/openai"):
        if endpoint.endswith(suffix):
            return endpoint[: -len(suffix)]
    return endpoint


def chat_url(credential: ProviderCredential) -> tuple[str, bool]:
    """The chat URL for this credential, and whether the body must name the model (v1 form)."""
    endpoint = _endpoint(credential)
    if credential.azure_deployment:
        query = urlencode({"api-version": credential.azure_api_version or DEFAULT_API_VERSION})
        deployment = quote(credential.azure_deployment, safe="")
        return f"{endpoint}/openai/deployments/{deployment}/chat/completions?{query}", False
    return f"{endpoint}/openai/v1/chat/completions", True


async def complete(
    client: httpx.AsyncClient,
    credential: ProviderCredential,
    request: ChatRequest,
    *,
    clock: MonotonicClock = time.perf_counter,
) -> Completion:
    """One chat completion from an Azure OpenAI resource."""
    secret = required_secret(credential, provider=PROVIDER)
    url, include_model = chat_url(credential)
    body, unsupported = build_body(request, AZURE_OPENAI, include_model=include_model)
    return await exchange(
        client,
        provider=PROVIDER,
        url=url,
        headers={"api-key": secret},
        body=body,
        stream=request.stream,
        secret=secret,
        clock=clock,
        unsupported=unsupported,
    )
