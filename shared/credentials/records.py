"""What a credential stores in Tables: metadata only, never the key."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from shared.storage import TableModel


class ValidationState(StrEnum):
    """The outcome of the last cheap call made with the credential."""

    UNVALIDATED = "unvalidated"
    VALID = "valid"
    INVALID = "invalid"
    UNREACHABLE = "unreachable"


class CredentialRecord(TableModel):
    """PK = "<tenant>~<project>", RK = credential id."""

    provider: str
    name: str
    fingerprint: str
    base_url: str | None = None
    organization: str | None = None
    azure_endpoint: str | None = None
    azure_deployment: str | None = None
    azure_api_version: str | None = None
    validation_state: ValidationState = ValidationState.UNVALIDATED
    validation_reason: str | None = None
    validated_at: datetime | None = None
    secret_version: str
    created_at: datetime
    created_by: str
    rotated_at: datetime | None = None
