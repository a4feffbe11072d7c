"""The Key Vault backend with the real azure-keyvault-secrets SDK over an in-memory vault transport.

The challenge cache of the SDK is process-wide; the `vault` fixtures clear it, and these tests
must not run in parallel within one process.
"""

from __future__ import annotations

import json
import logging
import re
import traceback

import pytest
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets._shared.client_base import DEFAULT_VERSION

from shared.secrets import (
    KeyVaultBackend,
    SecretBackend,
    SecretBackendError,
    SecretNotFound,
    SecretRef,
)
from tests.secrets.conftest import backend_for
from tests.secrets.fake_keyvault import TENANT_ID, VAULT_URL, FakeCredential, FakeVaultTransport

A1 = SecretRef.credential("ten_a", "prj_1", "cre_1")
A1B = SecretRef.credential("ten_a", "prj_1", "cre_2")
A2 = SecretRef.credential("ten_a", "prj_2", "cre_1")
A_TENANT = SecretRef.credential("ten_a", None, "cre_9")
B1 = SecretRef.credential("ten_b", "prj_1", "cre_1")
PEPPER = SecretRef.pepper()
VALUE = "sk-proj-VAULT-PLAINTEXT-9f8e7d6c5b4a"
KEY_VAULT_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")


def requests_to(vault: FakeVaultTransport, method: str, prefix: str) -> list[str]:
    return [seen.path for seen in vault.requests if seen.method == method and seen.path.startswith(prefix)]


def test_is_a_secret_backend(kv: KeyVaultBackend) -> None:
    backend: SecretBackend = kv
    assert isinstance(backend, SecretBackend)
    assert VAULT_URL in repr(kv)


def test_challenge_authentication(kv: KeyVaultBackend, vault: FakeVaultTransport, credential: FakeCredential) -> None:
    kv.put(A1, VALUE)

    first, second = vault.requests[0], vault.requests[1]
    assert (first.method, first.path, first.authorization, first.status) == ("PUT", f"/secrets/{A1.name}", None, 401)
    assert first.body == b""  # the SDK withholds the value until it knows where to authenticate
    assert (second.method, second.path) == ("PUT", f"/secrets/{A1.name}")
    assert second.authorization == f"Bearer {credential.token}"
    assert second.status == 200
    assert json.loads(second.body)["value"] == VALUE
    assert credential.calls == [(("https://vault.azure.net/.default",), TENANT_ID)]

    # The challenge and the token are reused: no second 401, no second token request.
    assert kv.get(A1) == VALUE
    assert [seen.status for seen in vault.requests].count(401) == 1
    assert len(credential.calls) == 1
    assert {seen.query["api-version"] for seen in vault.requests} == {DEFAULT_VERSION.value}


def test_challenge_cache_is_process_wide(vault: FakeVaultTransport, credential: FakeCredential) -> None:
    # Why the fixture clears it: a second client for the same vault skips the challenge entirely.
    backend_for(vault, credential).put(A1, VALUE)
    other = FakeCredential()
    backend_for(vault, other).put(A1B, VALUE)
    assert [seen.status for seen in vault.requests].count(401) == 1
    assert other.calls == [(("https://vault.azure.net/.default",), TENANT_ID)]


def test_put_get_rotate(kv: KeyVaultBackend, vault: FakeVaultTransport) -> None:
    first = kv.put(A1, "value-one")
    second = kv.put(A1, "value-two")
    assert first != second
    assert re.fullmatch(r"[0-9a-f]{32}", second)
    assert kv.get(A1) == "value-two"
    assert kv.get(A1, version=first) == "value-one"
    body = json.loads(vault.requests[-3].body)  # the second PUT
    assert body["tags"] == A1.tags
    assert body["contentType"] == "text/plain"


def test_missing_secret_and_version(kv: KeyVaultBackend) -> None:
    with pytest.raises(SecretNotFound) as caught:
        kv.get(A1)
    assert caught.value.ref == A1
    kv.put(A1, VALUE)
    with pytest.raises(SecretNotFound):
        kv.get(A1, version="0" * 32)
    with pytest.raises(ValueError, match="version"):
        kv.get(A1, version="../../deletedsecrets/x")


def test_delete_waits_then_purges(kv: KeyVaultBackend, vault: FakeVaultTransport) -> None:
    kv.put(A1, VALUE)
    kv.put(A1B, VALUE)
    kv.delete(A1)
    assert vault.live_names() == [A1B.name]
    assert vault.deleted_names() == []
    # The poller saw 404 while the deletion ran, waited, saw it finish, then the purge went out.
    polls = [(seen.path, seen.status) for seen in vault.requests if seen.path.startswith("/deletedsecrets/")]
    assert polls == [
        (f"/deletedsecrets/{A1.name}", 404),
        (f"/deletedsecrets/{A1.name}", 200),
        (f"/deletedsecrets/{A1.name}", 204),
    ]
    with pytest.raises(SecretNotFound):
        kv.get(A1)


def test_delete_is_idempotent(kv: KeyVaultBackend, vault: FakeVaultTransport) -> None:
    kv.delete(A1)
    kv.put(A1, VALUE)
    kv.delete(A1)
    kv.delete(A1)
    assert vault.live_names() == []
    assert vault.deleted_names() == []


def test_delete_finishes_an_interrupted_delete(kv: KeyVaultBackend, vault: FakeVaultTransport) -> None:
    kv.put(A1, VALUE)
    vault.soft_delete_raw(A1.name)  # an earlier attempt stopped between delete and purge
    kv.delete(A1)
    assert vault.deleted_names() == []


def test_purge_protected_delete_stays_soft_deleted(
    protected_vault: FakeVaultTransport, credential: FakeCredential
) -> None:
    kv = backend_for(protected_vault, credential)
    kv.put(A1, VALUE)
    kv.delete(A1)
    assert protected_vault.live_names() == []
    assert protected_vault.deleted_names() == [A1.name]
    # The recovery level said "not purgeable": no purge was even tried.
    assert requests_to(protected_vault, "DELETE", "/deletedsecrets/") == []
    with pytest.raises(SecretNotFound):
        kv.get(A1)


def test_purge_refused_is_not_an_error(
    credential: FakeCredential, fresh_challenge_cache: None, caplog: pytest.LogCaptureFixture
) -> None:
    vault = FakeVaultTransport(deny_purge=True)  # purgeable vault, but no purge permission
    kv = backend_for(vault, credential)
    kv.put(A1, VALUE)
    with caplog.at_level(logging.WARNING, logger="shared.secrets"):
        kv.delete(A1)
    assert vault.deleted_names() == [A1.name]
    assert "was not purged (HTTP 403 ForbiddenByRbac" in caplog.text


def test_reput_of_a_soft_deleted_name_purges_first(kv: KeyVaultBackend, vault: FakeVaultTransport) -> None:
    old = kv.put(A1, "old value")
    vault.soft_delete_raw(A1.name)
    new = kv.put(A1, "new value")
    assert kv.get(A1) == "new value"
    with pytest.raises(SecretNotFound):
        kv.get(A1, version=old)  # a clean start: the old versions were purged
    assert vault.deleted_names() == []
    assert new != old


def test_reput_waits_while_the_deletion_runs(kv: KeyVaultBackend, vault: FakeVaultTransport) -> None:
    kv.put(A1, "old value")
    vault.soft_delete_raw(A1.name, pending_polls=2)
    kv.put(A1, "new value")
    assert kv.get(A1) == "new value"
    assert len(vault.sleeps) >= 2
    conflicts = [seen.status for seen in vault.requests if seen.method == "PUT"].count(409)
    assert conflicts >= 2


def test_reput_gives_up_when_the_name_never_frees(kv: KeyVaultBackend, vault: FakeVaultTransport) -> None:
    kv.put(A1, "old value")
    vault.soft_delete_raw(A1.name, pending_polls=1000)
    with pytest.raises(SecretBackendError, match="409 ObjectIsBeingDeleted") as caught:
        kv.put(A1, "new value")
    assert "new value" not in str(caught.value)


def test_reput_under_purge_protection_recovers(protected_vault: FakeVaultTransport, credential: FakeCredential) -> None:
    kv = backend_for(protected_vault, credential)
    old = kv.put(A1, "old value")
    kv.delete(A1)
    new = kv.put(A1, "new value")
    assert kv.get(A1) == "new value"
    assert kv.get(A1, version=old) == "old value"  # recovery brings the older versions back
    assert new != old
    assert protected_vault.deleted_names() == []
    assert requests_to(protected_vault, "POST", "/deletedsecrets/") == [f"/deletedsecrets/{A1.name}/recover"]


def test_list_refs_pages_through_the_vault(kv: KeyVaultBackend, vault: FakeVaultTransport) -> None:
    refs = [SecretRef.credential("ten_a", "prj_1", f"cre_{n}") for n in range(5)]
    for ref in refs:
        kv.put(ref, VALUE)
    kv.put(B1, VALUE)
    assert kv.list_refs("ten_a", "prj_1") == sorted(refs, key=lambda r: r.name)
    assert any("$skiptoken" in seen.query for seen in vault.requests)


def test_delete_scope_deletes_exactly_one_project_then_the_tenant(
    kv: KeyVaultBackend, vault: FakeVaultTransport, caplog: pytest.LogCaptureFixture
) -> None:
    for ref in (A1, A1B, A2, A_TENANT, B1, PEPPER):
        kv.put(ref, VALUE)
    leftover = SecretRef.credential("ten_a", "prj_1", "cre_left")
    kv.put(leftover, VALUE)
    vault.soft_delete_raw(leftover.name)  # soft-deleted by an earlier, interrupted cascade
    # Made outside TokenRoute: tagged as tenant A, but not a name we derive: never touched.
    vault.put_raw("manual-openai-key", VALUE, tags={"tenant": "ten_a", "project": "prj_1"})
    # Ours by name but without tags (edited by hand): still deleted with its scope.
    untagged = SecretRef.credential("ten_a", "prj_1", "cre_untagged")
    vault.put_raw(untagged.name, VALUE)

    with caplog.at_level(logging.WARNING, logger="shared.secrets"):
        assert kv.delete_scope("ten_a", "prj_1") == 3
    assert f"secret {untagged.name}: its tags do not match its name" in caplog.text
    assert vault.live_names() == sorted(["manual-openai-key", A2.name, A_TENANT.name, B1.name, PEPPER.name])
    assert vault.deleted_names() == []

    assert kv.delete_scope("ten_a") == 2
    assert vault.live_names() == sorted(["manual-openai-key", B1.name, PEPPER.name])
    assert kv.get(B1) == VALUE
    assert kv.get(PEPPER) == VALUE


def test_delete_scope_under_purge_protection_leaves_soft_deleted_secrets(
    protected_vault: FakeVaultTransport, credential: FakeCredential
) -> None:
    kv = backend_for(protected_vault, credential)
    for ref in (A1, A1B, B1):
        kv.put(ref, VALUE)
    kv.delete(A1)  # deleted earlier: soft-deleted, waiting for its purge date
    assert kv.delete_scope("ten_a") == 1
    assert protected_vault.live_names() == [B1.name]
    assert protected_vault.deleted_names() == sorted([A1.name, A1B.name])
    assert requests_to(protected_vault, "DELETE", "/deletedsecrets/") == []


def test_names_sent_respect_key_vault_rules(kv: KeyVaultBackend, vault: FakeVaultTransport) -> None:
    refs = [
        SecretRef.credential("a" * 36, "b" * 36, "c_" * 17 + "c"),
        SecretRef.credential("ten_x", None, "cre_y"),
        SecretRef.pepper(),
    ]
    for ref in refs:
        kv.put(ref, VALUE)
    names = [seen.path.split("/")[2] for seen in vault.requests if seen.method == "PUT"]
    assert names
    assert all(KEY_VAULT_NAME.fullmatch(name) for name in names)
    assert all(seen.status in (200, 401) for seen in vault.requests)


def exercise(kv: KeyVaultBackend, vault: FakeVaultTransport) -> None:
    """Every code path that carries the value: first put (challenge), rotation, get, errors, delete."""
    kv.put(A1, VALUE)
    kv.put(A1, VALUE + "-2")
    kv.get(A1)
    vault.fail_next_request(403, "Forbidden", "Caller is not authorized to perform action", "ForbiddenByRbac")
    with pytest.raises(SecretBackendError):
        kv.put(A1, VALUE)
    vault.fail_next_request(500, "InternalServerError", "boom")
    kv.put(A1B, VALUE)  # retried by the SDK
    kv.delete(A1)


def test_the_value_never_reaches_the_logs(
    kv: KeyVaultBackend, vault: FakeVaultTransport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="azure")
    exercise(kv, vault)
    assert any(record.name.startswith("azure.core.pipeline.policies.http_logging_policy") for record in caplog.records)
    for record in caplog.records:
        assert VALUE not in record.getMessage()
    assert VALUE not in caplog.text


def test_the_log_check_would_catch_body_logging(
    vault: FakeVaultTransport, credential: FakeCredential, caplog: pytest.LogCaptureFixture
) -> None:
    # A control for the test above: with azure-core's body logging on, the value does leak.
    caplog.set_level(logging.DEBUG, logger="azure")
    client = SecretClient(VAULT_URL, credential, transport=vault, logging_enable=True)
    client.set_secret(A1.name, VALUE)
    assert VALUE in caplog.text


def test_errors_carry_no_value(kv: KeyVaultBackend, vault: FakeVaultTransport) -> None:
    kv.put(A1, "first")
    vault.fail_next_request(403, "Forbidden", "Caller is not authorized to perform action", "ForbiddenByRbac")
    with pytest.raises(SecretBackendError) as caught:
        kv.put(A1, VALUE)
    error = caught.value
    text = "".join(traceback.format_exception(error))
    assert VALUE not in text
    assert VALUE not in repr(error)
    assert error.__cause__ is None
    assert error.__suppress_context__
    assert f"Key Vault could not set secret {A1.name}: HTTP 403 ForbiddenByRbac (request id " in str(error)


def test_transient_errors_are_retried_by_the_sdk(kv: KeyVaultBackend, vault: FakeVaultTransport) -> None:
    kv.put(A1, "first")
    vault.fail_next_request(503, "ServiceUnavailable", "try again")
    assert kv.get(A1) == "first"
    gets = [seen.status for seen in vault.requests if seen.method == "GET"]
    assert gets == [503, 200]


def test_vault_url_must_be_https(credential: FakeCredential) -> None:
    with pytest.raises(ValueError, match="https"):
        KeyVaultBackend("http://tokenroute-test.vault.azure.net", credential)
