"""Every name in the catalog follows the service's naming rules."""

from __future__ import annotations

from shared.storage import catalog
from shared.storage.names import check_container_name, check_queue_name, check_table_name


def test_catalog_names_are_valid() -> None:
    for table in catalog.TABLES:
        check_table_name(table)
    for container in catalog.CONTAINERS:
        check_container_name(container)
    for queue in catalog.QUEUES:
        check_queue_name(queue)
    assert all(description.strip() for description in (*catalog.TABLES.values(), *catalog.CONTAINERS.values()))


def test_health_resources_are_listed_with_poison_twins() -> None:
    assert catalog.HEALTH_TABLE in catalog.TABLES
    assert catalog.HEALTH_CONTAINER in catalog.CONTAINERS
    assert catalog.HEALTH_QUEUE in catalog.QUEUES
    assert f"{catalog.HEALTH_QUEUE}-poison" in catalog.all_queue_names()
