"""The rules for what a credential may hold: which provider, which fields for it, which URLs.

Kept apart from the HTTP layer so that the API and any other writer apply the same rules. Every
failure names the field it is about.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from shared.credentials.store import CredentialDetails
from shared.providers.egress import EgressRefused, check_base_url, check_base_url_resolved
from shared.providers.registry import PROVIDER_NAMES, default_base_url, is_simulated

AZURE = "azure_openai"
OPENAI = "openai"
_AZURE_FIELDS = ("azure_endpoint", "azure_deployment", "azure_api_version")


@dataclass(frozen=True)
class FieldProblem:
    """One refused field: its name in the request, why, and a stable code."""

    field: str
    message: str
    code: str


class CredentialFieldsRefused(ValueError):
    """The fields of a credential break the rules; `problems` lists each one."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


def provider_problem(provider: str) -> str | None:
    """Why `provider` cannot have a credential, or None."""
    if is_simulated(provider):
        return f"{provider!r} is simulated and needs no credential"
    if provider not in PROVIDER_NAMES:
        return f"unknown provider; known: {', '.join(sorted(PROVIDER_NAMES))}"
    return None


def _url(field: str, value: str, allow_private: bool, problems: list[FieldProblem]) -> str | None:
    try:
        return check_base_url(value, allow_private=allow_private)
    except EgressRefused as exc:
        problems.append(FieldProblem(field, str(exc), "egress_refused"))
        return None


def _refuse_unless(allowed: bool, field: str, value: str | None, why: str, problems: list[FieldProblem]) -> None:
    if value is not None and not allowed:
        problems.append(FieldProblem(field, why, "not_allowed"))


def credential_details(fields: CredentialDetails, *, allow_private: bool) -> CredentialDetails:
    """The details to store, with URLs normalized; raise `CredentialFieldsRefused` naming every bad field.

    - `provider` is an HTTP adapter of the registry (not a simulated one);
    - Azure OpenAI needs `azure_endpoint` (the resource URL) and takes `azure_deployment` (the
      deployment URL form; without it the v1 form is used) and `azure_api_version` (deployment form
      only); these fields are refused for every other provider, and `base_url` is refused for Azure;
    - `organization` is OpenAI's only;
    - every URL passes the SSRF policy (`check_base_url`); a provider without a default base URL
      needs `base_url`, and a default that the policy refuses (local servers while private endpoints
      are off) must be replaced by an allowed one.
    """
    problems: list[FieldProblem] = []
    if (why := provider_problem(fields.provider)) is not None:
        raise CredentialFieldsRefused([FieldProblem("provider", why, "unknown_provider")])
    is_azure = fields.provider == AZURE
    for field in _AZURE_FIELDS:
        _refuse_unless(is_azure, field, getattr(fields, field), "only for provider 'azure_openai'", problems)
    _refuse_unless(
        fields.provider == OPENAI, "organization", fields.organization, "only for provider 'openai'", problems
    )
    _refuse_unless(not is_azure, "base_url", fields.base_url, "Azure OpenAI takes azure_endpoint instead", problems)

    base_url = azure_endpoint = None
    if is_azure:
        if fields.azure_endpoint is None:
            problems.append(FieldProblem("azure_endpoint", "required for provider 'azure_openai'", "missing"))
        else:
            azure_endpoint = _url("azure_endpoint", fields.azure_endpoint, allow_private, problems)
        if fields.azure_api_version is not None and fields.azure_deployment is None:
            problems.append(
                FieldProblem("azure_api_version", "only with azure_deployment (the v1 form has none)", "not_allowed")
            )
    elif fields.base_url is not None:
        base_url = _url("base_url", fields.base_url, allow_private, problems)
    else:
        default = default_base_url(fields.provider)
        if default is None:
            problems.append(FieldProblem("base_url", f"required for provider {fields.provider!r}", "missing"))
        else:
            try:
                check_base_url(default, allow_private=allow_private)
            except EgressRefused as exc:
                problems.append(
                    FieldProblem("base_url", f"the default base URL is not allowed: {exc}", "egress_refused")
                )
    if problems:
        raise CredentialFieldsRefused(problems)
    return CredentialDetails(
        provider=fields.provider,
        name=fields.name,
        base_url=base_url,
        organization=fields.organization,
        azure_endpoint=azure_endpoint,
        azure_deployment=fields.azure_deployment,
        azure_api_version=fields.azure_api_version,
    )


async def check_resolved(details: CredentialDetails, *, allow_private: bool, timeout_s: float = 3.0) -> None:
    """Refuse (`CredentialFieldsRefused`) a URL whose host resolves to an address the policy refuses.

    An early, friendly answer only: the guard under every call checks each connection again. A name
    that does not resolve now, or not in time, is accepted; the call will fail as unreachable if it still
    does not.
    """
    for field in ("base_url", "azure_endpoint"):
        url = getattr(details, field)
        if url is None:
            continue
        try:
            async with asyncio.timeout(timeout_s):
                await check_base_url_resolved(url, allow_private=allow_private)
        except EgressRefused as exc:
            raise CredentialFieldsRefused([FieldProblem(field, str(exc), "egress_refused")]) from None
        except (OSError, TimeoutError):
            continue
