"""The app settings of one example deployment: the templates' values as Azure would resolve them.

`resolve` evaluates the raw Bicep value of an app setting (a string literal, possibly with
`${...}` interpolation, or a bare expression) against `EXAMPLE_VALUES`. An expression the
example does not know fails the test that uses it, so a new setting in the templates gets an
example value here before the identity-based settings are checked end to end.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from tests.infra import bicep_text, templates

IDENTITY_CLIENT_ID: Final = "3f1c0b6e-2a9d-4c55-9a7e-0d6b1f2e4a11"
STORAGE_ACCOUNT: Final = "stexample7q2x5k"
FRONTEND_ORIGIN: Final = "https://app.example.com"
CLERK_ISSUER: Final = "https://clerk.example.com"
# The fake Key Vault of tests/secrets answers for this vault.
KEYVAULT_URI: Final = "https://tokenroute-test.vault.azure.net/"

EXAMPLE_VALUES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "identityClientId": IDENTITY_CLIENT_ID,
        "stg.name": STORAGE_ACCOUNT,
        "stg.properties.primaryEndpoints.blob": f"https://{STORAGE_ACCOUNT}.blob.core.windows.net/",
        "stg.properties.primaryEndpoints.queue": f"https://{STORAGE_ACCOUNT}.queue.core.windows.net/",
        "stg.properties.primaryEndpoints.table": f"https://{STORAGE_ACCOUNT}.table.core.windows.net/",
        "appInsights.properties.ConnectionString": (
            "InstrumentationKey=00000000-0000-0000-0000-000000000000;"
            "IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;"
            "ApplicationId=11111111-1111-1111-1111-111111111111"
        ),
        "logLevel": "INFO",
        "issuer": CLERK_ISSUER,
        "jwksUrl": f"{CLERK_ISSUER}/.well-known/jwks.json",
        "clerkJwtKey": "",
        "origin": FRONTEND_ORIGIN,
        "keyVaultUri": KEYVAULT_URI,
    }
)

_INTERPOLATION = re.compile(r"\$\{([^}]*)\}")


def _lookup(expression: str) -> str:
    expression = expression.strip()
    if expression not in EXAMPLE_VALUES:
        raise KeyError(f"the example deployment has no value for the Bicep expression {expression!r}")
    return EXAMPLE_VALUES[expression]


def resolve(raw: str) -> str:
    """The value Azure would give an app setting whose Bicep value is `raw`, in the example deployment."""
    raw = raw.strip()
    if raw.startswith("'") and raw.endswith("'"):
        with_values = _INTERPOLATION.sub(lambda match: _lookup(match[1]).replace("\\", "\\\\").replace("'", "\\'"), raw)
        value = bicep_text.string_value(with_values)
        if value is None:
            raise ValueError(f"cannot evaluate {raw!r}")
        return value
    return _lookup(raw)


def app_settings_environment() -> dict[str, str]:
    """Exactly the app settings the templates set, with the example deployment's values."""
    return {key: resolve(value) for key, value in templates.app_settings().items()}
