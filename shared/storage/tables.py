"""Azure Table storage: a small repository over the SDK's `TableClient`.

What it adds to the SDK:

- keys checked before every write (`check_key`), with the service's rules;
- filters only from fixed templates with `@name` placeholders (`where`); values travel as SDK
  parameters (strings are quoted and escaped by the SDK) or, for numbers, as literals made by
  formatters that accept nothing but numbers. User input is never spliced into OData text;
- transactions grouped per partition and capped at 100 operations (Azurite answers a larger
  one with a malformed reply);
- paging through opaque cursors (`Page`, see `shared.storage.paging`);
- domain exceptions (`shared.storage.errors`) instead of SDK ones;
- values normalized both ways: Int64 properties read as plain `int`, datetimes as aware UTC
  `datetime`, and ints beyond 32 bits written as Int64 (the SDK refuses them otherwise).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Final, Literal, LiteralString, cast
from uuid import UUID

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.core.paging import PageIterator
from azure.data.tables import EdmType, EntityProperty, TableClient, TableEntity, UpdateMode

from shared.storage.account import StorageAccount
from shared.storage.errors import InvalidKey, NotFound, translate
from shared.storage.names import check_table_name
from shared.storage.paging import Page, decode_cursor, encode_cursor, fingerprint

MAX_KEY_BYTES: Final = 1024
MAX_BATCH_OPERATIONS: Final = 100
# A transaction's body may not exceed 4 MiB; stay well under it, counting multipart overhead.
MAX_BATCH_BYTES: Final = 3 * 1024 * 1024 + 512 * 1024
_OPERATION_OVERHEAD_BYTES: Final = 1024
MAX_PAGE_SIZE: Final = 1000  # the service's $top limit

INT32_MIN: Final = -(2**31)
INT32_MAX: Final = 2**31 - 1
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

# `/ \ # ?` and the control characters U+0000-U+001F and U+007F-U+009F are not allowed in keys.
_FORBIDDEN_IN_KEY = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")

Mode = Literal["merge", "replace"]
OperationKind = Literal["insert", "upsert", "upsert_replace", "delete"]
Operation = tuple[OperationKind, Mapping[str, Any]]
"""One write of a transaction: `("upsert", entity)`; for "delete" only the keys are used."""

Param = str | bool | int | float | datetime | UUID | bytes
"""What a filter parameter may be (an enum member stands for its value)."""

_MODES: Final = {"merge": UpdateMode.MERGE, "replace": UpdateMode.REPLACE}


# -- keys ---------------------------------------------------------------------------------------


def check_key(value: str) -> str:
    """Return `value` if it is a valid PartitionKey or RowKey; raise `InvalidKey` otherwise.

    Rules (Azure's, plus "not empty"): a string of at most 1 KiB (UTF-8) without `/ \\ # ?` or
    control characters. Empty keys are legal in Azure but never meant here.
    """
    if not isinstance(value, str):
        raise InvalidKey(f"a key must be a string, not {type(value).__name__}")
    if not value:
        raise InvalidKey("a key must not be empty")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidKey("a key must be valid Unicode (no lone surrogates)") from None
    if size > MAX_KEY_BYTES:
        raise InvalidKey(f"a key must be at most {MAX_KEY_BYTES} bytes")
    if _FORBIDDEN_IN_KEY.search(value):
        raise InvalidKey("a key must not contain / \\ # ? or control characters")
    return value


def _is_valid_key(value: str) -> bool:
    try:
        check_key(value)
    except InvalidKey:
        return False
    return True


def next_code_point_prefix(prefix: str) -> str:
    """The smallest string greater than every string that starts with `prefix`.

    Used as the exclusive upper bound of a RowKey prefix query: `RowKey ge prefix and RowKey lt
    next_code_point_prefix(prefix)`. The service compares keys by code unit, which matches code
    point order for everything outside the surrogate range, so keys are assumed BMP-ordinary.
    """
    chars = list(prefix)
    while chars:
        point = ord(chars[-1]) + 1
        if point == 0xD800:  # skip the surrogate block, which cannot be encoded on the wire
            point = 0xE000
        if point <= 0x10FFFF:
            chars[-1] = chr(point)
            return "".join(chars)
        chars.pop()
    raise ValueError("no upper bound exists for this prefix")


# -- filters ------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<paren>[()])|(?P<param>@[A-Za-z_][A-Za-z0-9_]*)|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<number>-?[0-9]+(?:\.[0-9]+)?L?)|(?P<bad>\S))"
)
_PROPERTY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")


def int_literal(value: int) -> str:
    """An OData integer literal: Int32 as is, Int64 with the `L` suffix. Accepts only `int`.

    Ints are written as literals rather than SDK parameters: the SDK turns 0 and 1 into
    `false`/`true` (it tests `value in [True, False]`) and crashes on typed Int64 values.
    """
    if type(value) is not int:  # bool is an int subclass and would print as True/False
        raise TypeError(f"an integer literal needs an int, not {type(value).__name__}")
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("the integer does not fit in Int64")
    return str(value) if INT32_MIN <= value <= INT32_MAX else f"{value}L"


def float_literal(value: float) -> str:
    """An OData double literal. Accepts only finite `float` (the SDK would turn 1.0 into `true`)."""
    if type(value) is not float:
        raise TypeError(f"a double literal needs a float, not {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError("NaN and infinities cannot be compared in a filter")
    text = repr(value)
    if "e" in text or "E" in text:
        # Avoid the exponent form; plain digits parse everywhere.
        text = f"{value:.20f}".rstrip("0")
        text = text + "0" if text.endswith(".") else text
    return text


class Filter:
    """A validated OData filter: template text plus the parameters the SDK substitutes.

    Build it with `where`. `text` has single spaces between tokens, which the SDK's parameter
    substitution needs (it splits on spaces and replaces words starting with `@`).
    """

    __slots__ = ("parameters", "text")

    def __init__(self, text: str, parameters: Mapping[str, str | datetime | UUID | bytes]) -> None:
        self.text = text
        self.parameters = dict(parameters)

    def fingerprint(self) -> str:
        """What identifies this filter for cursor binding."""
        return fingerprint(self.text, sorted(self.parameters.items()))

    def __repr__(self) -> str:
        # Parameter values may be tenant data; name them only.
        return f"Filter({self.text!r}, parameters={sorted(self.parameters)})"


def where(template: LiteralString, /, **params: Param) -> Filter:
    """Build a filter from a fixed template such as `PartitionKey eq @pk and RowKey ge @start`.

    The template may hold property names, operators (`eq ne gt ge lt le and or not`),
    parentheses, numbers and `@name` placeholders, and nothing else: no quotes, so no string
    literal can be spliced in. Every placeholder needs a parameter and every parameter a
    placeholder. Strings, datetimes (aware), UUIDs and bytes go to the SDK as parameters; bools,
    ints and floats become literals by formatters that only accept those types.
    """
    tokens: list[str] = []
    used: set[str] = set()
    sdk_params: dict[str, str | datetime | UUID | bytes] = {}
    for match in _TOKEN.finditer(template):
        if match["bad"] is not None:
            raise ValueError(f"filter templates may not contain {match['bad']!r}: pass values as @parameters")
        token = match.group(match.lastgroup or "bad")
        if match["param"] is None:
            tokens.append(token)
            continue
        name = token[1:]
        if name not in params:
            raise ValueError(f"filter parameter @{name} has no value")
        used.add(name)
        tokens.append(_bind(name, params[name], sdk_params))
    if not tokens:
        raise ValueError("empty filter")
    unused = set(params) - used
    if unused:
        raise ValueError(f"filter parameters without a placeholder: {sorted(unused)}")
    return Filter(" ".join(tokens), sdk_params)


def _bind(name: str, value: Param, sdk_params: dict[str, str | datetime | UUID | bytes]) -> str:
    """The token that stands for `value` in the filter text; fills `sdk_params` for the SDK's part."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return int_literal(int(value))
    if isinstance(value, float):
        return float_literal(float(value))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"filter parameter @{name}: naive datetime; use an aware UTC datetime")
        sdk_params[name] = value.astimezone(UTC)
    elif isinstance(value, str | UUID | bytes):
        sdk_params[name] = value
    else:
        raise TypeError(f"filter parameter @{name}: unsupported type {type(value).__name__}")
    return f"@{name}"


def _select(select: Sequence[str] | None) -> list[str] | None:
    if select is None:
        return None
    if isinstance(select, str):
        raise TypeError("select takes a list of property names")
    for name in select:
        if not _PROPERTY_NAME.fullmatch(name):
            raise ValueError(f"invalid property name in select: {name!r}")
    return list(select)


# -- entities -----------------------------------------------------------------------------------


class Entity(dict[str, Any]):
    """A stored entity: a plain dict of its properties, plus the service's ETag and Timestamp."""

    __slots__ = ("etag", "timestamp")

    def __init__(
        self, properties: Mapping[str, Any] | None = None, *, etag: str | None = None, timestamp: datetime | None = None
    ) -> None:
        super().__init__(properties or {})
        self.etag = etag
        self.timestamp = timestamp

    @property
    def partition_key(self) -> str:
        """The entity's PartitionKey."""
        return str(self["PartitionKey"])

    @property
    def row_key(self) -> str:
        """The entity's RowKey."""
        return str(self["RowKey"])


def _plain_datetime(value: datetime) -> datetime:
    # The SDK returns a datetime subclass carrying the service's string; give callers a plain one.
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    utc = aware.astimezone(UTC)
    return datetime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, tzinfo=UTC)


def _from_sdk(entity: TableEntity) -> Entity:
    properties: dict[str, Any] = {}
    for name, value in entity.items():
        if isinstance(value, EntityProperty):
            value = value.value
        if isinstance(value, datetime):
            value = _plain_datetime(value)
        properties[name] = value
    metadata = entity.metadata
    timestamp = metadata.get("timestamp")
    return Entity(
        properties,
        etag=metadata.get("etag"),
        timestamp=_plain_datetime(timestamp) if isinstance(timestamp, datetime) else None,
    )


def _to_sdk(entity: Mapping[str, Any]) -> dict[str, Any]:
    """Check the keys and convert values to what the SDK stores faithfully."""
    for key in ("PartitionKey", "RowKey"):
        if key not in entity:
            raise InvalidKey(f"the entity has no {key}")
        check_key(entity[key])
    converted: dict[str, Any] = {}
    for name, value in entity.items():
        if isinstance(value, Enum):
            value = value.value
        if isinstance(value, bool) or value is None:
            pass
        elif isinstance(value, int):
            if not INT64_MIN <= value <= INT64_MAX:
                raise ValueError(f"property {name}: the integer does not fit in Int64")
            if not INT32_MIN <= value <= INT32_MAX:
                value = EntityProperty(int(value), EdmType.INT64)
        elif isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError(f"property {name}: naive datetime; use an aware UTC datetime")
            value = value.astimezone(UTC)
        converted[name] = value
    return converted


def _estimated_bytes(entity: Mapping[str, Any]) -> int:
    text = json.dumps(entity, default=str, ensure_ascii=False)
    return len(text.encode("utf-8", "surrogatepass")) + _OPERATION_OVERHEAD_BYTES


def _sdk_operation(kind: OperationKind, entity: Mapping[str, Any]) -> tuple[Any, ...]:
    if kind == "insert":
        return ("create", _to_sdk(entity))
    if kind == "upsert":
        return ("upsert", _to_sdk(entity), {"mode": UpdateMode.MERGE})
    if kind == "upsert_replace":
        return ("upsert", _to_sdk(entity), {"mode": UpdateMode.REPLACE})
    if kind == "delete":
        keys = {"PartitionKey": entity.get("PartitionKey"), "RowKey": entity.get("RowKey")}
        return ("delete", _to_sdk(keys))
    raise ValueError(f"unknown operation {kind!r}")


def plan_batches(operations: Iterable[Operation]) -> list[list[tuple[Any, ...]]]:
    """Group operations by PartitionKey (first-seen order) into transactions the service accepts.

    Each transaction holds one partition, at most 100 operations and well under 4 MiB; an entity
    may appear only once per transaction, so a repeated key is refused here rather than failing
    the whole transaction on the service.
    """
    by_partition: dict[str, list[tuple[Any, ...]]] = {}
    for kind, entity in operations:
        operation = _sdk_operation(kind, entity)
        by_partition.setdefault(operation[1]["PartitionKey"], []).append(operation)
    batches: list[list[tuple[Any, ...]]] = []
    for partition_ops in by_partition.values():
        seen: set[str] = set()
        batch: list[tuple[Any, ...]] = []
        size = 0
        for operation in partition_ops:
            row_key = operation[1]["RowKey"]
            if row_key in seen:
                raise ValueError(f"RowKey {row_key!r} appears twice in one partition's writes; merge them first")
            seen.add(row_key)
            cost = _estimated_bytes(operation[1])
            if batch and (len(batch) >= MAX_BATCH_OPERATIONS or size + cost > MAX_BATCH_BYTES):
                batches.append(batch)
                batch, size = [], 0
            batch.append(operation)
            size += cost
        if batch:
            batches.append(batch)
    return batches


# -- the repository -----------------------------------------------------------------------------


class Table:
    """One table of the account. Methods are synchronous; async callers use `asyncio.to_thread`."""

    def __init__(self, account: StorageAccount, name: str) -> None:
        """Bind to table `name` (checked against the naming rules; nothing is created yet)."""
        self.name: Final = check_table_name(name)
        self.client: Final[TableClient] = account.table_client(name)

    def _what(self, partition_key: str | None = None, row_key: str | None = None) -> str:
        if partition_key is None:
            return f"table {self.name}"
        return f"entity ({partition_key!r}, {row_key!r}) in table {self.name}"

    def ensure(self) -> None:
        """Create the table if it does not exist; safe to call any number of times."""
        try:
            self.client.create_table()
        except ResourceExistsError:
            pass
        except AzureError as exc:
            raise translate(exc, self._what()) from exc

    def find(self, partition_key: str, row_key: str, *, select: Sequence[str] | None = None) -> Entity | None:
        """Point read; None when the entity does not exist (or its keys could never exist)."""
        if not (_is_valid_key(partition_key) and _is_valid_key(row_key)):
            return None
        try:
            return _from_sdk(self.client.get_entity(partition_key, row_key, select=_select(select)))
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise translate(exc, self._what(partition_key, row_key)) from exc

    def get(self, partition_key: str, row_key: str, *, select: Sequence[str] | None = None) -> Entity:
        """Point read; raise `NotFound` when the entity does not exist."""
        entity = self.find(partition_key, row_key, select=select)
        if entity is None:
            raise NotFound(f"{self._what(partition_key, row_key)} not found")
        return entity

    def insert(self, entity: Mapping[str, Any]) -> str:
        """Create an entity; raise `Conflict` if one with the same keys exists. Returns the new ETag."""
        body = _to_sdk(entity)
        try:
            return str(self.client.create_entity(body)["etag"])
        except AzureError as exc:
            raise translate(exc, self._what(body["PartitionKey"], body["RowKey"])) from exc

    def upsert(self, entity: Mapping[str, Any], *, mode: Mode = "merge") -> str:
        """Insert or update; `merge` keeps properties the entity does not name, `replace` drops them."""
        body = _to_sdk(entity)
        try:
            return str(self.client.upsert_entity(body, mode=_MODES[mode])["etag"])
        except AzureError as exc:
            raise translate(exc, self._what(body["PartitionKey"], body["RowKey"])) from exc

    def update(self, entity: Mapping[str, Any], etag: str, *, mode: Mode = "replace") -> str:
        """Update only if the stored entity still has `etag`; returns the new ETag.

        Raises `ConcurrencyError` when someone else wrote it since (HTTP 412), `NotFound` when
        it was deleted. Read, change, `update`, and on `ConcurrencyError` read again and retry.
        """
        body = _to_sdk(entity)
        if not etag:
            raise ValueError("update needs the ETag of the version it replaces")
        try:
            metadata = self.client.update_entity(
                body, mode=_MODES[mode], etag=etag, match_condition=MatchConditions.IfNotModified
            )
        except AzureError as exc:
            raise translate(exc, self._what(body["PartitionKey"], body["RowKey"])) from exc
        return str(metadata["etag"])

    def delete(self, partition_key: str, row_key: str, *, etag: str | None = None) -> None:
        """Delete an entity; a missing one is fine. With `etag`, only that version (else `ConcurrencyError`)."""
        check_key(partition_key)
        check_key(row_key)
        try:
            if etag:
                self.client.delete_entity(
                    partition_key, row_key, etag=etag, match_condition=MatchConditions.IfNotModified
                )
            else:
                self.client.delete_entity(partition_key, row_key)
        except ResourceNotFoundError:
            pass
        except AzureError as exc:
            raise translate(exc, self._what(partition_key, row_key)) from exc

    def write_batch(self, operations: Iterable[Operation]) -> int:
        """Write operations as per-partition transactions of at most 100; return how many ran.

        Each transaction is atomic; the batch as a whole is not. If one fails, the ones before it
        stay written, so prefer idempotent operations (upserts) and simply retry the batch.
        """
        batches = plan_batches(operations)
        for done, batch in enumerate(batches):
            try:
                self.client.submit_transaction(cast(Any, batch))
            except AzureError as exc:
                what = f"transaction {done + 1} of {len(batches)} in table {self.name}"
                raise translate(exc, what) from exc
        return len(batches)

    def upsert_many(self, entities: Iterable[Mapping[str, Any]], *, mode: Mode = "merge") -> int:
        """Upsert many entities in per-partition transactions; return how many transactions ran."""
        kind: OperationKind = "upsert" if mode == "merge" else "upsert_replace"
        return self.write_batch((kind, entity) for entity in entities)

    def query(
        self,
        filter: Filter | LiteralString,  # the SDK's and OData's word for it
        parameters: Mapping[str, Param] | None = None,
        *,
        select: Sequence[str] | None = None,
        page_size: int = 100,
        cursor: str | None = None,
    ) -> Page[Entity]:
        """One page of entities matching a parameterized filter, and the cursor to the next page.

        `filter` is a `where(...)` result, or a fixed template whose values come in `parameters`.
        Raises `InvalidCursor` for a cursor that is damaged or belongs to another query.
        """
        if isinstance(filter, Filter) and parameters:
            raise ValueError("pass parameters to where(), not beside a built Filter")
        query = filter if isinstance(filter, Filter) else where(filter, **(parameters or {}))
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        columns = _select(select)
        identity = fingerprint(self.name, query.fingerprint(), columns)
        position = decode_cursor(cursor, identity) if cursor is not None else None
        pager = self.client.query_entities(
            query.text,
            parameters=cast(dict[str, Any], query.parameters) or None,
            select=columns,
            results_per_page=page_size,
        )
        pages = cast("PageIterator[TableEntity]", pager.by_page(continuation_token=cast(Any, position)))
        items: list[Entity] = []
        try:
            # The service may return an empty page that still has a continuation; keep going so a
            # caller never sees an empty page in the middle.
            for page in pages:
                items = [_from_sdk(entity) for entity in page]
                if items:
                    break
        except AzureError as exc:
            raise translate(exc, self._what()) from exc
        token = cast("Mapping[str, str | None] | None", pages.continuation_token)
        if not token:
            return Page(items, None)
        next_position = {key: value for key, value in token.items() if value is not None}
        return Page(items, encode_cursor(next_position, identity))

    def query_all(
        self,
        filter: Filter | LiteralString,
        parameters: Mapping[str, Param] | None = None,
        *,
        select: Sequence[str] | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[Entity]:
        """Every entity matching the filter, fetched page by page (for jobs, not for HTTP lists)."""
        cursor: str | None = None
        while True:
            page = self.query(filter, parameters, select=select, page_size=page_size, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def list_partition(
        self,
        partition_key: str,
        *,
        select: Sequence[str] | None = None,
        page_size: int = 100,
        cursor: str | None = None,
    ) -> Page[Entity]:
        """One page of a partition's entities in RowKey order."""
        return self.query(
            where("PartitionKey eq @pk", pk=partition_key), select=select, page_size=page_size, cursor=cursor
        )

    def list_prefix(
        self,
        partition_key: str,
        row_key_prefix: str,
        *,
        select: Sequence[str] | None = None,
        page_size: int = 100,
        cursor: str | None = None,
    ) -> Page[Entity]:
        """One page of the partition's entities whose RowKey starts with `row_key_prefix`."""
        if not row_key_prefix:
            return self.list_partition(partition_key, select=select, page_size=page_size, cursor=cursor)
        query = where(
            "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high",
            pk=partition_key,
            low=row_key_prefix,
            high=next_code_point_prefix(row_key_prefix),
        )
        return self.query(query, select=select, page_size=page_size, cursor=cursor)
