"""Cross-tenant intelligence: operational metrics per public model, from opted-in projects only.

`IntelligencePublisher.publish` (a daily timer, or on demand) reads the daily rollup points of the
last WINDOW_DAYS complete UTC days of every project whose `aggregate_opt_in` is true, and merges them
per public model: a provider of PUBLIC_PROVIDERS and a model the shipped price table knows, named by
the table's own entry (so a tenant's spelling of a model id is never published). Sandbox models,
OpenAI-compatible and other providers, and a project's points of a provider it reaches through a custom
`base_url` (a proxy or a self-hosted model under a public name) are left out: their names or numbers
can point at a tenant.

Published per cell: latency p50 and p95, TTFT p50 (each with its interval), tokens per second, the
error rate (Wilson interval), and counts of tenants and samples. Quality is not published: each
tenant's suite asks different questions, so pass rates of different suites measure different things
and their mean is no property of the model.

A cell is published only when at least MIN_TENANTS distinct tenants contribute to it, and no tenant
contributes more than MAX_TENANT_SHARE of its samples (one big tenant among four small ones would
otherwise be the cell). Rows carry no tenant, project, suite or run ids, prompts or outputs.

Storage (`intelligence`): each publication writes its cells under PK `pub~<publication id>`, RK
`<provider>~<model>`, then flips the pointer row (PK `current`, RK `current`) to it; readers read the
pointer and then that partition, so they see one whole publication or the previous one. Publications
older than the previous one are deleted.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from pydantic import Field

from shared.clock import Clock
from shared.ids import new_id
from shared.lifecycle.scopes import delete_partitions
from shared.pricing.table import PriceTable, default_table
from shared.storage import ModelTable, StorageAccount, Table, TableModel, where
from shared.storage.catalog import CREDENTIALS_TABLE, INTELLIGENCE_TABLE, PROJECTS_TABLE, ROLLUPS_TABLE
from shared.storage.tables import next_code_point_prefix
from shared.tenancy.records import scope_key
from shared.trends.aggregate import Aggregate, MetricValue
from shared.trends.models import day_start

log = logging.getLogger("tokenroute.trends")

MIN_TENANTS: Final = 5
MAX_TENANT_SHARE: Final = 0.5
WINDOW_DAYS: Final = 7
PUBLIC_PROVIDERS: Final = frozenset({"openai", "anthropic", "gemini", "azure_openai"})
POINTER_KEY: Final = "current"
PUBLICATION_PREFIX: Final = "pub~"


class IntelligenceCellRecord(TableModel):
    """PK `pub~<publication id>`, RK `<provider>~<model>`: one published model. No tenant data."""

    provider: str
    model: str
    tenants: int = Field(description="Distinct tenants whose opted-in projects contributed.")
    samples: int = Field(description="Results merged (every call, errors included).")
    latency_p50_ms: float | None = None
    latency_p50_low_ms: float | None = None
    latency_p50_high_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_p95_low_ms: float | None = None
    latency_p95_high_ms: float | None = None
    latency_n: int = 0
    ttft_p50_ms: float | None = None
    ttft_p50_low_ms: float | None = None
    ttft_p50_high_ms: float | None = None
    ttft_n: int = 0
    tokens_per_second: float | None = None
    tokens_per_second_n: int = 0
    error_rate: float | None = None
    error_rate_low: float | None = None
    error_rate_high: float | None = None


class IntelligencePointerRecord(TableModel):
    """PK `current`, RK `current`: the publication readers see, and the one before it."""

    publication_id: str
    previous_id: str | None = None
    published_at: datetime
    window_start: datetime
    window_end: datetime
    cells: int
    min_tenants: int
    price_table_version: str


@dataclass
class Cell:
    """One public model's aggregate while publishing: merged results and samples per tenant."""

    aggregate: Aggregate = field(default_factory=Aggregate)
    samples_by_tenant: Counter[str] = field(default_factory=Counter)

    def add(self, tenant_id: str, aggregate: Aggregate) -> None:
        """Merge one daily point of one tenant."""
        self.aggregate.merge(aggregate)
        self.samples_by_tenant[tenant_id] += aggregate.items

    def publishable(self) -> bool:
        """Enough tenants, none of them dominant."""
        total = sum(self.samples_by_tenant.values())
        contributors = [samples for samples in self.samples_by_tenant.values() if samples > 0]
        return len(contributors) >= MIN_TENANTS and total > 0 and max(contributors) <= MAX_TENANT_SHARE * total


@dataclass(frozen=True)
class Publication:
    """What one publication did."""

    publication_id: str
    projects: int
    cells_seen: int
    cells_published: int


def public_model(prices: PriceTable, provider: str, model: str) -> str | None:
    """The shipped table's name for a public provider's model; None when it is not public."""
    if provider not in PUBLIC_PROVIDERS:
        return None
    price = prices.price_for(provider, model)
    if price is None or price.simulated:
        return None
    return price.model


def _bounds(metric: MetricValue | None) -> tuple[float | None, float | None, float | None, int]:
    if metric is None:
        return None, None, None, 0
    return metric.value, metric.low, metric.high, metric.n


def cell_record(publication_id: str, provider: str, model: str, cell: Cell) -> IntelligenceCellRecord:
    """The stored row of a publishable cell: metrics and counts only."""
    a = cell.aggregate
    p50, p50_low, p50_high, latency_n = _bounds(a.metric("latency_p50"))
    p95, p95_low, p95_high, _ = _bounds(a.metric("latency_p95"))
    ttft, ttft_low, ttft_high, ttft_n = _bounds(a.metric("ttft_p50"))
    tps, _, _, tps_n = _bounds(a.metric("tokens_per_second"))
    errors, errors_low, errors_high, _ = _bounds(a.metric("error_rate"))
    return IntelligenceCellRecord(
        partition_key=PUBLICATION_PREFIX + publication_id,
        row_key=f"{provider}~{model}",
        provider=provider,
        model=model,
        tenants=sum(1 for samples in cell.samples_by_tenant.values() if samples > 0),
        samples=a.items,
        latency_p50_ms=p50,
        latency_p50_low_ms=p50_low,
        latency_p50_high_ms=p50_high,
        latency_p95_ms=p95,
        latency_p95_low_ms=p95_low,
        latency_p95_high_ms=p95_high,
        latency_n=latency_n,
        ttft_p50_ms=ttft,
        ttft_p50_low_ms=ttft_low,
        ttft_p50_high_ms=ttft_high,
        ttft_n=ttft_n,
        tokens_per_second=tps,
        tokens_per_second_n=tps_n,
        error_rate=errors,
        error_rate_low=errors_low,
        error_rate_high=errors_high,
    )


class IntelligencePublisher:
    """Computes and publishes the cross-tenant aggregates; serves the current publication."""

    def __init__(self, account: StorageAccount, clock: Clock, prices: PriceTable | None = None) -> None:
        self.projects = Table(account, PROJECTS_TABLE)
        self.credentials = Table(account, CREDENTIALS_TABLE)
        self.points = Table(account, ROLLUPS_TABLE)
        self.cells = ModelTable(account, INTELLIGENCE_TABLE, IntelligenceCellRecord)
        self.pointer = ModelTable(account, INTELLIGENCE_TABLE, IntelligencePointerRecord)
        self.clock = clock
        self.prices = prices or default_table()

    def ensure(self) -> None:
        """Create the table (idempotent)."""
        self.cells.ensure()

    def publish(self) -> Publication:
        """Aggregate the opted-in projects' last WINDOW_DAYS days and publish the cells that qualify."""
        now = self.clock.now()
        end = day_start(now)
        start = end - timedelta(days=WINDOW_DAYS)
        # The one query across tenants: a system job reading a setting, not anyone's data.
        opted_in = [
            (entity.partition_key, entity.row_key)
            for entity in self.projects.query_all(
                where("aggregate_opt_in eq @yes", yes=True), select=["PartitionKey", "RowKey"]
            )
        ]
        cells: dict[tuple[str, str], Cell] = defaultdict(Cell)
        for tenant_id, project_id in opted_in:
            for provider, model, aggregate in self._project_points(tenant_id, project_id, start, end):
                cells[(provider, model)].add(tenant_id, aggregate)
        publication_id = new_id("pub")
        published = [
            cell_record(publication_id, provider, model, cell)
            for (provider, model), cell in sorted(cells.items())
            if cell.publishable()
        ]
        self._swap(publication_id, published, now, start, end)
        log.info("intelligence published: %d of %d cells, %d projects", len(published), len(cells), len(opted_in))
        return Publication(publication_id, len(opted_in), len(cells), len(published))

    def current(self) -> tuple[IntelligencePointerRecord | None, list[IntelligenceCellRecord]]:
        """The current publication's pointer and cells (None and [] before the first one)."""
        pointer = self.pointer.find(POINTER_KEY, POINTER_KEY)
        if pointer is None:
            return None, []
        return pointer, list(self._cells_of(pointer.publication_id))

    def _project_points(
        self, tenant_id: str, project_id: str, start: datetime, end: datetime
    ) -> Iterable[tuple[str, str, Aggregate]]:
        """The project's daily points in [start, end) of public models, as (provider, table model, aggregate)."""
        custom = self._custom_endpoint_providers(tenant_id, project_id)
        prefix = scope_key(tenant_id, project_id) + "~"
        query = where(
            "PartitionKey ge @low and PartitionKey lt @high and RowKey ge @rlow and RowKey lt @rhigh "
            "and start ge @start and start lt @end",
            low=prefix,
            high=next_code_point_prefix(prefix),
            rlow="d~",
            rhigh=next_code_point_prefix("d~"),
            start=start,
            end=end,
        )
        for entity in self.points.query_all(query, select=["provider", "model", "aggregate"]):
            provider = str(entity["provider"])
            model = public_model(self.prices, provider, str(entity["model"]))
            if model is None or provider in custom:
                continue
            yield provider, model, Aggregate.from_json(str(entity["aggregate"]))

    def _custom_endpoint_providers(self, tenant_id: str, project_id: str) -> set[str]:
        """Providers the project reaches through a custom `base_url` on any of its credentials."""
        found = self.credentials.query_all(
            where("PartitionKey eq @pk", pk=scope_key(tenant_id, project_id)), select=["provider", "base_url"]
        )
        return {str(entity["provider"]) for entity in found if entity.get("base_url")}

    def _cells_of(self, publication_id: str) -> Iterable[IntelligenceCellRecord]:
        cursor: str | None = None
        while True:
            page = self.cells.list_partition(PUBLICATION_PREFIX + publication_id, page_size=1000, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def _swap(
        self,
        publication_id: str,
        cells: Sequence[IntelligenceCellRecord],
        now: datetime,
        start: datetime,
        end: datetime,
    ) -> None:
        """Write the cells, then point readers at them; drop publications older than the previous one."""
        if cells:
            self.cells.upsert_many(cells)
        previous = self.pointer.find(POINTER_KEY, POINTER_KEY)
        self.pointer.upsert(
            IntelligencePointerRecord(
                partition_key=POINTER_KEY,
                row_key=POINTER_KEY,
                publication_id=publication_id,
                previous_id=previous.publication_id if previous is not None else None,
                published_at=now,
                window_start=start,
                window_end=end,
                cells=len(cells),
                min_tenants=MIN_TENANTS,
                price_table_version=self.prices.version,
            )
        )
        # Readers that read the old pointer a moment ago may still be listing the previous publication.
        keep = {PUBLICATION_PREFIX + publication_id}
        if previous is not None:
            keep.add(PUBLICATION_PREFIX + previous.publication_id)
        stale = {
            entity.partition_key
            for entity in self.cells.table.query_all(
                where(
                    "PartitionKey ge @low and PartitionKey lt @high",
                    low=PUBLICATION_PREFIX,
                    high=next_code_point_prefix(PUBLICATION_PREFIX),
                ),
                select=["PartitionKey"],
            )
        }
        for partition in sorted(stale - keep):
            delete_partitions(self.cells.table, partition)
