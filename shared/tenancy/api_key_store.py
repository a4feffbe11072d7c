"""Storing, finding, listing and revoking project API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.clock import Clock
from shared.storage import ModelTable, Page, StorageAccount
from shared.storage.catalog import API_KEY_INDEX_TABLE, API_KEYS_TABLE
from shared.tenancy.api_keys import IssuedKey, hash_secret, issue_key, parse_key, secret_matches
from shared.tenancy.records import ApiKeyIndexRecord, ApiKeyRecord, scope_key
from shared.tenancy.roles import Scope

INDEX_ROW = "key"
# last_used_at is informative; writing it on every request would make a hot row.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class KeyPrincipal:
    """Who a valid presented key belongs to."""

    key_id: str
    tenant_id: str
    project_id: str
    scopes: frozenset[Scope]


class ApiKeyStore:
    """API keys: the record (tenant- and project-scoped) and the key-id index for point reads."""

    def __init__(self, account: StorageAccount, clock: Clock, pepper: bytes) -> None:
        self.keys = ModelTable(account, API_KEYS_TABLE, ApiKeyRecord)
        self.index = ModelTable(account, API_KEY_INDEX_TABLE, ApiKeyIndexRecord)
        self.clock = clock
        self._pepper = pepper

    def ensure(self) -> None:
        """Create the tables (idempotent)."""
        self.keys.ensure()
        self.index.ensure()

    def create(
        self, tenant_id: str, project_id: str, name: str, scopes: list[Scope], created_by: str
    ) -> tuple[ApiKeyRecord, IssuedKey]:
        """Make a key; the returned `IssuedKey.value` is the only time the full key exists."""
        issued, secret = issue_key()
        # The index first: a record without an index is unreachable, an index without a record is harmless.
        self.index.insert(
            ApiKeyIndexRecord(
                partition_key=issued.key_id, row_key=INDEX_ROW, tenant_id=tenant_id, project_id=project_id
            )
        )
        record = ApiKeyRecord(
            partition_key=scope_key(tenant_id, project_id),
            row_key=issued.key_id,
            name=name,
            scopes=sorted(set(scopes)),
            secret_hash=hash_secret(secret, self._pepper),
            display_prefix=issued.display_prefix,
            created_at=self.clock.now(),
            created_by=created_by,
        )
        self.keys.insert(record)
        return record, issued

    def find(self, tenant_id: str, project_id: str, key_id: str) -> ApiKeyRecord | None:
        """The key's record within the project, or None."""
        return self.keys.find(scope_key(tenant_id, project_id), key_id)

    def list(self, tenant_id: str, project_id: str, *, limit: int, cursor: str | None) -> Page[ApiKeyRecord]:
        """A page of the project's keys, revoked ones included."""
        return self.keys.list_partition(scope_key(tenant_id, project_id), page_size=limit, cursor=cursor)

    def revoke(self, record: ApiKeyRecord) -> ApiKeyRecord:
        """Revoke at once (the next request with the key fails); revoking twice keeps the first time."""
        if record.revoked_at is not None:
            return record
        revoked = record.model_copy(update={"revoked_at": self.clock.now()})
        self.keys.upsert(revoked, mode="merge")
        return revoked

    def authenticate(self, presented: str) -> KeyPrincipal | None:
        """The key's principal when `presented` is a live key, else None. Two point reads."""
        parsed = parse_key(presented)
        if parsed is None:
            return None
        key_id, secret = parsed
        pointer = self.index.find(key_id, INDEX_ROW)
        if pointer is None:
            return None
        record = self.keys.find(scope_key(pointer.tenant_id, pointer.project_id), key_id)
        if record is None or record.revoked_at is not None:
            return None
        if not secret_matches(secret, record.secret_hash, self._pepper):
            return None
        self._touch(record)
        return KeyPrincipal(
            key_id=key_id, tenant_id=pointer.tenant_id, project_id=pointer.project_id, scopes=frozenset(record.scopes)
        )

    def _touch(self, record: ApiKeyRecord) -> None:
        now: datetime = self.clock.now()
        if record.last_used_at is not None and now - record.last_used_at < LAST_USED_RESOLUTION:
            return
        # A merge of one property: concurrent touches are harmless, and a revocation is never undone.
        self.keys.table.upsert(
            {"PartitionKey": record.partition_key, "RowKey": record.row_key, "last_used_at": now}, mode="merge"
        )
