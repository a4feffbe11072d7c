"""Which fields a credential of each provider may and must have, and which URLs it may point at."""

from __future__ import annotations

import pytest

from shared.credentials.fields import CredentialFieldsRefused, credential_details
from shared.credentials.keys import fingerprint, key_problem
from shared.credentials.store import CredentialDetails

AZURE = "https://a.openai.azure.com"


def refused(details: CredentialDetails, *, allow_private: bool = False) -> dict[str, str]:
    with pytest.raises(CredentialFieldsRefused) as caught:
        credential_details(details, allow_private=allow_private)
    return {p.field: p.code for p in caught.value.problems}


def test_openai_needs_nothing_but_may_name_an_organization() -> None:
    details = credential_details(CredentialDetails("openai", "prod", organization="org-1"), allow_private=False)
    assert (details.base_url, details.organization) == (None, "org-1")


def test_urls_are_normalized() -> None:
    details = credential_details(
        CredentialDetails("mistral", "m", base_url="HTTPS://API.Mistral.AI:443/v1/"), allow_private=False
    )
    assert details.base_url == "https://api.mistral.ai/v1"


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        (CredentialDetails("openai", "x", azure_endpoint=AZURE), {"azure_endpoint": "not_allowed"}),
        (CredentialDetails("anthropic", "x", azure_deployment="d", azure_api_version="2024-10-21"),
         {"azure_deployment": "not_allowed", "azure_api_version": "not_allowed"}),
        (CredentialDetails("anthropic", "x", organization="org-1"), {"organization": "not_allowed"}),
        (CredentialDetails("azure_openai", "x"), {"azure_endpoint": "missing"}),
        (CredentialDetails("azure_openai", "x", azure_endpoint=AZURE, base_url="https://b.com"),
         {"base_url": "not_allowed"}),
        (CredentialDetails("azure_openai", "x", azure_endpoint=AZURE, azure_api_version="2024-10-21"),
         {"azure_api_version": "not_allowed"}),
        (CredentialDetails("openai_compatible", "x"), {"base_url": "missing"}),
        (CredentialDetails("ollama", "x"), {"base_url": "egress_refused"}),  # default is localhost
        (CredentialDetails("openai", "x", base_url="https://127.0.0.1/v1"), {"base_url": "egress_refused"}),
        (CredentialDetails("openai", "x", base_url="http://api.example.com/v1"), {"base_url": "egress_refused"}),
        (CredentialDetails("azure_openai", "x", azure_endpoint="https://169.254.169.254"),
         {"azure_endpoint": "egress_refused"}),
        (CredentialDetails("sandbox", "x"), {"provider": "unknown_provider"}),
        (CredentialDetails("openai2", "x"), {"provider": "unknown_provider"}),
    ],
)  # fmt: skip
def test_wrong_combinations_name_each_field(details: CredentialDetails, expected: dict[str, str]) -> None:
    assert refused(details) == expected


def test_private_endpoints_when_allowed() -> None:
    for details in (
        CredentialDetails("ollama", "local"),
        CredentialDetails("vllm", "local", base_url="http://10.0.0.5:8000/v1"),
        CredentialDetails("azure_openai", "x", azure_endpoint="http://127.0.0.1:9999", azure_deployment="d"),
    ):
        credential_details(details, allow_private=True)


def test_keys_must_be_header_safe_and_bounded_and_are_never_quoted() -> None:
    for bad in ("short", "x" * 513, "sk-with space-123", "sk-tab\t0123456", "sk-ünïcode-1234"):
        problem = key_problem(bad)
        assert problem is not None
        assert bad not in problem
    assert key_problem("sk-" + "a" * 40) is None


def test_the_fingerprint_shows_four_characters_of_long_keys_only() -> None:
    assert fingerprint("sk-0123456789abcd") == "…abcd"
    assert fingerprint("sk-0123") == "…"
