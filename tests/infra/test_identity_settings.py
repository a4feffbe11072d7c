"""The app runs on exactly the settings the templates set: prod settings load, storage is reached
by managed identity at the account's URLs, and both the storage clients and the Key Vault backend
ask for tokens as the user-assigned identity.

No Azure here: the managed identity endpoint that App Service and Functions provide
(`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`) is served on 127.0.0.1, and Key Vault is the in-memory
vault of tests/secrets plugged in as the SDK's transport. azure-identity, azure-keyvault-secrets
and the storage SDK are the real ones.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets._shared import http_challenge_cache

from shared.config import Environment, SecretsBackend, load_settings
from shared.secrets import KeyVaultBackend, SecretRef, secret_backend_from_settings
from shared.storage.account import StorageAccount
from tests.infra.example_deployment import (
    CLERK_ISSUER,
    FRONTEND_ORIGIN,
    IDENTITY_CLIENT_ID,
    KEYVAULT_URI,
    STORAGE_ACCOUNT,
    app_settings_environment,
)
from tests.secrets.fake_keyvault import FakeVaultTransport

TOKEN = "token-from-the-managed-identity-endpoint"


class IdentityEndpoint:
    """The managed identity endpoint of App Service and Functions, answering on 127.0.0.1.

    It records every token request (its query: resource, client_id, api-version) and answers with
    `TOKEN`; a request without the `X-IDENTITY-HEADER` secret gets 401, as in Azure.
    """

    def __init__(self) -> None:
        self.secret = secrets.token_urlsafe(16)
        self.requests: list[dict[str, str]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = dict(parse_qsl(urlsplit(self.path).query))
                if self.headers.get("X-IDENTITY-HEADER") != endpoint.secret:
                    self._reply(401, {"error": "missing or wrong X-IDENTITY-HEADER"})
                    return
                endpoint.requests.append(query)
                self._reply(
                    200,
                    {
                        "access_token": TOKEN,
                        "expires_on": str(int(time.time()) + 3600),
                        "resource": query.get("resource", ""),
                        "token_type": "Bearer",
                        "client_id": query.get("client_id", ""),
                    },
                )

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: pytest shows the assertions, not an access log."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """What `IDENTITY_ENDPOINT` holds."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/msi/token"

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def identity_endpoint() -> Iterator[IdentityEndpoint]:
    """A managed identity endpoint for one test."""
    endpoint = IdentityEndpoint()
    try:
        yield endpoint
    finally:
        endpoint.stop()


@pytest.fixture
def in_azure(identity_endpoint: IdentityEndpoint, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The process environment of the deployed app: the templates' app settings and the identity endpoint.

    Whatever a developer's shell holds for azure-identity (a service principal, az login hints,
    proxies) is removed, so the credential chain sees only what Azure gives the app.
    """
    for key in list(os.environ):
        if key.startswith(("AZURE_", "IDENTITY_", "MSI_", "IMDS_")) or key.lower() in ("http_proxy", "https_proxy"):
            monkeypatch.delenv(key)
    environ = app_settings_environment()
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("IDENTITY_ENDPOINT", identity_endpoint.url)
    monkeypatch.setenv("IDENTITY_HEADER", identity_endpoint.secret)
    return environ


@pytest.fixture
def fresh_challenge_cache() -> Iterator[None]:
    """Key Vault's challenge cache is process-wide: start and end without a cached challenge."""
    http_challenge_cache.clear()
    yield
    http_challenge_cache.clear()


def test_the_templates_settings_are_a_valid_prod_configuration() -> None:
    settings = load_settings(app_settings_environment(), local_settings=None)
    assert settings.environment is Environment.PROD
    assert settings.storage.connection_string is None
    assert settings.storage.credential == "managedidentity"
    assert settings.storage.client_id == IDENTITY_CLIENT_ID
    assert settings.secrets_backend is SecretsBackend.KEYVAULT
    assert str(settings.keyvault_url) == KEYVAULT_URI
    assert settings.local_secrets_key is None
    assert settings.clerk_issuer == CLERK_ISSUER
    assert str(settings.clerk_jwks_url) == f"{CLERK_ISSUER}/.well-known/jwks.json"
    assert settings.clerk_jwt_key is None  # left empty: JWKS only
    assert settings.clerk_authorized_parties == [FRONTEND_ORIGIN]
    assert settings.allow_private_endpoints is False
    assert settings.dev_tenant is False


def test_storage_account_from_exactly_the_templates_settings() -> None:
    """No network call: the clients are built and their URLs inspected."""
    settings = load_settings(app_settings_environment(), local_settings=None)
    with StorageAccount.from_settings(settings.storage) as account:
        assert account.blob_service.url.rstrip("/") == f"https://{STORAGE_ACCOUNT}.blob.core.windows.net"
        assert account.queue_service.url.rstrip("/") == f"https://{STORAGE_ACCOUNT}.queue.core.windows.net"
        assert account.table_service.url.rstrip("/") == f"https://{STORAGE_ACCOUNT}.table.core.windows.net"
        assert account.table_client("runs").url.startswith(f"https://{STORAGE_ACCOUNT}.table.core.windows.net")
        assert account.account_name == STORAGE_ACCOUNT
        assert account.uses_token_credential
        assert account.named_key is None  # SAS links go through user delegation
        assert isinstance(account.token_credential, DefaultAzureCredential)


def test_storage_tokens_are_asked_for_as_the_user_assigned_identity(
    in_azure: dict[str, str], identity_endpoint: IdentityEndpoint
) -> None:
    settings = load_settings(in_azure, local_settings=None)
    with StorageAccount.from_settings(settings.storage) as account:
        credential = account.token_credential
        assert credential is not None
        assert credential.get_token("https://storage.azure.com/.default").token == TOKEN
    assert [(r.get("resource"), r.get("client_id")) for r in identity_endpoint.requests] == [
        ("https://storage.azure.com", IDENTITY_CLIENT_ID)
    ]


@pytest.mark.usefixtures("fresh_challenge_cache")
def test_key_vault_tokens_are_asked_for_as_the_user_assigned_identity(
    in_azure: dict[str, str], identity_endpoint: IdentityEndpoint
) -> None:
    """The Key Vault backend passes no client id: AZURE_CLIENT_ID in the app settings selects the identity.

    Without it, DefaultAzureCredential would ask for the system-assigned identity, which the app
    does not have, and every secret operation would fail in Azure only.
    """
    settings = load_settings(in_azure, local_settings=None)
    vault = FakeVaultTransport(KEYVAULT_URI, token=TOKEN)
    backend = secret_backend_from_settings(settings, transport=vault)
    assert isinstance(backend, KeyVaultBackend)
    try:
        backend.put(SecretRef.pepper(), "pepper-value")
        assert backend.get(SecretRef.pepper()) == "pepper-value"
    finally:
        backend.close()
    assert identity_endpoint.requests, "the managed identity endpoint was never asked"
    assert {(r.get("resource"), r.get("client_id")) for r in identity_endpoint.requests} == {
        ("https://vault.azure.net", IDENTITY_CLIENT_ID)
    }
