"""The suite store against Azurite: immutable, content-addressed versions, scoped by tenant and project."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.ids import new_id
from shared.storage import NotFound, StorageAccount, blob_path
from shared.storage.catalog import SUITES_CONTAINER
from shared.suites.canonical import encode_content
from shared.suites.errors import SuiteError, SuiteIntegrityError
from shared.suites.models import Case, SuiteContent
from shared.suites.store import SuiteStore

Scope = tuple[str, str]


def content(*answers: str) -> SuiteContent:
    return SuiteContent(
        description="capitals",
        cases=[Case(id=f"c{i}", template="Capital of {{x}}?", vars={"x": a}) for i, a in enumerate(answers)],
    )


def test_create_get_and_list_suites(store: SuiteStore, scope: Scope) -> None:
    tenant, project = scope
    first = store.create_suite(tenant, project, " Capitals ", "geography", "user_1")
    second = store.create_suite(tenant, project, "Maths", None, "user_1")
    assert first.suite_id.startswith("ste_")
    assert (first.name, first.version_count, first.latest_version) == ("Capitals", 0, None)
    assert store.get_suite(tenant, project, first.suite_id).name == "Capitals"
    page = store.list_suites(tenant, project, limit=1)
    assert len(page.items) == 1
    assert page.next_cursor is not None
    rest = store.list_suites(tenant, project, limit=1, cursor=page.next_cursor)
    assert {page.items[0].suite_id, rest.items[0].suite_id} == {first.suite_id, second.suite_id}
    with pytest.raises(SuiteError, match="name"):
        store.create_suite(tenant, project, "  ", None, "user_1")


def test_same_content_is_one_version_and_new_content_another(store: SuiteStore, scope: Scope) -> None:
    tenant, project = scope
    suite = store.create_suite(tenant, project, "Capitals", None, "user_1")
    first, created = store.add_version(tenant, project, suite.suite_id, content("France"), "user_1", label="v1")
    assert created
    assert first.version_id == hashlib.sha256(encode_content(content("France"))).hexdigest()
    assert (first.case_count, first.label) == (1, "v1")

    again, created = store.add_version(tenant, project, suite.suite_id, content("France"), "user_2", label="other")
    assert not created
    # The existing version is returned unchanged: the first creator and label stay.
    assert (again.version_id, again.created_by, again.label) == (first.version_id, "user_1", "v1")

    second, created = store.add_version(tenant, project, suite.suite_id, content("France", "Japan"), "user_1")
    assert created
    assert second.version_id != first.version_id

    summary = store.get_suite(tenant, project, suite.suite_id)
    assert (summary.version_count, summary.latest_version) == (2, second.version_id)
    listed = store.list_versions(tenant, project, suite.suite_id)
    assert sorted(v.version_id for v in listed.items) == sorted([first.version_id, second.version_id])


def test_read_back_verifies_the_hash(store: SuiteStore, scope: Scope) -> None:
    tenant, project = scope
    suite = store.create_suite(tenant, project, "Capitals", None, "user_1")
    original = content("France", "Ελλάδα")
    version, _ = store.add_version(tenant, project, suite.suite_id, original, "user_1")
    assert store.get_version_content(tenant, project, suite.suite_id, version.version_id) == original
    data = store.get_version_bytes(tenant, project, suite.suite_id, version.version_id)
    assert hashlib.sha256(data).hexdigest() == version.version_id


def test_a_tampered_blob_is_refused(store: SuiteStore, scope: Scope, account: StorageAccount) -> None:
    tenant, project = scope
    suite = store.create_suite(tenant, project, "Capitals", None, "user_1")
    version, _ = store.add_version(tenant, project, suite.suite_id, content("France"), "user_1")
    name = blob_path(tenant, project, suite.suite_id, f"{version.version_id}.json")
    forged = encode_content(content("Atlantis"))
    account.container_client(SUITES_CONTAINER).get_blob_client(name).upload_blob(forged, overwrite=True)
    with pytest.raises(SuiteIntegrityError):
        store.get_version_content(tenant, project, suite.suite_id, version.version_id)


def test_a_foreign_blob_under_a_new_versions_name_is_never_overwritten(
    store: SuiteStore, scope: Scope, account: StorageAccount
) -> None:
    tenant, project = scope
    suite = store.create_suite(tenant, project, "Capitals", None, "user_1")
    sha = hashlib.sha256(encode_content(content("France"))).hexdigest()
    blob = account.container_client(SUITES_CONTAINER).get_blob_client(
        blob_path(tenant, project, suite.suite_id, f"{sha}.json")
    )
    blob.upload_blob(b"something else")
    with pytest.raises(SuiteIntegrityError):
        store.add_version(tenant, project, suite.suite_id, content("France"), "user_1")
    assert blob.download_blob().readall() == b"something else"


def test_concurrent_adds_of_the_same_content_make_one_version(store: SuiteStore, scope: Scope) -> None:
    tenant, project = scope
    suite = store.create_suite(tenant, project, "Capitals", None, "user_1")
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(lambda _: store.add_version(tenant, project, suite.suite_id, content("France"), "u"), range(4))
        )
    assert len({record.version_id for record, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert store.get_suite(tenant, project, suite.suite_id).version_count == 1


def test_another_tenants_ids_are_not_found(store: SuiteStore, scope: Scope) -> None:
    tenant, project = scope
    suite = store.create_suite(tenant, project, "Capitals", None, "user_1")
    version, _ = store.add_version(tenant, project, suite.suite_id, content("France"), "user_1")
    for other_tenant, other_project in [(new_id("ten"), project), (tenant, new_id("prj"))]:
        with pytest.raises(NotFound):
            store.get_suite(other_tenant, other_project, suite.suite_id)
        with pytest.raises(NotFound):
            store.get_version_content(other_tenant, other_project, suite.suite_id, version.version_id)
        with pytest.raises(NotFound):
            store.list_versions(other_tenant, other_project, suite.suite_id)
        with pytest.raises(NotFound):
            store.add_version(other_tenant, other_project, suite.suite_id, content("Spain"), "intruder")
        assert store.list_suites(other_tenant, other_project).items == []
    # The owner's suite is untouched.
    assert store.get_suite(tenant, project, suite.suite_id).version_count == 1


@pytest.mark.parametrize("bad", ["", "ste_x", "../ste_aaaaaaaaaaaaaaaaaaaa", "prj_aaaaaaaaaaaaaaaaaaaa", "a'b"])
def test_malformed_ids_are_not_found(store: SuiteStore, scope: Scope, bad: str) -> None:
    tenant, project = scope
    suite = store.create_suite(tenant, project, "Capitals", None, "user_1")
    with pytest.raises(NotFound):
        store.get_suite(tenant, project, bad)
    with pytest.raises(NotFound):
        store.get_version(tenant, project, suite.suite_id, bad)
    with pytest.raises(NotFound):
        store.get_version(tenant, project, suite.suite_id, "0" * 64)


def test_scope_ids_must_be_well_formed(store: SuiteStore) -> None:
    with pytest.raises(ValueError, match="well-formed"):
        store.list_suites("ten~x", new_id("prj"))


def test_an_interrupted_add_heals_on_the_next_one(
    store: SuiteStore, scope: Scope, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, project = scope
    suite = store.create_suite(tenant, project, "Capitals", None, "user_1")

    def crash(_: object) -> None:
        raise RuntimeError("worker killed between the version row and the summary")

    with monkeypatch.context() as patch:
        patch.setattr(store, "_refresh_summary", crash)
        with pytest.raises(RuntimeError):
            store.add_version(tenant, project, suite.suite_id, content("France"), "user_1")
    assert store.get_suite(tenant, project, suite.suite_id).version_count == 0
    # The retry finds the published version and brings the summary up to date.
    version, created = store.add_version(tenant, project, suite.suite_id, content("France"), "user_1")
    assert not created
    summary = store.get_suite(tenant, project, suite.suite_id)
    assert (summary.version_count, summary.latest_version) == (1, version.version_id)
