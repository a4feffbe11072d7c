"""The one settings object of TokenRoute, read once from the environment.

In Azure the environment holds the app settings. Locally, `local.settings.json`
`Values` fill in whatever the process environment does not set, so a single
command can override a setting (`TOKENROUTE_ENV=test make run`).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

DEV_STORAGE = "UseDevelopmentStorage=true"


class Environment(StrEnum):
    """Where the code runs; `prod` refuses every local convenience."""

    LOCAL = "local"
    TEST = "test"
    PROD = "prod"


class SecretsBackend(StrEnum):
    """Which store keeps provider keys and the API-key pepper."""

    KEYVAULT = "keyvault"
    LOCAL = "local"


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _flag(value: Any) -> Any:
    # App settings are strings; an empty value means "not set".
    if isinstance(value, str) and value.strip() == "":
        return False
    return value


class StorageSettings(BaseModel):
    """How to reach the storage account: a connection string or identity-based URIs.

    The identity form mirrors the Functions host's `AzureWebJobsStorage__*` settings, so the
    app and the host read the same keys.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    connection_string: SecretStr | None = Field(default=None, alias="AzureWebJobsStorage")
    account_name: str | None = Field(default=None, alias="AzureWebJobsStorage__accountName")
    blob_service_uri: HttpUrl | None = Field(default=None, alias="AzureWebJobsStorage__blobServiceUri")
    queue_service_uri: HttpUrl | None = Field(default=None, alias="AzureWebJobsStorage__queueServiceUri")
    table_service_uri: HttpUrl | None = Field(default=None, alias="AzureWebJobsStorage__tableServiceUri")
    credential: str | None = Field(default=None, alias="AzureWebJobsStorage__credential")
    client_id: str | None = Field(default=None, alias="AzureWebJobsStorage__clientId")

    @model_validator(mode="before")
    @classmethod
    def _empty_is_unset(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if not (isinstance(value, str) and not value.strip())}
        return data

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        if self.connection_string is not None and self.connection_string.get_secret_value().strip():
            return self
        if self.account_name or (self.blob_service_uri and self.queue_service_uri and self.table_service_uri):
            return self
        raise ValueError(
            "set AzureWebJobsStorage to a connection string, or the identity-based "
            "AzureWebJobsStorage__accountName (or __blobServiceUri, __queueServiceUri and "
            "__tableServiceUri)"
        )

    @property
    def uses_development_storage(self) -> bool:
        """True for the emulator shorthand or an explicit devstoreaccount1 connection string."""
        if self.connection_string is None:
            return False
        value = self.connection_string.get_secret_value()
        return value.strip() == DEV_STORAGE or "AccountName=devstoreaccount1" in value


class Settings(BaseModel):
    """Every setting TokenRoute reads (DESIGN.md section 4 is the contract)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    environment: Environment = Field(alias="TOKENROUTE_ENV")
    storage: StorageSettings

    clerk_issuer: str | None = Field(default=None, alias="CLERK_ISSUER")
    clerk_jwks_url: HttpUrl | None = Field(default=None, alias="CLERK_JWKS_URL")
    clerk_jwt_key: SecretStr | None = Field(default=None, alias="CLERK_JWT_KEY")
    clerk_authorized_parties: Annotated[list[str], BeforeValidator(_comma_list)] = Field(
        default_factory=list, alias="CLERK_AUTHORIZED_PARTIES"
    )

    secrets_backend: SecretsBackend = Field(alias="SECRETS_BACKEND")
    keyvault_url: HttpUrl | None = Field(default=None, alias="KEYVAULT_URL")
    local_secrets_key: SecretStr | None = Field(default=None, alias="LOCAL_SECRETS_KEY")
    local_secrets_path: Path | None = Field(default=None, alias="LOCAL_SECRETS_PATH")

    allow_private_endpoints: Annotated[bool, BeforeValidator(_flag)] = Field(
        default=False, alias="TOKENROUTE_ALLOW_PRIVATE_ENDPOINTS"
    )
    dev_tenant: Annotated[bool, BeforeValidator(_flag)] = Field(default=False, alias="TOKENROUTE_DEV_TENANT")
    log_level: str = Field(default="INFO", alias="TOKENROUTE_LOG_LEVEL")

    @model_validator(mode="before")
    @classmethod
    def _empty_is_unset(cls, data: Any) -> Any:
        # App settings and local.settings.json cannot omit a key as easily as leave it empty.
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if not (isinstance(value, str) and not value.strip())}
        return data

    @field_validator("clerk_issuer")
    @classmethod
    def _issuer_is_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be the issuer URL of the Clerk instance, e.g. https://clerk.example.com")
        return value or None

    @field_validator("clerk_jwt_key")
    @classmethod
    def _pem_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        # App settings cannot hold newlines easily; accept "\n" escapes as Clerk's dashboard shows.
        pem = value.get_secret_value().replace("\\n", "\n").strip()
        if "-----BEGIN PUBLIC KEY-----" not in pem:
            raise ValueError("must be a PEM public key (-----BEGIN PUBLIC KEY----- ...)")
        return SecretStr(pem)

    @field_validator("local_secrets_path", mode="before")
    @classmethod
    def _empty_path(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("local_secrets_key")
    @classmethod
    def _key_is_32_bytes(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        try:
            raw = base64.urlsafe_b64decode(value.get_secret_value().strip().encode())
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ValueError("must be 32 random bytes, URL-safe base64 encoded (make run generates one)")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        problems: list[str] = []
        if self.secrets_backend is SecretsBackend.KEYVAULT and self.keyvault_url is None:
            problems.append("KEYVAULT_URL: required when SECRETS_BACKEND=keyvault")
        if self.secrets_backend is SecretsBackend.LOCAL and self.local_secrets_key is None:
            problems.append("LOCAL_SECRETS_KEY: required when SECRETS_BACKEND=local")
        if self.clerk_issuer and self.clerk_jwks_url is None and self.clerk_jwt_key is None:
            problems.append("CLERK_JWKS_URL or CLERK_JWT_KEY: one is required when CLERK_ISSUER is set")
        if self.environment is Environment.PROD:
            if self.secrets_backend is SecretsBackend.LOCAL:
                problems.append("SECRETS_BACKEND: the local secrets backend is refused when TOKENROUTE_ENV=prod")
            if self.allow_private_endpoints:
                problems.append("TOKENROUTE_ALLOW_PRIVATE_ENDPOINTS: must be off when TOKENROUTE_ENV=prod")
            if self.dev_tenant:
                problems.append("TOKENROUTE_DEV_TENANT: the development tenant is refused when TOKENROUTE_ENV=prod")
            if self.storage.uses_development_storage:
                problems.append("AzureWebJobsStorage: development storage is refused when TOKENROUTE_ENV=prod")
            if not self.clerk_issuer:
                problems.append("CLERK_ISSUER: required when TOKENROUTE_ENV=prod")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class SettingsError(ValueError):
    """The environment does not describe a valid configuration; the message names every bad key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Invalid TokenRoute settings:\n" + "\n".join(f"  - {p}" for p in problems))


def read_local_values(path: Path) -> dict[str, str]:
    """The `Values` of a `local.settings.json`, or nothing when the file does not exist."""
    if not path.is_file():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SettingsError([f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})"]) from exc
    values = document.get("Values", {}) if isinstance(document, dict) else None
    if not isinstance(values, dict):
        raise SettingsError([f"{path}: 'Values' must be an object of strings"])
    return {str(key): str(value) for key, value in values.items()}


def _storage_keys(source: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in source.items() if key.split("__")[0] == "AzureWebJobsStorage"}


def _describe(error: ValidationError) -> list[str]:
    """One line per bad key: `KEY: what is wrong`."""
    problems: list[str] = []
    for item in error.errors():
        loc = [str(part) for part in item["loc"]]
        message = "required but not set" if item["type"] == "missing" else item["msg"].removeprefix("Value error, ")
        if not loc:
            # Cross-field checks already name their keys, several at a time.
            problems.extend(message.split("; "))
        elif loc == ["storage"]:
            problems.append(f"AzureWebJobsStorage: {message}")
        else:
            problems.append(f"{loc[-1]}: {message}")
    return problems


def load_settings(
    environ: Mapping[str, str] | None = None,
    local_settings: Path | None = Path("local.settings.json"),
) -> Settings:
    """Build and validate the settings; raise `SettingsError` naming every bad key.

    The process environment wins over `local.settings.json`, which only fills gaps.
    """
    env = dict(os.environ if environ is None else environ)
    merged = read_local_values(local_settings) if local_settings is not None else {}
    merged.update(env)
    data: dict[str, Any] = {key: value for key, value in merged.items() if not key.startswith("AzureWebJobsStorage")}
    data["storage"] = _storage_keys(merged)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
