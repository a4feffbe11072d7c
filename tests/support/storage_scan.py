"""Read back everything stored in the test storage account, to prove what is *not* there."""

from __future__ import annotations

from shared.storage import StorageAccount


def stored_text(account: StorageAccount) -> str:
    """Every entity of every table and every blob of every container, as one string."""
    parts: list[str] = []
    for table in account.table_service.list_tables():
        table_client = account.table_service.get_table_client(table.name)
        parts.extend(repr(dict(entity)) for entity in table_client.list_entities())
    for container in account.blob_service.list_containers():
        container_client = account.blob_service.get_container_client(container.name)
        for blob in container_client.list_blobs():
            parts.append(container_client.download_blob(blob.name).readall().decode("utf-8", "replace"))
    return "\n".join(parts)
