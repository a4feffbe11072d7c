"""Importing packs into the stores: which version a replay runs, and nothing stored when it is refused."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from shared.exports.importer import ImportReplay, import_pack
from shared.exports.verify import PackRefused
from shared.exports.zipstream import PackFile, ZipStream
from shared.ids import new_id
from shared.runs.launch import BudgetExceeded
from shared.runs.planning import PlanError
from shared.services import Services
from shared.suites import limits
from shared.suites.canonical import encode_content, version_id
from shared.suites.models import SuiteContent

HEADER = {"schema": "tokenroute.pack", "schema_version": "1.0", "export_id": "exp_abcdefghijklmnopqrst"}
SANDBOX = [{"provider": "sandbox", "model": "sandbox/fast-accurate"}]


def _suite(cases: int) -> bytes:
    content = SuiteContent.model_validate(
        {"cases": [{"id": f"c{i}", "template": f"{i}+{i}?", "expected": str(2 * i)} for i in range(cases)]}
    )
    return encode_content(content)


@pytest.fixture(autouse=True)
def _storage(services: Services) -> None:
    services.ensure_storage()


def _chunks(data: bytes) -> Callable[[], list[bytes]]:
    return lambda: [data]


def _pack(documents: list[bytes], extra: list[PackFile] | None = None) -> bytes:
    """A pack of one suite with these versions (and any extra files), its manifest verifying."""
    files = [
        PackFile(f"suites/ste_abcdefghijklmnopqrst/{version_id(doc)}.json", "application/json", _chunks(doc))
        for doc in documents
    ]
    return b"".join(ZipStream(dict(HEADER)).chunks([*files, *(extra or [])]))


def _scope() -> tuple[str, str]:
    return new_id("ten"), new_id("prj")


def _nothing_stored(services: Services, tenant: str, project: str) -> None:
    assert services.suites.list_suites(tenant, project, limit=10, cursor=None).items == []
    assert services.runs.list_runs(tenant, project, limit=10, cursor=None).items == []


def test_replay_of_a_pack_with_several_versions_runs_the_one_named(services: Services) -> None:
    small, large = _suite(3), _suite(5)
    data = _pack([small, large])
    tenant, project = _scope()
    unnamed = ImportReplay.model_validate({"targets": SANDBOX})
    with pytest.raises(PlanError) as refused:
        import_pack(services, tenant, project, io.BytesIO(data), "user_x", replay=unnamed)
    assert refused.value.path == "version"
    _nothing_stored(services, tenant, project)

    named = ImportReplay.model_validate({"targets": SANDBOX, "version": version_id(large), "trials": 3})
    outcome = import_pack(services, tenant, project, io.BytesIO(data), "user_x", replay=named)
    assert outcome.replay is not None
    run = outcome.replay.run
    assert [s.versions for s in outcome.suites] == [[version_id(small), version_id(large)]]
    assert (run.suite_id, run.version) == (outcome.suites[0].suite_id, version_id(large))
    assert run.item_count == 5 * 1 * 3  # the large version's cases, one target, three trials
    assert services.runs.find(tenant, project, run.row_key) is not None


def test_an_over_budget_replay_stores_nothing(services: Services) -> None:
    tenant, project = _scope()
    replay = ImportReplay.model_validate({"targets": SANDBOX, "budget_usd": "0.0000001"})
    with pytest.raises(BudgetExceeded):
        import_pack(services, tenant, project, io.BytesIO(_pack([_suite(4)])), "user_x", replay=replay)
    _nothing_stored(services, tenant, project)


def test_a_bad_suite_document_is_refused_before_any_suite_is_created(services: Services) -> None:
    tenant, project = _scope()
    # The first suite is fine; the second, in another suite folder, is not a suite document.
    bad = PackFile("suites/ste_bbbbbbbbbbbbbbbbbbbb/" + "0" * 64 + ".json", "application/json", lambda: [b"{}"])
    with pytest.raises(PackRefused) as refused:
        import_pack(services, tenant, project, io.BytesIO(_pack([_suite(2)], [bad])), "user_x")
    assert refused.value.path == bad.path
    _nothing_stored(services, tenant, project)


def test_a_suite_file_larger_than_a_suite_version_is_refused_unread(services: Services) -> None:
    tenant, project = _scope()
    huge = b" " * (limits.MAX_CONTENT_BYTES + 1)
    path = "suites/ste_abcdefghijklmnopqrst/" + "1" * 64 + ".json"
    data = _pack([], [PackFile(path, "application/json", lambda: [huge])])
    with pytest.raises(PackRefused) as refused:
        import_pack(services, tenant, project, io.BytesIO(data), "user_x")
    assert refused.value.path == path
    assert "larger than a suite version" in refused.value.reason
