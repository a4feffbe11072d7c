"""What the suite store keeps in Tables: one row per suite, one row per version.

Keys carry the tenant and project (`~` cannot occur in ids), so no query reaches another
tenant's rows. A version's content lives in Blob Storage; its row says it is published.
"""

from __future__ import annotations

from datetime import datetime

from shared.storage import TableModel


class SuiteRecord(TableModel):
    """PK = "<tenant>~<project>", RK = suite id.

    `latest_version` and `version_count` summarize the suite's version rows; every `add_version`
    recomputes them from those rows, so a write interrupted between the two tables heals.
    """

    name: str
    description: str | None = None
    created_at: datetime
    created_by: str
    updated_at: datetime
    latest_version: str | None = None
    version_count: int = 0

    @property
    def suite_id(self) -> str:
        """The suite's id."""
        return self.row_key


class VersionRecord(TableModel):
    """PK = "<tenant>~<project>~<suite>", RK = version id (SHA-256 hex of the canonical JSON)."""

    suite_id: str
    created_at: datetime
    created_by: str
    case_count: int
    size_bytes: int
    label: str | None = None

    @property
    def version_id(self) -> str:
        """The version's id: the SHA-256 of its content."""
        return self.row_key


def project_key(tenant_id: str, project_id: str) -> str:
    """The partition of a project's suites."""
    return f"{tenant_id}~{project_id}"


def suite_key(tenant_id: str, project_id: str, suite_id: str) -> str:
    """The partition of one suite's versions."""
    return f"{tenant_id}~{project_id}~{suite_id}"
