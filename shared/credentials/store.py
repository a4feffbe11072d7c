"""Creating, reading, rotating and deleting credentials.

The key goes to the secret backend first and the metadata row second: a crash in between leaves
an orphan secret (swept by the lifecycle job), never a row whose key is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.clock import Clock
from shared.credentials.records import CredentialRecord, ValidationState
from shared.ids import new_id
from shared.providers.models import ProviderCredential
from shared.secrets import SecretBackend, SecretRef
from shared.storage import ModelTable, Page, StorageAccount
from shared.storage.catalog import CREDENTIALS_TABLE
from shared.tenancy.records import scope_key


def fingerprint(key: str) -> str:
    """What identifies a key to its owner without revealing it: its last four characters."""
    return "…" + key[-4:] if len(key) >= 12 else "…"


@dataclass(frozen=True)
class CredentialDetails:
    """The non-secret parts of a new credential."""

    provider: str
    name: str
    base_url: str | None = None
    organization: str | None = None
    azure_endpoint: str | None = None
    azure_deployment: str | None = None
    azure_api_version: str | None = None


class CredentialStore:
    """Credentials of a project."""

    def __init__(self, account: StorageAccount, secrets: SecretBackend, clock: Clock) -> None:
        self.table = ModelTable(account, CREDENTIALS_TABLE, CredentialRecord)
        self.secrets = secrets
        self.clock = clock

    def ensure(self) -> None:
        """Create the table (idempotent)."""
        self.table.ensure()

    def create(
        self, tenant_id: str, project_id: str, details: CredentialDetails, key: str, created_by: str
    ) -> CredentialRecord:
        """Store the key in the secret backend and the metadata in Tables."""
        credential_id = new_id("crd")
        version = self.secrets.put(SecretRef.credential(tenant_id, project_id, credential_id), key)
        record = CredentialRecord(
            partition_key=scope_key(tenant_id, project_id),
            row_key=credential_id,
            provider=details.provider,
            name=details.name,
            fingerprint=fingerprint(key),
            base_url=details.base_url,
            organization=details.organization,
            azure_endpoint=details.azure_endpoint,
            azure_deployment=details.azure_deployment,
            azure_api_version=details.azure_api_version,
            secret_version=version,
            created_at=self.clock.now(),
            created_by=created_by,
        )
        self.table.insert(record)
        return record

    def find(self, tenant_id: str, project_id: str, credential_id: str) -> CredentialRecord | None:
        """The credential's metadata, or None."""
        return self.table.find(scope_key(tenant_id, project_id), credential_id)

    def list(self, tenant_id: str, project_id: str, *, limit: int, cursor: str | None) -> Page[CredentialRecord]:
        """A page of the project's credentials."""
        return self.table.list_partition(scope_key(tenant_id, project_id), page_size=limit, cursor=cursor)

    def rotate(self, record: CredentialRecord, key: str) -> CredentialRecord:
        """A new secret version; validation starts over."""
        tenant_id, project_id = record.partition_key.split("~")
        version = self.secrets.put(SecretRef.credential(tenant_id, project_id, record.row_key), key)
        rotated = record.model_copy(
            update={
                "fingerprint": fingerprint(key),
                "secret_version": version,
                "rotated_at": self.clock.now(),
                "validation_state": ValidationState.UNVALIDATED,
                "validation_reason": None,
                "validated_at": None,
            }
        )
        self.table.update(rotated, etag=record.etag or "*")
        return rotated

    def record_validation(
        self, record: CredentialRecord, state: ValidationState, reason: str | None
    ) -> CredentialRecord:
        """Store the outcome of a validation call."""
        updated = record.model_copy(
            update={"validation_state": state, "validation_reason": reason, "validated_at": self.clock.now()}
        )
        self.table.upsert(updated, mode="merge")
        return updated

    def delete(self, record: CredentialRecord) -> None:
        """Remove the row first (unreachable at once), then the secret."""
        tenant_id, project_id = record.partition_key.split("~")
        self.table.delete(record.partition_key, record.row_key)
        self.secrets.delete(SecretRef.credential(tenant_id, project_id, record.row_key))

    def provider_credential(self, record: CredentialRecord) -> ProviderCredential:
        """What an adapter needs, with the key read from the secret backend."""
        tenant_id, project_id = record.partition_key.split("~")
        key = self.secrets.get(SecretRef.credential(tenant_id, project_id, record.row_key))
        return ProviderCredential(
            api_key=key,
            base_url=record.base_url,
            organization=record.organization,
            azure_endpoint=record.azure_endpoint,
            azure_deployment=record.azure_deployment,
            azure_api_version=record.azure_api_version,
        )
