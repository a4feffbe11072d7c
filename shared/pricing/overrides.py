"""A project's own model prices: one row per project, applied over the shipped table.

The row holds the whole list (compact JSON), so replacing a project's prices is one atomic write
and reading them is one point read. `project_price_table` is what cost computations of a project
use: the shipped table with the project's overrides, its version naming them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from shared.clock import Clock
from shared.pricing.models import ModelPrice
from shared.pricing.table import PriceTable, default_table
from shared.storage import ModelTable, StorageAccount, TableModel
from shared.storage.catalog import PRICE_OVERRIDES_TABLE
from shared.tenancy.records import scope_key

OVERRIDES_ROW = "prices"
MAX_OVERRIDES = 100
# A Table string property holds 64 KiB of UTF-16, i.e. 32K characters; keep a margin.
MAX_STORED_CHARS = 30_000


class PriceOverridesRefused(ValueError):
    """The overrides cannot be stored (too many, too large, or conflicting with the table)."""


class PriceOverridesRecord(TableModel):
    """PK = "<tenant>~<project>", RK = "prices"."""

    prices_json: str
    count: int
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class ProjectPrices:
    """A project's overrides and who set them last (None: never set)."""

    overrides: tuple[ModelPrice, ...]
    updated_at: datetime | None = None
    updated_by: str | None = None


def _encode(overrides: Sequence[ModelPrice]) -> str:
    # Defaults are left out (they come back on reading), which keeps 100 overrides well within a property.
    rows = [
        price.model_dump(mode="json", exclude_defaults=True, exclude={"origin", "table_version"}) for price in overrides
    ]
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False)


def _decode(text: str) -> tuple[ModelPrice, ...]:
    return tuple(ModelPrice.model_validate({**row, "origin": "project"}) for row in json.loads(text))


class PriceOverrideStore:
    """Project price overrides."""

    def __init__(self, account: StorageAccount, clock: Clock) -> None:
        self.table = ModelTable(account, PRICE_OVERRIDES_TABLE, PriceOverridesRecord)
        self.clock = clock

    def ensure(self) -> None:
        """Create the table (idempotent)."""
        self.table.ensure()

    def get(self, tenant_id: str, project_id: str) -> ProjectPrices:
        """The project's overrides (none when never set)."""
        record = self.table.find(scope_key(tenant_id, project_id), OVERRIDES_ROW)
        if record is None:
            return ProjectPrices(overrides=())
        return ProjectPrices(_decode(record.prices_json), record.updated_at, record.updated_by)

    def replace(
        self,
        tenant_id: str,
        project_id: str,
        overrides: Sequence[ModelPrice],
        updated_by: str,
        *,
        base: PriceTable | None = None,
    ) -> ProjectPrices:
        """Make `overrides` the project's whole list (an empty list clears it).

        Raises `PriceOverridesRefused` when there are too many, they are too large to store, or they
        do not apply to the table (`base`, the shipped one by default): a price listed twice, an alias
        naming another model's price.
        """
        prices = tuple(price.model_copy(update={"origin": "project", "table_version": None}) for price in overrides)
        if len(prices) > MAX_OVERRIDES:
            raise PriceOverridesRefused(f"at most {MAX_OVERRIDES} overrides per project")
        try:
            (base or default_table()).with_overrides(prices)
        except ValidationError as exc:
            # The table's own check failed: its messages, without pydantic's dump of the whole table.
            raise PriceOverridesRefused(
                "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
            ) from None
        except ValueError as exc:
            raise PriceOverridesRefused(str(exc)) from None
        text = _encode(prices)
        if len(text) > MAX_STORED_CHARS:
            raise PriceOverridesRefused(f"the overrides take {len(text)} characters stored; at most {MAX_STORED_CHARS}")
        record = PriceOverridesRecord(
            partition_key=scope_key(tenant_id, project_id),
            row_key=OVERRIDES_ROW,
            prices_json=text,
            count=len(prices),
            updated_at=self.clock.now(),
            updated_by=updated_by,
        )
        self.table.upsert(record)
        return ProjectPrices(prices, record.updated_at, record.updated_by)


def project_price_table(
    store: PriceOverrideStore, tenant_id: str, project_id: str, *, base: PriceTable | None = None
) -> PriceTable:
    """The prices a project's costs use: `base` (the shipped table) with the project's overrides.

    Without overrides this is `base` itself, version unchanged; with them the version becomes
    `<version>+project:<hash of the overrides>`.
    """
    return (base or default_table()).with_overrides(store.get(tenant_id, project_id).overrides)
