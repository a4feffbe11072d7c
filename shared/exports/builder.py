"""The export job: build one pack into Blob Storage, once, however often its message arrives.

The row goes queued -> building -> ready (or failed) under ETag guards. A second delivery that finds
the row ready does nothing; one that finds it building (a worker died mid-build, or is still at it)
builds again: the pack's bytes depend only on the stored data and the export row, and the upload
overwrites the same blob before the status flips, so a reader only ever sees a complete pack.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from typing import Any

from shared import __version__
from shared.exports import PACK_SCHEMA_VERSION
from shared.exports.content import PackPlan, _pages
from shared.exports.models import ExportKind, ExportMessage, ExportRecord, ExportStatus
from shared.exports.report import render
from shared.exports.tenant_content import tenant_files
from shared.exports.zipstream import PackFile, ZipStream
from shared.runs.models import RunStatus
from shared.services import Services
from shared.storage import NotFound

log = logging.getLogger("tokenroute.exports")


class SubjectMissing(Exception):
    """What the export names no longer exists in the project."""


def pack_files(plan: PackPlan, record: ExportRecord) -> Iterator[PackFile]:
    """Every file of the pack in order; report.html last, after the facts it draws are gathered."""
    services, tenant, project = plan.services, plan.tenant_id, plan.project_id
    if record.kind is ExportKind.TENANT:
        # A data request: every record of the tenant, project by project; no prices or report.
        yield from tenant_files(services, tenant)
        return
    if record.kind is ExportKind.RUN:
        run = services.runs.find(tenant, project, record.subject_id)
        if run is None:
            raise SubjectMissing(f"run {record.subject_id}")
        yield from plan.run_files(run)
    elif record.kind is ExportKind.SUITE:
        yield from plan.suite_versions_of(record.subject_id)
    elif record.kind is ExportKind.DECISION:
        stored = services.route_decisions.read(tenant, project, record.subject_id)
        if stored is None:
            raise SubjectMissing(f"decision {record.subject_id}")
        yield from plan.decision_files(stored.decision)
    else:
        yield from _project_files(plan)
    yield plan.prices_file()
    title = f"TokenRoute benchmark pack: {record.kind.value} {record.subject_id}"
    yield PackFile("report.html", "text/html", lambda: [render(title, record.created_at, plan.runs, plan.decisions)])


def _project_files(plan: PackPlan) -> Iterator[PackFile]:
    services, tenant, project = plan.services, plan.tenant_id, plan.project_id
    for suite in _pages(lambda c: services.suites.list_suites(tenant, project, limit=100, cursor=c)):
        yield from plan.suite_versions_of(suite.row_key)
    for row in _pages(lambda c: services.route_decisions.list(tenant, project, task=None, limit=100, cursor=c)):
        stored = services.route_decisions.read(tenant, project, row.row_key)
        if stored is not None:
            yield from plan.decision_files(stored.decision)
    seen = {facts.run.row_key for facts in plan.runs}
    for run in _pages(lambda c: services.runs.list_runs(tenant, project, limit=100, cursor=c)):
        # Runs still going have no settled results to keep.
        if run.row_key not in seen and run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
            yield from plan.run_files(run)


def manifest_fields(record: ExportRecord, tenant_id: str, project_id: str) -> dict[str, Any]:
    """The manifest's header (the file list is added as files are written)."""
    return {
        "schema": "tokenroute.pack",
        "schema_version": PACK_SCHEMA_VERSION,
        "tokenroute_version": __version__,
        "created_at": record.created_at.isoformat(),
        "export_id": record.row_key,
        "project_id": project_id,
        "kind": record.kind.value,
        "subject_id": record.subject_id,
    }


class _Measured:
    """Passes chunks through, counting bytes and hashing the whole pack."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = chunks
        self.size = 0
        self.digest = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.size += len(chunk)
            self.digest.update(chunk)
            yield chunk


def build(services: Services, record: ExportRecord, tenant_id: str, project_id: str) -> tuple[int, str, int]:
    """Stream the pack into its blob (overwriting a partial earlier build); return size, SHA-256, files."""
    plan = PackPlan(services, tenant_id, project_id)
    stream = ZipStream(manifest_fields(record, tenant_id, project_id))
    measured = _Measured(stream.chunks(pack_files(plan, record)))
    services.exports.packs.put(record.blob, measured, content_type="application/zip", overwrite=True)
    return measured.size, measured.digest.hexdigest(), len(stream.entries) + 1


def handle(services: Services, message: ExportMessage) -> ExportRecord | None:
    """Build the export of `message` unless it is already done; return its row as left."""
    store = services.exports
    record = store.find(message.tenant_id, message.project_id, message.export_id)
    if record is None or record.status in (ExportStatus.READY, ExportStatus.FAILED):
        return record  # deleted, or a duplicate delivery of a finished export
    if record.status is ExportStatus.QUEUED:
        claimed = store.transition(record, status=ExportStatus.BUILDING)
        if claimed is None:
            # Another delivery claimed it; building twice is harmless but wasted, so let it finish.
            return store.find(message.tenant_id, message.project_id, message.export_id)
        record = claimed
    try:
        size, digest, files = build(services, record, message.tenant_id, message.project_id)
    except SubjectMissing as missing:
        log.warning("export %s: %s no longer exists", record.row_key, missing)
        return store.transition(record, status=ExportStatus.FAILED, failure=f"{missing} no longer exists")
    try:
        done = store.transition(
            record, status=ExportStatus.READY, ready_at=store.now(), size_bytes=size, sha256=digest, files=files
        )
    except NotFound:
        # Deleted while it was built (with its project or tenant): the pack must not outlive the cascade.
        store.packs.delete(record.blob)
        log.info("export %s was deleted during its build; its pack is removed", record.row_key)
        return None
    log.info("export %s ready: %d bytes, %d files", record.row_key, size, files)
    return done
