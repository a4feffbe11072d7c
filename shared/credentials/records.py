"""What a credential stores in Tables (metadata only, never the key) and what its validation queue carries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

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
    # Set when a validation is enqueued; the job's `validated_at` coming later means it is done.
    validation_requested_at: datetime | None = None
    secret_version: str
    created_at: datetime
    created_by: str
    rotated_at: datetime | None = None

    @property
    def tenant_id(self) -> str:
        """The tenant, from the partition key."""
        return self.partition_key.split("~")[0]

    @property
    def project_id(self) -> str:
        """The project, from the partition key."""
        return self.partition_key.split("~")[1]

    @property
    def validation_pending(self) -> bool:
        """True while a requested validation has not reported back."""
        if self.validation_requested_at is None:
            return False
        return self.validated_at is None or self.validated_at < self.validation_requested_at


_ID = r"^[a-z]{2,4}_[a-z2-7]{20}$"


class CredentialValidationMessage(BaseModel):
    """One `credential-validations` message: ids only, never the key or the URL.

    `secret_version` is the key version the validation was asked for: a rotation in between makes
    the message stale, and the job drops it rather than stamp the new key with the old key's result.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: str = Field(pattern=_ID)
    project_id: str = Field(pattern=_ID)
    credential_id: str = Field(pattern=_ID)
    secret_version: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z]+$")
