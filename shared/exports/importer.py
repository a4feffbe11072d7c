"""Importing a pack: verify it, then create its suites (same content, so the same version ids), and
optionally replay one of its versions against new targets.

A suite version's id is the SHA-256 of its canonical JSON, so an imported version keeps the id the
pack names, and replaying a pack's run is starting a run of that version on other targets.

Everything that can refuse an import is checked before anything is stored: the pack's hashes, every
suite document, and the replay (its version, targets, credentials and the estimate against its
budget, exactly as `POST .../runs` checks them). Only then are the suites created and the run started.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import IO

from pydantic import BaseModel, ConfigDict, Field

from shared.exports.verify import PackRefused, VerifiedPack, verify_pack
from shared.pricing.table import PriceTable
from shared.runs.launch import Launcher
from shared.runs.models import (
    MAX_CONCURRENCY,
    MAX_TARGETS,
    MAX_TRIALS,
    SHA256_PATTERN,
    RunCreate,
    RunRecord,
    TargetSpec,
)
from shared.runs.planning import Estimate, PlanError
from shared.services import Services
from shared.suites import limits
from shared.suites.canonical import decode_content, encode_content, version_id
from shared.suites.errors import SuiteError
from shared.suites.models import SuiteContent

# Stands in for the suite id while the replay is checked, before the imported suite exists.
_UNCREATED_SUITE = "ste_" + "a" * 20


class ImportReplay(BaseModel):
    """Run a version of the imported pack against new targets (the fields of `POST .../runs` but the suite)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "targets": [{"provider": "sandbox", "model": "sandbox/fast-accurate"}],
                    "trials": 1,
                    "budget_usd": "5.00",
                }
            ]
        },
    )

    version: str | None = Field(
        default=None,
        pattern=SHA256_PATTERN,
        description="The pack's suite version to run; may be omitted when the pack holds exactly one.",
    )
    targets: list[TargetSpec] = Field(min_length=1, max_length=MAX_TARGETS)
    trials: int = Field(default=1, ge=1, le=MAX_TRIALS)
    concurrency: int = Field(default=8, ge=1, le=MAX_CONCURRENCY, description="Provider calls in flight at most.")
    budget_usd: Decimal | None = Field(default=None, gt=0, le=100000, description="Refused or stopped beyond this.")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)

    def run_request(self, suite_id: str, version: str) -> RunCreate:
        """The run this replay asks for, of `version` of the suite `suite_id`."""
        return RunCreate(suite_id=suite_id, version=version, **self.model_dump(exclude={"version"}))


@dataclass(frozen=True)
class ImportedSuite:
    """One suite created from a pack: the pack's suite id, the new id and the versions added."""

    source_suite_id: str
    suite_id: str
    versions: list[str]


@dataclass(frozen=True)
class ReplayStarted:
    """The run a replay started, with its estimate."""

    run: RunRecord
    estimate: Estimate


@dataclass(frozen=True)
class ImportOutcome:
    """What an import created."""

    manifest: dict[str, object]
    suites: list[ImportedSuite]
    replay: ReplayStarted | None = None


@dataclass(frozen=True)
class _PackSuite:
    """A suite of the pack: its files, in order, and their version ids (all checked, nothing stored)."""

    source_id: str
    paths: list[str]
    versions: list[str]


def import_pack(
    services: Services,
    tenant_id: str,
    project_id: str,
    source: IO[bytes],
    created_by: str,
    *,
    replay: ImportReplay | None = None,
    prices: PriceTable | None = None,
) -> ImportOutcome:
    """Verify the pack and check the replay, then create one suite per suite in the pack and start the
    replay's run. Raises `PackRefused`, or for the replay `PlanError` or `BudgetExceeded` (paths relative
    to the replay), before anything is stored."""
    pack = verify_pack(source)
    suites = _check_suites(pack)
    launcher = Launcher(services.suites, services.credentials, services.runs, services.clock)
    planned = None
    if replay is not None:
        planned = _check_replay(services, launcher, tenant_id, project_id, pack, suites, replay, prices)
    imported = [_create_suite(services, tenant_id, project_id, pack, suite, created_by) for suite in suites]
    if planned is None:
        return ImportOutcome(manifest=pack.manifest, suites=imported)
    suite_id = next(suite.suite_id for suite in imported if suite.source_suite_id == planned.source_id)
    request = planned.replay.run_request(suite_id, planned.version)
    run, estimate = launcher.start(tenant_id, project_id, request, created_by, planned.prices)
    return ImportOutcome(manifest=pack.manifest, suites=imported, replay=ReplayStarted(run, estimate))


@dataclass(frozen=True)
class _Planned:
    """A replay that passed every check: which of the pack's versions it runs, at which prices."""

    replay: ImportReplay
    source_id: str
    version: str
    prices: PriceTable


def _check_replay(
    services: Services,
    launcher: Launcher,
    tenant_id: str,
    project_id: str,
    pack: VerifiedPack,
    suites: list[_PackSuite],
    replay: ImportReplay,
    prices: PriceTable | None,
) -> _Planned:
    """Check the replay as `POST .../runs` would, against the pack's content (nothing stored yet)."""
    prices = prices or services.prices(tenant_id, project_id)
    source_id, version, content = _replayed(pack, suites, replay.version)
    launcher.check_content(tenant_id, project_id, content, replay.run_request(_UNCREATED_SUITE, version), prices)
    return _Planned(replay, source_id, version, prices)


def _check_suites(pack: VerifiedPack) -> list[_PackSuite]:
    """Every suite document of the pack, decoded once to refuse a bad one before anything is stored."""
    sizes = {entry["path"]: entry.get("size") for entry in pack.manifest["files"]}
    by_suite: dict[str, list[str]] = {}
    for path in pack.paths("suites/"):
        parts = path.split("/")
        if len(parts) != 3 or not parts[2].endswith(".json"):
            raise PackRefused(path, "not a suite version path (suites/<suite>/<version>.json)")
        size = sizes.get(path)
        if not isinstance(size, int) or size > limits.MAX_CONTENT_BYTES:
            # The size is verified against the bytes; a bigger document is not a suite version.
            raise PackRefused(path, f"larger than a suite version may be ({limits.MAX_CONTENT_BYTES:,} bytes)")
        by_suite.setdefault(parts[1], []).append(path)
    suites = []
    for source_id, paths in sorted(by_suite.items()):
        versions = [_version(pack, path) for path in paths]
        suites.append(_PackSuite(source_id, paths, versions))
    return suites


def _content(pack: VerifiedPack, path: str) -> SuiteContent:
    try:
        return decode_content(pack.read(path))
    except SuiteError as error:
        raise PackRefused(path, f"not a valid suite version ({error})") from None


def _version(pack: VerifiedPack, path: str) -> str:
    """The id the version gets once stored: the hash of its canonical bytes."""
    try:
        return version_id(encode_content(_content(pack, path)))
    except SuiteError as error:
        raise PackRefused(path, f"not a valid suite version ({error})") from None


def _replayed(pack: VerifiedPack, suites: list[_PackSuite], wanted: str | None) -> tuple[str, str, SuiteContent]:
    """The suite, version and content the replay runs: `wanted`, or the pack's only version."""
    held = [
        (suite, version, path) for suite in suites for version, path in zip(suite.versions, suite.paths, strict=True)
    ]
    if not held:
        raise PlanError("version", "the pack holds no suite version to replay")
    if wanted is None:
        if len({version for _, version, _ in held}) != 1:
            raise PlanError("version", f"the pack holds {len(held)} suite versions; name the one to replay")
        suite, version, path = held[0]
    else:
        found = [(suite, version, path) for suite, version, path in held if version == wanted]
        if not found:
            raise PlanError("version", "the pack holds no suite version of this id")
        suite, version, path = found[0]
    return suite.source_id, version, _content(pack, path)


def _create_suite(
    services: Services, tenant_id: str, project_id: str, pack: VerifiedPack, suite: _PackSuite, created_by: str
) -> ImportedSuite:
    name = f"Imported {suite.source_id}"[:80]
    record = services.suites.create_suite(
        tenant_id, project_id, name, f"From benchmark pack {pack.manifest.get('export_id')}", created_by
    )
    versions = []
    for path in suite.paths:
        version, _ = services.suites.add_version(
            tenant_id, project_id, record.row_key, _content(pack, path), created_by
        )
        versions.append(version.row_key)
    return ImportedSuite(source_suite_id=suite.source_id, suite_id=record.row_key, versions=versions)
