"""Suites and their immutable versions, in Tables (metadata) and Blob Storage (content).

A version is content-addressed: its canonical JSON (`shared.suites.canonical`) is stored once as
`<tenant>/<project>/<suite>/<sha256>.json` and never overwritten, and its id is that SHA-256.
Adding the same content again finds the same version. Reads check the bytes against the name
and refuse a blob that does not match.

Order of writes in `add_version`: blob, then version row, then the suite's summary. The blob is
harmless on its own (nothing points to it), the version row is what publishes a version, and the
summary is recomputed from the version rows each time, so a retry after a crash at any point
converges.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

from shared.clock import Clock
from shared.ids import is_id, new_id
from shared.storage import (
    BlobContainer,
    ConcurrencyError,
    Conflict,
    ModelTable,
    NotFound,
    Page,
    StorageAccount,
    blob_path,
    where,
)
from shared.storage.catalog import SUITE_VERSIONS_TABLE, SUITES_CONTAINER, SUITES_TABLE
from shared.suites import limits
from shared.suites.canonical import decode_content, encode_content, is_version_id, verify, version_id
from shared.suites.errors import SuiteError, SuiteIntegrityError
from shared.suites.models import SuiteContent
from shared.suites.records import SuiteRecord, VersionRecord, project_key, suite_key

SUITE_PREFIX: Final = "ste"
CONTENT_TYPE: Final = "application/json"
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Retries of the summary update when concurrent version adds race on the suite row's ETag.
_SUMMARY_ATTEMPTS: Final = 8


def _check_scope(tenant_id: str, project_id: str) -> None:
    # Tenant and project ids come from the authenticated caller, never from a path: a bad one is a bug.
    if not is_id(tenant_id) or not is_id(project_id):
        raise ValueError("tenant and project ids must be well-formed ids")


def _check_text(value: str | None, field: str, limit: int, *, required: bool) -> None:
    if value is None:
        if required:
            raise SuiteError.at(field, "is required")
        return
    if (required and not value.strip()) or len(value) > limit or _CONTROL.search(value):
        raise SuiteError.at(field, f"must be {'1' if required else '0'}-{limit} characters, without control characters")


class SuiteStore:
    """Suites of a project and their versions."""

    def __init__(self, account: StorageAccount, clock: Clock) -> None:
        """Bind to the suite tables and container (nothing is created; see `ensure`)."""
        self.suites = ModelTable(account, SUITES_TABLE, SuiteRecord)
        self.versions = ModelTable(account, SUITE_VERSIONS_TABLE, VersionRecord)
        self.blobs = BlobContainer(account, SUITES_CONTAINER)
        self.clock = clock

    def ensure(self) -> None:
        """Create the tables and the container (idempotent)."""
        self.suites.ensure()
        self.versions.ensure()
        self.blobs.ensure()

    # -- suites ---------------------------------------------------------------------------------

    def create_suite(
        self, tenant_id: str, project_id: str, name: str, description: str | None, created_by: str
    ) -> SuiteRecord:
        """A new, empty suite in the project; raise `SuiteError` for a bad name or description."""
        _check_scope(tenant_id, project_id)
        _check_text(name, "name", limits.MAX_NAME_CHARS, required=True)
        _check_text(description, "description", limits.MAX_DESCRIPTION_CHARS, required=False)
        now = self.clock.now()
        record = SuiteRecord(
            partition_key=project_key(tenant_id, project_id),
            row_key=new_id(SUITE_PREFIX),
            name=name.strip(),
            description=description,
            created_at=now,
            created_by=created_by,
            updated_at=now,
        )
        self.suites.insert(record)
        return record

    def get_suite(self, tenant_id: str, project_id: str, suite_id: str) -> SuiteRecord:
        """The suite; raise `NotFound` when it does not exist in this project (or the id is malformed)."""
        _check_scope(tenant_id, project_id)
        # A malformed id (it comes from a URL) is simply not found; it never reaches a query.
        record = None
        if is_id(suite_id, SUITE_PREFIX):
            record = self.suites.find(project_key(tenant_id, project_id), suite_id)
        if record is None:
            raise NotFound("suite not found")
        return record

    def list_suites(
        self, tenant_id: str, project_id: str, *, limit: int = 100, cursor: str | None = None
    ) -> Page[SuiteRecord]:
        """A page of the project's suites in id order."""
        _check_scope(tenant_id, project_id)
        return self.suites.list_partition(project_key(tenant_id, project_id), page_size=limit, cursor=cursor)

    # -- versions -------------------------------------------------------------------------------

    def add_version(
        self,
        tenant_id: str,
        project_id: str,
        suite_id: str,
        content: SuiteContent,
        created_by: str,
        *,
        label: str | None = None,
    ) -> tuple[VersionRecord, bool]:
        """Store `content` as a version of the suite; return its record and whether it is new.

        Idempotent: content already stored returns the existing version (its creator and label
        unchanged) with `False`. Raises `NotFound` for an unknown suite, `SuiteError` for content
        over the size limit, `SuiteIntegrityError` when a blob already under this name holds
        other bytes.
        """
        suite = self.get_suite(tenant_id, project_id, suite_id)
        _check_text(label, "label", limits.MAX_LABEL_CHARS, required=False)
        data = encode_content(content)
        sha = version_id(data)
        partition = suite_key(tenant_id, project_id, suite_id)
        existing = self.versions.find(partition, sha)
        if existing is not None:
            self._refresh_summary(suite)
            return existing, False
        self._put_blob(tenant_id, project_id, suite_id, sha, data)
        record = VersionRecord(
            partition_key=partition,
            row_key=sha,
            suite_id=suite_id,
            created_at=self.clock.now(),
            created_by=created_by,
            case_count=len(content.cases),
            size_bytes=len(data),
            label=label,
        )
        created = True
        try:
            self.versions.insert(record)
        except Conflict:
            # Someone added the same content at the same moment: theirs is the version.
            record, created = self.versions.get(partition, sha), False
        self._refresh_summary(suite)
        return record, created

    def _put_blob(self, tenant_id: str, project_id: str, suite_id: str, sha: str, data: bytes) -> None:
        name = blob_path(tenant_id, project_id, suite_id, f"{sha}.json")
        try:
            self.blobs.put(name, data, content_type=CONTENT_TYPE, overwrite=False)
        except Conflict:
            # Same name, so the same content, unless the stored bytes were damaged: check, never overwrite.
            digest = hashlib.sha256()
            for chunk in self.blobs.open_stream(name):
                digest.update(chunk)
            if digest.hexdigest() != sha:
                raise SuiteIntegrityError(
                    f"suite version {sha[:12]}…: a blob with other bytes is stored under its name"
                ) from None

    def _refresh_summary(self, suite: SuiteRecord) -> None:
        """Recompute the suite's version count and latest version from its version rows (ETag-guarded)."""
        tenant_project, suite_id = suite.partition_key, suite.row_key
        for _ in range(_SUMMARY_ATTEMPTS):
            rows = list(
                self.versions.table.query_all(
                    where("PartitionKey eq @pk", pk=f"{tenant_project}~{suite_id}"), select=["RowKey", "created_at"]
                )
            )
            latest = max(rows, key=lambda row: (row["created_at"], row.row_key), default=None)
            latest_id = None if latest is None else latest.row_key
            if suite.version_count == len(rows) and suite.latest_version == latest_id:
                return
            updated = suite.model_copy(
                update={"version_count": len(rows), "latest_version": latest_id, "updated_at": self.clock.now()}
            )
            try:
                self.suites.update(updated, etag=suite.etag or "*")
                return
            except ConcurrencyError:
                suite = self.suites.get(suite.partition_key, suite_id)
        # Another writer kept winning; each of them recomputed the same summary from the same rows.

    def get_version(self, tenant_id: str, project_id: str, suite_id: str, version: str) -> VersionRecord:
        """The version's record; raise `NotFound` when the suite or the version does not exist here."""
        self.get_suite(tenant_id, project_id, suite_id)
        record = None
        if is_version_id(version):
            record = self.versions.find(suite_key(tenant_id, project_id, suite_id), version)
        if record is None:
            raise NotFound("suite version not found")
        return record

    def get_version_bytes(self, tenant_id: str, project_id: str, suite_id: str, version: str) -> bytes:
        """The version's canonical JSON, checked against its id; raise `SuiteIntegrityError` if they differ."""
        self.get_version(tenant_id, project_id, suite_id, version)
        data = self.blobs.get(blob_path(tenant_id, project_id, suite_id, f"{version}.json"))
        verify(data, version)
        return data

    def get_version_content(self, tenant_id: str, project_id: str, suite_id: str, version: str) -> SuiteContent:
        """The version's content, read back and checked against its id (`SuiteIntegrityError` otherwise)."""
        return decode_content(self.get_version_bytes(tenant_id, project_id, suite_id, version))

    def list_versions(
        self, tenant_id: str, project_id: str, suite_id: str, *, limit: int = 100, cursor: str | None = None
    ) -> Page[VersionRecord]:
        """A page of the suite's versions in id order (sort by `created_at` for history)."""
        self.get_suite(tenant_id, project_id, suite_id)
        return self.versions.list_partition(suite_key(tenant_id, project_id, suite_id), page_size=limit, cursor=cursor)
