"""Typed tables: pydantic models in, pydantic models out.

A record type subclasses `TableModel` (which brings `partition_key`/`row_key`, stored as
PartitionKey/RowKey) and a `ModelTable[RecordType]` maps it to entities and back:

- datetimes must be aware and are stored in UTC; they come back aware UTC;
- enums are stored as their values;
- nested dicts, lists, tuples, sets and models are stored as JSON strings (a string property
  holds at most 64 KB; keep big things in blobs);
- None is not stored; a missing property reads back as the field's default;
- the ETag of a read is on `record.etag`, for `update(record, etag=record.etag)`.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Generic, LiteralString, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from shared.storage.account import StorageAccount
from shared.storage.paging import Page
from shared.storage.tables import Entity, Filter, Mode, Param, Table

_JSON_CONTAINERS = (dict, list, tuple, set, frozenset)


class TableModel(BaseModel):
    """Base of every record stored in a table."""

    model_config = ConfigDict(populate_by_name=True)

    partition_key: str = Field(alias="PartitionKey")
    row_key: str = Field(alias="RowKey")
    _etag: str | None = PrivateAttr(default=None)

    @property
    def etag(self) -> str | None:
        """The ETag this record was read with (None for a record built in memory)."""
        return self._etag


M = TypeVar("M", bound=TableModel)


def _is_json_type(annotation: Any) -> bool:
    """True when values of this field are stored as JSON text (containers and nested models)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _is_json_type(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return any(_is_json_type(arg) for arg in typing.get_args(annotation) if arg is not type(None))
    target = origin if origin is not None else annotation
    return isinstance(target, type) and (issubclass(target, _JSON_CONTAINERS) or issubclass(target, BaseModel))


def _json_fields(model: type[BaseModel]) -> frozenset[str]:
    """The stored names (aliases) of the fields kept as JSON text."""
    return frozenset(
        field.alias or name for name, field in model.model_fields.items() if _is_json_type(field.annotation)
    )


def to_entity(record: TableModel) -> dict[str, Any]:
    """The entity that stores `record`."""
    python = record.model_dump(by_alias=True)
    jsonable = record.model_dump(by_alias=True, mode="json")
    entity: dict[str, Any] = {}
    for key, value in python.items():
        if value is None:
            continue
        if isinstance(value, _JSON_CONTAINERS):
            entity[key] = json.dumps(jsonable[key], separators=(",", ":"), ensure_ascii=False)
        elif isinstance(value, Enum):
            entity[key] = value.value
        elif isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError(f"{type(record).__name__}.{key}: naive datetime; use an aware UTC datetime")
            entity[key] = value.astimezone(UTC)
        elif isinstance(value, str | bool | int | float | bytes | UUID):
            entity[key] = value
        else:
            # Decimal, date, timedelta, URLs, ...: their JSON form is a string or number pydantic
            # parses back.
            entity[key] = jsonable[key]
    return entity


def from_entity(model: type[M], entity: Mapping[str, Any], json_fields: frozenset[str] | None = None) -> M:
    """The record stored in `entity` (its ETag set when the entity has one)."""
    json_fields = _json_fields(model) if json_fields is None else json_fields
    data = {
        key: json.loads(value) if key in json_fields and isinstance(value, str) else value
        for key, value in entity.items()
    }
    record = model.model_validate(data)
    record._etag = getattr(entity, "etag", None)
    return record


class ModelTable(Generic[M]):
    """A `Table` whose rows are `M` records."""

    def __init__(self, account: StorageAccount, name: str, model: type[M]) -> None:
        """Bind table `name` to record type `model` (nothing is created yet)."""
        self.table = Table(account, name)
        self.model = model
        self._json_fields = _json_fields(model)

    def _load(self, entity: Entity) -> M:
        return from_entity(self.model, entity, self._json_fields)

    def ensure(self) -> None:
        """Create the table if needed (idempotent)."""
        self.table.ensure()

    def find(self, partition_key: str, row_key: str) -> M | None:
        """Point read; None when missing."""
        entity = self.table.find(partition_key, row_key)
        return None if entity is None else self._load(entity)

    def get(self, partition_key: str, row_key: str) -> M:
        """Point read; raise `NotFound` when missing."""
        return self._load(self.table.get(partition_key, row_key))

    def insert(self, record: M) -> str:
        """Create; raise `Conflict` if it exists. Returns the new ETag."""
        return self.table.insert(to_entity(record))

    def upsert(self, record: M, *, mode: Mode = "replace") -> str:
        """Insert or overwrite. `replace` by default, so fields set to None are cleared too."""
        return self.table.upsert(to_entity(record), mode=mode)

    def update(self, record: M, etag: str) -> str:
        """Overwrite only if the stored version still has `etag`; else `ConcurrencyError`."""
        return self.table.update(to_entity(record), etag, mode="replace")

    def delete(self, partition_key: str, row_key: str, *, etag: str | None = None) -> None:
        """Delete; a missing record is fine."""
        self.table.delete(partition_key, row_key, etag=etag)

    def upsert_many(self, records: Iterable[M]) -> int:
        """Replace-upsert many records in per-partition transactions; return how many ran."""
        return self.table.upsert_many((to_entity(record) for record in records), mode="replace")

    def query(
        self,
        filter: Filter | LiteralString,  # OData's word for it
        parameters: Mapping[str, Param] | None = None,
        *,
        page_size: int = 100,
        cursor: str | None = None,
    ) -> Page[M]:
        """One page of records matching a parameterized filter (see `Table.query`)."""
        page = self.table.query(filter, parameters, page_size=page_size, cursor=cursor)
        return Page([self._load(entity) for entity in page.items], page.next_cursor)

    def list_partition(self, partition_key: str, *, page_size: int = 100, cursor: str | None = None) -> Page[M]:
        """One page of a partition's records in RowKey order."""
        page = self.table.list_partition(partition_key, page_size=page_size, cursor=cursor)
        return Page([self._load(entity) for entity in page.items], page.next_cursor)

    def list_prefix(
        self, partition_key: str, row_key_prefix: str, *, page_size: int = 100, cursor: str | None = None
    ) -> Page[M]:
        """One page of the partition's records whose RowKey starts with `row_key_prefix`."""
        page = self.table.list_prefix(partition_key, row_key_prefix, page_size=page_size, cursor=cursor)
        return Page([self._load(entity) for entity in page.items], page.next_cursor)
