"""Creating, reading, rotating, validating and deleting credentials.

The key goes to the secret backend first and the metadata row second: a crash in between leaves
an orphan secret (swept by the lifecycle job), never a row whose key is missing. Rows are only ever
changed with the ETag they were read with, so a late validation result cannot resurrect a deleted
credential nor overwrite what a rotation just reset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.clock import Clock
from shared.credentials.keys import fingerprint, key_problem
from shared.credentials.records import CredentialRecord, CredentialValidationMessage, ValidationState
from shared.ids import new_id
from shared.providers.models import ProviderCredential
from shared.secrets import SecretBackend, SecretRef
from shared.storage import ConcurrencyError, ModelTable, NotFound, Page, QueueSender, StorageAccount
from shared.storage.catalog import CREDENTIAL_VALIDATIONS_QUEUE, CREDENTIALS_TABLE
from shared.tenancy.records import scope_key

__all__ = ["CredentialDetails", "CredentialStore", "fingerprint"]

# Writers that lose an ETag race re-read and try again this many times.
_ATTEMPTS = 5


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


def _etag(record: CredentialRecord) -> str:
    # Never "*": a blind write could undo a rotation or resurrect a deleted row.
    if record.etag is None:
        raise ValueError("change a credential read from the store (its ETag guards the write)")
    return record.etag


def _checked_key(key: str) -> str:
    if (why := key_problem(key)) is not None:
        raise ValueError(why)
    return key


class CredentialStore:
    """Credentials of a project, and the queue of their validations."""

    def __init__(self, account: StorageAccount, secrets: SecretBackend, clock: Clock) -> None:
        self.table = ModelTable(account, CREDENTIALS_TABLE, CredentialRecord)
        self.validations = QueueSender(account, CREDENTIAL_VALIDATIONS_QUEUE)
        self.secrets = secrets
        self.clock = clock

    def ensure(self) -> None:
        """Create the table and the validation queue (idempotent)."""
        self.table.ensure()
        self.validations.ensure()

    def create(
        self, tenant_id: str, project_id: str, details: CredentialDetails, key: str, created_by: str
    ) -> CredentialRecord:
        """Store the key in the secret backend and the metadata in Tables."""
        credential_id = new_id("crd")
        version = self.secrets.put(SecretRef.credential(tenant_id, project_id, credential_id), _checked_key(key))
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
        record._etag = self.table.insert(record)
        return record

    def find(self, tenant_id: str, project_id: str, credential_id: str) -> CredentialRecord | None:
        """The credential's metadata, or None."""
        return self.table.find(scope_key(tenant_id, project_id), credential_id)

    def list(self, tenant_id: str, project_id: str, *, limit: int, cursor: str | None) -> Page[CredentialRecord]:
        """A page of the project's credentials."""
        return self.table.list_partition(scope_key(tenant_id, project_id), page_size=limit, cursor=cursor)

    def rotate(self, record: CredentialRecord, key: str) -> CredentialRecord:
        """A new secret version; validation starts over. Raises `ConcurrencyError` if the row changed meanwhile."""
        ref = SecretRef.credential(record.tenant_id, record.project_id, record.row_key)
        version = self.secrets.put(ref, _checked_key(key))
        rotated = record.model_copy(
            update={
                "fingerprint": fingerprint(key),
                "secret_version": version,
                "rotated_at": self.clock.now(),
                "validation_state": ValidationState.UNVALIDATED,
                "validation_reason": None,
                "validated_at": None,
                "validation_requested_at": None,
            }
        )
        rotated._etag = self.table.update(rotated, etag=_etag(record))
        return rotated

    def request_validation(self, record: CredentialRecord) -> CredentialRecord:
        """Mark the credential as waiting for validation and enqueue the job's message (ids only)."""
        requested = record.model_copy(update={"validation_requested_at": self.clock.now()})
        requested._etag = self.table.update(requested, etag=_etag(record))
        self.validations.send(
            CredentialValidationMessage(
                tenant_id=record.tenant_id,
                project_id=record.project_id,
                credential_id=record.row_key,
                secret_version=record.secret_version,
            )
        )
        return requested

    def record_validation(
        self, record: CredentialRecord, state: ValidationState, reason: str | None
    ) -> CredentialRecord | None:
        """Store the outcome of a validation made with `record`'s key version.

        None (nothing written) when the credential was deleted or its key rotated since: the outcome
        belongs to a key that is gone. Lost ETag races are retried with the current row.
        """
        current: CredentialRecord | None = record
        if record.etag is None:
            current = self.table.find(record.partition_key, record.row_key)
        for _ in range(_ATTEMPTS):
            if current is None or current.secret_version != record.secret_version:
                return None
            updated = current.model_copy(
                update={"validation_state": state, "validation_reason": reason, "validated_at": self._after(current)}
            )
            try:
                updated._etag = self.table.update(updated, etag=_etag(current))
            except NotFound:
                return None
            except ConcurrencyError:
                current = self.table.find(record.partition_key, record.row_key)
                continue
            return updated
        raise ConcurrencyError(f"credential {record.row_key} kept changing while its validation was recorded")

    def _after(self, record: CredentialRecord) -> datetime:
        # Clocks of two processes can disagree by a little; the result must not look older than its request.
        now = self.clock.now()
        requested = record.validation_requested_at
        return requested if requested is not None and requested > now else now

    def delete(self, record: CredentialRecord) -> None:
        """Remove the row first (unreachable at once), then the secret."""
        self.table.delete(record.partition_key, record.row_key)
        self.secrets.delete(SecretRef.credential(record.tenant_id, record.project_id, record.row_key))

    def provider_credential(self, record: CredentialRecord) -> ProviderCredential:
        """What an adapter needs, with the key version the row names read from the secret backend.

        The row's version, not the newest: a rotation whose row write lost a race leaves a newer secret
        version that no row describes, and it must not be used.
        """
        ref = SecretRef.credential(record.tenant_id, record.project_id, record.row_key)
        key = self.secrets.get(ref, version=record.secret_version)
        return ProviderCredential(
            api_key=key,
            base_url=record.base_url,
            organization=record.organization,
            azure_endpoint=record.azure_endpoint,
            azure_deployment=record.azure_deployment,
            azure_api_version=record.azure_api_version,
        )
