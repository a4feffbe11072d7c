"""A tenant's data export: every record the service keeps of one tenant, as a pack (a data request).

Built by the ordinary export job (`ExportKind.TENANT`, row in the tenant-wide scope `<tenant>~-`,
blob `<tenant>/tenant/<export id>.zip`). Layout:

- `tenant.json`, and one JSON-lines file per tenant-wide table: `members.jsonl`, `projects.jsonl`,
  `activation.jsonl`, `audit.jsonl` (tenant-wide entries), `exports.jsonl` (data exports),
  `deletions.jsonl` (tombstones and receipts)
- per project, under `projects/<project>/`: `project.json`, `audit.jsonl`, `tables/<table>.jsonl` for
  every project table (API keys, credentials, suites, versions, runs, shards, route decisions,
  current routes, exports, schedules, trends ... whatever the cascade deletes), and the content
  files of a project pack: `suites/<suite>/<version>.json`, `runs/<run>/run.json`, `results.jsonl`
  (with outputs), `statistics.json`, `decisions/<decision>.json`

Rows are streamed page by page, in blocks; nothing holds a whole table. Never written: API key
hashes, secret versions, provider keys (those live only in the secret backend, which is not read).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, Final

from shared.exports.content import PackPlan, _pages
from shared.exports.models import ExportKind, ExportMessage, ExportRecord, ExportStatus
from shared.exports.store import EXPORT_PREFIX, ExportStore
from shared.exports.zipstream import PackFile
from shared.ids import new_id
from shared.lifecycle.cascade import PROJECT_TABLES
from shared.lifecycle.scopes import project_partition
from shared.services import Services
from shared.storage import Entity, Filter, Table, blob_path, where
from shared.storage.catalog import (
    ACTIVATION_TABLE,
    AUDIT_TABLE,
    DELETIONS_TABLE,
    EXPORTS_TABLE,
    MEMBERSHIPS_TABLE,
    PROJECTS_TABLE,
    RESULTS_TABLE,
    TENANTS_TABLE,
)
from shared.storage.tables import next_code_point_prefix
from shared.tenancy.records import scope_key
from shared.tenancy.tenants import TENANT_ROW

# The scope of tenant-wide rows (`<tenant>~-`), as an export message's project.
TENANT_SCOPE: Final = "-"
# The folder of tenant exports in the packs container (a project id never reads like this).
TENANT_FOLDER: Final = "tenant"
# Properties that are never exported: the API key's HMAC and the secret backend's version id.
WITHHELD: Final = frozenset({"secret_hash", "secret_version"})
LINES_PER_BLOCK: Final = 500


def create_tenant_export(store: ExportStore, tenant_id: str, created_by: str) -> ExportRecord:
    """Store a queued tenant export and enqueue its build (the same job as project exports)."""
    export_id = new_id(EXPORT_PREFIX)
    record = ExportRecord(
        partition_key=scope_key(tenant_id),
        row_key=export_id,
        kind=ExportKind.TENANT,
        subject_id=tenant_id,
        status=ExportStatus.QUEUED,
        blob=blob_path(tenant_id, TENANT_FOLDER, f"{export_id}.zip"),
        created_at=store.now(),
        created_by=created_by,
    )
    store.table.insert(record)
    store.queue.send(ExportMessage(tenant_id=tenant_id, project_id=TENANT_SCOPE, export_id=export_id))
    return record


def find_tenant_export(store: ExportStore, tenant_id: str, export_id: str) -> ExportRecord | None:
    """The tenant's data export, or None (also for a project's export id or another tenant's)."""
    record = store.find(tenant_id, TENANT_SCOPE, export_id)
    return record if record is not None and record.kind is ExportKind.TENANT else None


def tenant_files(services: Services, tenant_id: str) -> Iterator[PackFile]:
    """Every file of a tenant export, in order (the manifest is added by the zip writer)."""
    account = services.storage
    tenants = Table(account, TENANTS_TABLE)
    projects = Table(account, PROJECTS_TABLE)
    tenant_wide = scope_key(tenant_id)

    def tenant_document() -> Iterable[bytes]:
        row = tenants.find(tenant_id, TENANT_ROW)
        return [_json(public(row) if row is not None else {"tenant_id": tenant_id})]

    yield PackFile("tenant.json", "application/json", tenant_document)
    yield _jsonl("members.jsonl", Table(account, MEMBERSHIPS_TABLE), _partition(tenant_id))
    yield _jsonl("projects.jsonl", projects, _partition(tenant_id))
    yield _jsonl("activation.jsonl", Table(account, ACTIVATION_TABLE), _partition(tenant_id))
    yield _jsonl("audit.jsonl", Table(account, AUDIT_TABLE), _partition(tenant_wide))
    yield _jsonl("exports.jsonl", Table(account, EXPORTS_TABLE), _partition(tenant_wide))
    # Receipts of an earlier deletion of the tenant (same id, signed in again) are not this tenant's.
    yield _jsonl("deletions.jsonl", Table(account, DELETIONS_TABLE), _partition(tenant_id), _not_a_receipt)
    for project in projects.query_all(_partition(tenant_id)):
        yield from _project_files(services, tenant_id, project)


def _project_files(services: Services, tenant_id: str, project: Entity) -> Iterator[PackFile]:
    project_id = project.row_key
    base = f"projects/{project_id}"
    data = _json(public(project))
    yield PackFile(f"{base}/project.json", "application/json", lambda: [data])
    yield _jsonl(
        f"{base}/audit.jsonl", Table(services.storage, AUDIT_TABLE), _partition(scope_key(tenant_id, project_id))
    )
    prefix = project_partition(tenant_id, project_id)
    for name in PROJECT_TABLES:
        if name != RESULTS_TABLE:  # results come per run, with their outputs, in runs/<run>/results.jsonl
            table = Table(services.storage, name)
            yield _jsonl(f"{base}/tables/{name}.jsonl", table, _project_range(prefix), _in_project(prefix))
    plan = PackPlan(services, tenant_id, project_id)
    yield from _under(base, _project_content(plan))


def _project_content(plan: PackPlan) -> Iterator[PackFile]:
    """Suite versions, every run (results with outputs, statistics), every route decision document."""
    services, tenant, project = plan.services, plan.tenant_id, plan.project_id
    for suite in _pages(lambda c: services.suites.list_suites(tenant, project, limit=100, cursor=c)):
        yield from plan.suite_versions_of(suite.row_key)
    for run in _pages(lambda c: services.runs.list_runs(tenant, project, limit=100, cursor=c)):
        yield from plan.run_files(run)
    for row in _pages(lambda c: services.route_decisions.list(tenant, project, task=None, limit=100, cursor=c)):
        stored = services.route_decisions.read(tenant, project, row.row_key)
        if stored is not None:
            # Its evidence runs are written above already; the plan does not repeat them.
            yield from plan.decision_files(stored.decision)


def public(row: Entity) -> dict[str, Any]:
    """A stored row as exported: its keys and properties, without what is withheld."""
    return {
        "PartitionKey": row.partition_key,
        "RowKey": row.row_key,
        **{name: value for name, value in row.items() if name not in WITHHELD and name not in _KEYS},
    }


_KEYS: Final = frozenset({"PartitionKey", "RowKey"})


def _under(base: str, files: Iterable[PackFile]) -> Iterator[PackFile]:
    for item in files:
        yield PackFile(f"{base}/{item.path}", item.media_type, item.chunks)


def _jsonl(path: str, table: Table, query: Filter, keep: Callable[[Entity], bool] | None = None) -> PackFile:
    """A JSON-lines file of the rows matching `query` (and `keep`), produced in blocks as the zip is written."""

    def chunks() -> Iterator[bytes]:
        block: list[bytes] = []
        for row in table.query_all(query):
            if keep is not None and not keep(row):
                continue
            block.append(json.dumps(public(row), sort_keys=True, default=_default).encode() + b"\n")
            if len(block) >= LINES_PER_BLOCK:
                yield b"".join(block)
                block.clear()
        if block:
            yield b"".join(block)

    return PackFile(path, "application/x-ndjson", chunks)


def _in_project(prefix: str) -> Callable[[Entity], bool]:
    # A project's range also holds ids that merely extend it; only its own partitions count.
    return lambda row: row.partition_key == prefix or row.partition_key.startswith(prefix + "~")


def _not_a_receipt(row: Entity) -> bool:
    return row.get("kind") != "tenant"


def _partition(partition_key: str) -> Filter:
    return where("PartitionKey eq @pk", pk=partition_key)


def _project_range(prefix: str) -> Filter:
    return where("PartitionKey ge @low and PartitionKey lt @high", low=prefix, high=next_code_point_prefix(prefix))


def _default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True, default=_default).encode()
