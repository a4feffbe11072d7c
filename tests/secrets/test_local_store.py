"""The local encrypted store, for real on tmp_path: AES-GCM per value, versions, atomic writes, locks."""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import stat
import threading
from pathlib import Path

import pytest

from shared.config import Environment
from shared.secrets import (
    MAX_VALUE_BYTES,
    LocalEncryptedStore,
    LocalStoreRefused,
    SecretBackend,
    SecretBackendError,
    SecretNotFound,
    SecretRef,
)

A1 = SecretRef.credential("ten_a", "prj_1", "cre_1")
A1B = SecretRef.credential("ten_a", "prj_1", "cre_2")
A2 = SecretRef.credential("ten_a", "prj_2", "cre_1")
A_TENANT = SecretRef.credential("ten_a", None, "cre_9")
B1 = SecretRef.credential("ten_b", "prj_1", "cre_1")
PEPPER = SecretRef.pepper()
VALUE = "sk-live-THE-PLAINTEXT-0123456789abcdef"


def test_is_a_secret_backend(local_store: LocalEncryptedStore) -> None:
    backend: SecretBackend = local_store
    assert isinstance(backend, SecretBackend)


def test_put_get_rotate(local_store: LocalEncryptedStore) -> None:
    first = local_store.put(A1, "value-one")
    second = local_store.put(A1, "value-two")
    assert first != second
    assert local_store.get(A1) == "value-two"
    assert local_store.get(A1, version=first) == "value-one"
    assert local_store.get(A1, version=second) == "value-two"


def test_unicode_values_round_trip(local_store: LocalEncryptedStore) -> None:
    local_store.put(A1, "clé-🔑-ключ")
    assert local_store.get(A1) == "clé-🔑-ключ"


def test_missing_secret_and_version(local_store: LocalEncryptedStore) -> None:
    with pytest.raises(SecretNotFound) as caught:
        local_store.get(A1)
    assert caught.value.ref == A1
    local_store.put(A1, VALUE)
    with pytest.raises(SecretNotFound):
        local_store.get(A1, version="0" * 32)
    with pytest.raises(ValueError, match="version"):
        local_store.get(A1, version="../etc")


def test_delete_is_idempotent(local_store: LocalEncryptedStore) -> None:
    local_store.put(A1, VALUE)
    local_store.put(A1B, VALUE)
    local_store.delete(A1)
    local_store.delete(A1)
    with pytest.raises(SecretNotFound):
        local_store.get(A1)
    assert local_store.get(A1B) == VALUE


def test_delete_scope_removes_exactly_one_project(local_store: LocalEncryptedStore) -> None:
    for ref in (A1, A1B, A2, A_TENANT, B1, PEPPER):
        local_store.put(ref, f"value of {ref.name}")
    assert local_store.delete_scope("ten_a", "prj_1") == 2
    assert set(local_store.list_refs("ten_a")) == {A2, A_TENANT}
    assert local_store.get(B1) == f"value of {B1.name}"
    assert local_store.get(PEPPER) == f"value of {PEPPER.name}"


def test_delete_scope_removes_exactly_one_tenant(local_store: LocalEncryptedStore) -> None:
    for ref in (A1, A1B, A2, A_TENANT, B1, PEPPER):
        local_store.put(ref, f"value of {ref.name}")
    assert local_store.delete_scope("ten_a") == 4
    assert local_store.list_refs("ten_a") == []
    assert local_store.list_refs("ten_b") == [B1]
    assert local_store.get(PEPPER) == f"value of {PEPPER.name}"
    assert local_store.delete_scope("ten_a") == 0


def test_scope_ids_are_validated(local_store: LocalEncryptedStore) -> None:
    with pytest.raises(ValueError, match="project_id"):
        local_store.delete_scope("ten_a", "prj/../x")
    with pytest.raises(ValueError, match="tenant_id"):
        local_store.list_refs("")


def test_wrong_key_cannot_decrypt_or_write(store_path: Path, local_store: LocalEncryptedStore) -> None:
    local_store.put(A1, VALUE)
    before = store_path.read_bytes()
    other = LocalEncryptedStore(store_path, os.urandom(32))
    with pytest.raises(SecretBackendError, match="LOCAL_SECRETS_KEY does not open"):
        other.get(A1)
    with pytest.raises(SecretBackendError, match="LOCAL_SECRETS_KEY does not open"):
        other.put(A1B, "another value")
    assert store_path.read_bytes() == before  # nothing written with a second key


def test_ciphertext_moved_to_another_name_fails(store_path: Path, local_store: LocalEncryptedStore) -> None:
    local_store.put(A1, VALUE)
    local_store.put(B1, "tenant b's own value")
    document = json.loads(store_path.read_bytes())
    # An attacker with write access copies tenant A's entry over tenant B's.
    document["secrets"][B1.name]["versions"] = document["secrets"][A1.name]["versions"]
    store_path.write_text(json.dumps(document))
    assert local_store.get(A1) == VALUE
    with pytest.raises(SecretBackendError, match="moved from another secret") as caught:
        local_store.get(B1)
    assert VALUE not in str(caught.value)


def test_altered_ciphertext_fails(store_path: Path, local_store: LocalEncryptedStore) -> None:
    local_store.put(A1, VALUE)
    document = json.loads(store_path.read_bytes())
    entry = document["secrets"][A1.name]["versions"][0]
    raw = bytearray(base64.b64decode(entry["ciphertext"]))
    raw[0] ^= 1
    entry["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    store_path.write_text(json.dumps(document))
    with pytest.raises(SecretBackendError, match="altered"):
        local_store.get(A1)


def test_file_never_holds_the_plaintext(store_path: Path, local_store: LocalEncryptedStore) -> None:
    local_store.put(A1, VALUE)
    local_store.put(A1, VALUE + "-rotated")
    raw = store_path.read_bytes()
    for form in (VALUE, VALUE + "-rotated", "THE-PLAINTEXT"):
        assert form.encode() not in raw
        assert base64.b64encode(form.encode()) not in raw
        assert form.encode("utf-16-le") not in raw
    assert A1.name.encode() in raw  # names are not secret; they are the associated data


def test_file_and_directory_modes(store_path: Path, local_store: LocalEncryptedStore) -> None:
    local_store.put(A1, VALUE)
    assert stat.S_IMODE(store_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store_path.parent.stat().st_mode) == 0o700
    leftovers = [p.name for p in store_path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_values_are_checked_without_echo(local_store: LocalEncryptedStore) -> None:
    with pytest.raises(ValueError, match="empty"):
        local_store.put(A1, "")
    with pytest.raises(TypeError):
        local_store.put(A1, b"bytes")  # type: ignore[arg-type]
    big = "s" * (MAX_VALUE_BYTES + 1)
    with pytest.raises(ValueError, match="at most") as caught:
        local_store.put(A1, big)
    assert big not in str(caught.value)


def test_repr_hides_the_key(local_store: LocalEncryptedStore, local_key: bytes) -> None:
    text = repr(local_store)
    assert "secrets.json" in text
    assert local_key.hex() not in text
    assert base64.urlsafe_b64encode(local_key).decode() not in text


def test_bad_key_length_is_refused(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOKENROUTE_ENV", raising=False)
    with pytest.raises(ValueError, match="32 bytes"):
        LocalEncryptedStore(store_path, b"short")


def test_corrupt_file_is_a_clear_error(store_path: Path, local_store: LocalEncryptedStore) -> None:
    store_path.parent.mkdir(parents=True, exist_ok=True)
    store_path.write_text("{not json")
    with pytest.raises(SecretBackendError, match="not valid JSON"):
        local_store.get(A1)
    store_path.write_text('{"some": "other file"}')
    with pytest.raises(SecretBackendError, match="not a TokenRoute local secret store"):
        local_store.get(A1)


def test_refused_in_prod(store_path: Path, local_key: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOKENROUTE_ENV", raising=False)
    with pytest.raises(LocalStoreRefused, match="TOKENROUTE_ENV=prod"):
        LocalEncryptedStore(store_path, local_key, environment=Environment.PROD)
    monkeypatch.setenv("TOKENROUTE_ENV", "prod")
    with pytest.raises(LocalStoreRefused, match="TOKENROUTE_ENV=prod"):
        LocalEncryptedStore(store_path, local_key)
    assert not store_path.exists()


def test_concurrent_writers_in_threads_lose_nothing(
    store_path: Path, local_key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOKENROUTE_ENV", raising=False)
    shared = SecretRef.credential("ten_a", "prj_1", "shared")
    # Two store objects on one file: the per-path lock covers both.
    stores = [LocalEncryptedStore(store_path, local_key), LocalEncryptedStore(store_path, local_key)]
    results: dict[str, str] = {}
    results_lock = threading.Lock()
    start = threading.Barrier(8)

    def writer(worker: int) -> None:
        store = stores[worker % 2]
        start.wait()
        for i in range(15):
            own = SecretRef.credential("ten_a", "prj_1", f"w{worker}_{i}")
            own_value = f"own-{worker}-{i}"
            store.put(own, own_value)
            shared_value = f"shared-{worker}-{i}"
            version = store.put(shared, shared_value)
            with results_lock:
                results[own.name] = own_value
                results[version] = shared_value

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    reader = stores[0]
    assert len(reader.list_refs("ten_a", "prj_1")) == 8 * 15 + 1
    for worker in range(8):
        for i in range(15):
            own = SecretRef.credential("ten_a", "prj_1", f"w{worker}_{i}")
            assert reader.get(own) == results[own.name]
    versions = {key: value for key, value in results.items() if value.startswith("shared-")}
    assert len(versions) == 8 * 15
    for version, value in versions.items():
        assert reader.get(shared, version=version) == value


def _process_writer(path: str, key: bytes, worker: int) -> None:
    store = LocalEncryptedStore(Path(path), key)
    for i in range(10):
        store.put(SecretRef.credential("ten_p", None, f"p{worker}_{i}"), f"v{worker}_{i}")


def test_concurrent_writer_processes_lose_nothing(
    store_path: Path, local_key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOKENROUTE_ENV", raising=False)  # the spawned writers inherit the environment
    # fcntl.flock serializes processes (the local Functions host may run several workers).
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_process_writer, args=(str(store_path), local_key, n)) for n in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    store = LocalEncryptedStore(store_path, local_key)
    assert len(store.list_refs("ten_p")) == 30
    assert store.get(SecretRef.credential("ten_p", None, "p2_9")) == "v2_9"
