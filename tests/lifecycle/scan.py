"""Where an id still appears: every entity of every table, every blob, and the secret backend."""

from __future__ import annotations

from shared.lifecycle.messages import DeletionMessage
from shared.services import Services
from shared.tenancy.records import DeletionRecord
from tests.conftest import MovableClock


def mentions(services: Services, needle: str) -> list[str]:
    """`table:<name>`, `blob:<container>/<name>` or `secret:<name>` for everything that mentions `needle`."""
    account = services.storage
    found: list[str] = []
    for table in account.table_service.list_tables():
        table_client = account.table_service.get_table_client(table.name)
        found += [f"table:{table.name}" for entity in table_client.list_entities() if needle in repr(dict(entity))]
    for container in account.blob_service.list_containers():
        container_client = account.blob_service.get_container_client(container.name)
        for blob in container_client.list_blobs():
            body = container_client.download_blob(blob.name).readall().decode("utf-8", "replace")
            if needle in blob.name or needle in body:
                found.append(f"blob:{container.name}/{blob.name}")
    return found


def secrets_of(services: Services, tenant_id: str, project_id: str) -> list[str]:
    """The names of the project's secrets in the secret backend."""
    return [ref.name for ref in services.secrets.list_refs(tenant_id, project_id)]


def take_deletion_message(services: Services, resource_id: str) -> DeletionMessage:
    """The deletion message enqueued for the resource, taken off the queue.

    Other tests leave messages in the shared Azurite's queue: read until ours comes (the others
    only become invisible for a short while).
    """
    client = services.deletion_queue.client
    while True:
        batch = list(client.receive_messages(max_messages=32, visibility_timeout=5))
        if not batch:
            raise AssertionError("no deletion message was enqueued")
        for message in batch:
            parsed = DeletionMessage.model_validate_json(message.content)
            if parsed.resource_id == resource_id:
                client.delete_message(message)
                return parsed


def purge(services: Services, clock: MovableClock, message: DeletionMessage) -> DeletionRecord:
    """Both passes of a project's or tenant's cascade: the first, then the one after the grace period."""
    first = services.purger.handle(message)
    assert first is not None
    assert first.completed_at is None
    assert first.swept_at is not None
    clock.advance(services.purger.settle)
    done = services.purger.handle(message)
    assert done is not None
    assert done.completed_at is not None
    return done
