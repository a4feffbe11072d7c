"""Projects of a tenant: create, list, read, rename, delete.

Deleting removes the project row at once (so nothing can reach the project) and leaves a
tombstone that the lifecycle job uses to remove everything the project owned.
"""

from __future__ import annotations

from shared.clock import Clock
from shared.ids import new_id
from shared.storage import ModelTable, Page, StorageAccount
from shared.storage.catalog import DELETIONS_TABLE, PROJECTS_TABLE
from shared.tenancy.records import DeletionRecord, ProjectRecord


class ProjectStore:
    """Projects, partitioned by tenant."""

    def __init__(self, account: StorageAccount, clock: Clock) -> None:
        self.table = ModelTable(account, PROJECTS_TABLE, ProjectRecord)
        self.deletions = ModelTable(account, DELETIONS_TABLE, DeletionRecord)
        self.clock = clock

    def ensure(self) -> None:
        """Create the tables (idempotent)."""
        self.table.ensure()
        self.deletions.ensure()

    def create(self, tenant_id: str, name: str, created_by: str) -> ProjectRecord:
        """A new project in the tenant."""
        now = self.clock.now()
        record = ProjectRecord(
            partition_key=tenant_id,
            row_key=new_id("prj"),
            name=name,
            created_at=now,
            created_by=created_by,
            updated_at=now,
        )
        self.table.insert(record)
        return record

    def find(self, tenant_id: str, project_id: str) -> ProjectRecord | None:
        """The project, or None when it does not exist in this tenant (or was deleted)."""
        return self.table.find(tenant_id, project_id)

    def list(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[ProjectRecord]:
        """A page of the tenant's projects in id order."""
        return self.table.list_partition(tenant_id, page_size=limit, cursor=cursor)

    def rename(self, record: ProjectRecord, name: str) -> ProjectRecord:
        """Change the name, guarded by the ETag the record was read with."""
        updated = record.model_copy(update={"name": name, "updated_at": self.clock.now()})
        self.table.update(updated, etag=record.etag or "*")
        return updated

    def update(
        self, record: ProjectRecord, *, name: str, aggregate_opt_in: bool, retention_days: int | None
    ) -> ProjectRecord:
        """Change name and data settings together, guarded by the ETag the record was read with."""
        updated = record.model_copy(
            update={
                "name": name,
                "aggregate_opt_in": aggregate_opt_in,
                "retention_days": retention_days,
                "updated_at": self.clock.now(),
            }
        )
        self.table.update(updated, etag=record.etag or "*")
        return updated

    def delete(self, record: ProjectRecord, requested_by: str) -> DeletionRecord:
        """Record the tombstone, then remove the row: from here on the project answers 404."""
        tombstone = DeletionRecord(
            partition_key=record.partition_key,
            row_key=record.row_key,
            kind="project",
            name=record.name,
            requested_at=self.clock.now(),
            requested_by=requested_by,
        )
        self.deletions.upsert(tombstone)
        self.table.delete(record.partition_key, record.row_key)
        return tombstone
