"""Deleting everything under one tenant-and-project key prefix, in a table or a container.

Every project-scoped key starts with `<tenant>~<project>` (tables) or `<tenant>/<project>/`
(blobs), so a project's data is found by a range query on its own keys: never a scan of other
tenants' rows.
"""

from __future__ import annotations

from shared.storage import BlobContainer, Table, blob_path, where
from shared.storage.tables import next_code_point_prefix
from shared.tenancy.records import scope_key


def delete_partitions(table: Table, partition_prefix: str) -> int:
    """Delete every entity whose PartitionKey is `partition_prefix` or starts with it plus `~`.

    Returns how many entities were deleted. The keys are read first and deleted afterwards, so
    paging is never disturbed by the deletions; a crash midway leaves the rest for a retry.
    """
    query = where(
        "PartitionKey ge @low and PartitionKey lt @high",
        low=partition_prefix,
        high=next_code_point_prefix(partition_prefix),
    )
    keys = [
        {"PartitionKey": entity.partition_key, "RowKey": entity.row_key}
        for entity in table.query_all(query, select=["PartitionKey", "RowKey"])
        # The range also holds keys that merely extend the prefix (`prj_a` vs `prj_ab`); ids have a
        # fixed length so none exist, but only the exact partition and its `~` children are ours.
        if entity.partition_key == partition_prefix or entity.partition_key.startswith(partition_prefix + "~")
    ]
    if keys:
        table.write_batch(("delete", key) for key in keys)
    return len(keys)


def project_partition(tenant_id: str, project_id: str) -> str:
    """The partition prefix of a project's rows: `<tenant>~<project>`."""
    return scope_key(tenant_id, project_id)


def delete_blobs(container: BlobContainer, *segments: str) -> int:
    """Delete every blob under `<segment>/.../` in the container; return how many."""
    prefix = blob_path(*segments) + "/"
    names = [blob.name for blob in container.list(prefix)]
    for name in names:
        container.delete(name)
    return len(names)
