"""Importing a pack: verify it, then create its suites (same content, so the same version ids).

A suite version's id is the SHA-256 of its canonical JSON, so an imported version keeps the id the
pack names, and replaying a pack's run is starting a run of that version (optionally on new targets).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from shared.exports.verify import PackRefused, VerifiedPack, verify_pack
from shared.services import Services
from shared.suites.canonical import decode_content
from shared.suites.errors import SuiteError


@dataclass(frozen=True)
class ImportedSuite:
    """One suite created from a pack: the pack's suite id, the new id and the versions added."""

    source_suite_id: str
    suite_id: str
    versions: list[str]


@dataclass(frozen=True)
class ImportOutcome:
    """What an import created."""

    manifest: dict[str, object]
    suites: list[ImportedSuite]


def import_pack(
    services: Services, tenant_id: str, project_id: str, source: IO[bytes], created_by: str
) -> ImportOutcome:
    """Verify the pack (`PackRefused` otherwise) and create one suite per suite in it."""
    pack = verify_pack(source)
    by_suite: dict[str, list[str]] = {}
    for path in pack.paths("suites/"):
        parts = path.split("/")
        if len(parts) != 3 or not parts[2].endswith(".json"):
            raise PackRefused(path, "not a suite version path (suites/<suite>/<version>.json)")
        by_suite.setdefault(parts[1], []).append(path)
    imported = [
        _import_suite(services, tenant_id, project_id, pack, source_id, paths, created_by)
        for source_id, paths in sorted(by_suite.items())
    ]
    return ImportOutcome(manifest=pack.manifest, suites=imported)


def _import_suite(
    services: Services,
    tenant_id: str,
    project_id: str,
    pack: VerifiedPack,
    source_id: str,
    paths: list[str],
    created_by: str,
) -> ImportedSuite:
    contents = []
    for path in paths:
        try:
            contents.append(decode_content(pack.read(path)))
        except SuiteError as error:
            raise PackRefused(path, f"not a valid suite version ({error})") from None
    name = f"Imported {source_id}"[:80]
    suite = services.suites.create_suite(
        tenant_id, project_id, name, f"From benchmark pack {pack.manifest.get('export_id')}", created_by
    )
    versions = []
    for content in contents:
        record, _ = services.suites.add_version(tenant_id, project_id, suite.row_key, content, created_by)
        versions.append(record.row_key)
    return ImportedSuite(source_suite_id=source_id, suite_id=suite.row_key, versions=versions)
