"""Settings: read once, environment over local.settings.json, every bad key named."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pytest

from shared.config import Environment, SecretsBackend, SettingsError, load_settings

KEY = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
VALID = {
    "TOKENROUTE_ENV": "local",
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    "SECRETS_BACKEND": "local",
    "LOCAL_SECRETS_KEY": KEY,
}
PEM = "-----BEGIN PUBLIC KEY-----\\nMIIBIjANBgkq\\n-----END PUBLIC KEY-----"


def problems_of(environ: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ, local_settings=None)
    return caught.value.problems


def test_valid_local_settings() -> None:
    settings = load_settings(VALID, local_settings=None)
    assert settings.environment is Environment.LOCAL
    assert settings.secrets_backend is SecretsBackend.LOCAL
    assert settings.storage.uses_development_storage
    assert settings.allow_private_endpoints is False


@pytest.mark.parametrize("key", ["TOKENROUTE_ENV", "SECRETS_BACKEND", "AzureWebJobsStorage"])
def test_each_missing_key_is_named(key: str) -> None:
    environ = {k: v for k, v in VALID.items() if k != key}
    problems = problems_of(environ)
    assert len(problems) == 1
    assert problems[0].startswith(f"{key}:")


def test_all_missing_keys_named_at_once() -> None:
    problems = problems_of({})
    named = {p.split(":")[0] for p in problems}
    assert named == {"TOKENROUTE_ENV", "SECRETS_BACKEND", "AzureWebJobsStorage"}


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("TOKENROUTE_ENV", "staging", "'local', 'test' or 'prod'"),
        ("SECRETS_BACKEND", "vault", "'keyvault' or 'local'"),
        ("LOCAL_SECRETS_KEY", "short", "32 random bytes"),
        ("CLERK_ISSUER", "clerk.example.com", "issuer URL"),
        ("CLERK_JWKS_URL", "not a url", "URL"),
        ("CLERK_JWT_KEY", "not a pem", "PEM public key"),
        ("KEYVAULT_URL", "ftp//x", "URL"),
        ("TOKENROUTE_ALLOW_PRIVATE_ENDPOINTS", "perhaps", "boolean"),
        ("TOKENROUTE_DEV_TENANT", "2", "boolean"),
        ("TOKENROUTE_LOG_LEVEL", "LOUD", "DEBUG, INFO"),
    ],
)
def test_each_malformed_key_is_named(key: str, value: str, fragment: str) -> None:
    problems = problems_of({**VALID, key: value})
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{key}:")
    assert fragment in problems[0]


def test_message_lists_every_problem_and_no_secret_value() -> None:
    secret = "AccountKey=SuperSecretValue"
    with pytest.raises(SettingsError) as caught:
        load_settings({"AzureWebJobsStorage": secret, "TOKENROUTE_ENV": "nope"}, local_settings=None)
    text = str(caught.value)
    assert "TOKENROUTE_ENV" in text
    assert "SECRETS_BACKEND" in text
    assert "SuperSecretValue" not in text


def test_backend_needs_its_companion_setting() -> None:
    assert problems_of({**VALID, "LOCAL_SECRETS_KEY": ""}) == ["LOCAL_SECRETS_KEY: required when SECRETS_BACKEND=local"]
    assert problems_of({**VALID, "SECRETS_BACKEND": "keyvault"}) == [
        "KEYVAULT_URL: required when SECRETS_BACKEND=keyvault"
    ]


def test_prod_refuses_local_conveniences() -> None:
    problems = problems_of(
        {
            **VALID,
            "TOKENROUTE_ENV": "prod",
            "TOKENROUTE_ALLOW_PRIVATE_ENDPOINTS": "true",
            "TOKENROUTE_DEV_TENANT": "true",
        }
    )
    named = {p.split(":")[0] for p in problems}
    assert {
        "SECRETS_BACKEND",
        "TOKENROUTE_ALLOW_PRIVATE_ENDPOINTS",
        "TOKENROUTE_DEV_TENANT",
        "AzureWebJobsStorage",
        "CLERK_ISSUER",
    } <= named


def test_prod_with_identity_storage_and_keyvault_is_valid() -> None:
    settings = load_settings(
        {
            "TOKENROUTE_ENV": "prod",
            "AzureWebJobsStorage__accountName": "sttokenroute",
            "AzureWebJobsStorage__credential": "managedidentity",
            "AzureWebJobsStorage__clientId": "00000000-0000-0000-0000-000000000001",
            "SECRETS_BACKEND": "keyvault",
            "KEYVAULT_URL": "https://kv-tokenroute.vault.azure.net/",
            "CLERK_ISSUER": "https://clerk.example.com",
            "CLERK_JWT_KEY": PEM,
            "CLERK_AUTHORIZED_PARTIES": "https://app.example.com, https://admin.example.com",
        },
        local_settings=None,
    )
    assert settings.environment is Environment.PROD
    assert settings.storage.account_name == "sttokenroute"
    assert settings.storage.connection_string is None
    assert settings.clerk_authorized_parties == ["https://app.example.com", "https://admin.example.com"]
    assert settings.clerk_jwt_key is not None
    assert "\n" in settings.clerk_jwt_key.get_secret_value()


def test_local_settings_fill_gaps_and_environment_wins(tmp_path: Path) -> None:
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps({"IsEncrypted": False, "Values": {**VALID, "TOKENROUTE_LOG_LEVEL": "DEBUG"}}))
    from_file = load_settings({}, local_settings=path)
    assert from_file.log_level == "DEBUG"
    overridden = load_settings({"TOKENROUTE_LOG_LEVEL": "WARNING", "TOKENROUTE_ENV": "test"}, local_settings=path)
    assert overridden.log_level == "WARNING"
    assert overridden.environment is Environment.TEST


def test_broken_local_settings_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "local.settings.json"
    path.write_text("{ not json")
    with pytest.raises(SettingsError, match=r"local.settings.json: not valid JSON"):
        load_settings({}, local_settings=path)


def test_secrets_do_not_show_in_repr() -> None:
    settings = load_settings(VALID, local_settings=None)
    assert KEY not in repr(settings)
    assert "UseDevelopmentStorage" not in repr(settings)


def test_sample_documents_every_setting() -> None:
    sample = json.loads((Path(__file__).resolve().parents[2] / "local.settings.sample.json").read_text())
    aliases = {field.alias for field in type(load_settings(VALID, local_settings=None)).model_fields.values()}
    aliases.discard("storage")
    aliases.discard(None)
    assert aliases | {"AzureWebJobsStorage"} <= set(sample["Values"])
    assert set(sample["Values"]) <= set(sample["Explanations"])
