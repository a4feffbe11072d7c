"""Storage: typed repositories over Azure Tables, Blobs and Queues (sync SDK clients; Azurite locally).

One module per job: `account` (clients from settings), `tables` and `models` (entities and
pydantic records), `blobs`, `queues`, `sas` (read-only links), `probe` (health round trips),
`catalog` (every resource name), `errors` (domain exceptions).
"""

from shared.storage.account import StorageAccount
from shared.storage.blobs import BlobContainer, blob_path
from shared.storage.errors import (
    ConcurrencyError,
    Conflict,
    InvalidCursor,
    InvalidKey,
    MessageTooLarge,
    NotFound,
    StorageError,
    StorageUnavailable,
)
from shared.storage.models import ModelTable, TableModel
from shared.storage.paging import Page
from shared.storage.queues import QueueSender, poison_name
from shared.storage.sas import read_only_link
from shared.storage.tables import Entity, Filter, Table, check_key, where

__all__ = [
    "BlobContainer",
    "ConcurrencyError",
    "Conflict",
    "Entity",
    "Filter",
    "InvalidCursor",
    "InvalidKey",
    "MessageTooLarge",
    "ModelTable",
    "NotFound",
    "Page",
    "QueueSender",
    "StorageAccount",
    "StorageError",
    "StorageUnavailable",
    "Table",
    "TableModel",
    "blob_path",
    "check_key",
    "poison_name",
    "read_only_link",
    "where",
]
