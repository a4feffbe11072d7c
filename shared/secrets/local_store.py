"""A local encrypted secret store for development: one JSON file, every value AES-256-GCM encrypted.

- Each value has its own random 96-bit nonce, and `<secret name>/<version>` as associated data:
  a ciphertext copied to another name (or version) does not decrypt.
- A key check (an empty message encrypted with the key) makes a wrong `LOCAL_SECRETS_KEY` fail
  at once with a clear message, before anything is written with a second key.
- Writes go to a temporary file in the same directory (mode 0600), then `os.replace`: a reader
  sees the old file or the new one, never half of one.
- Writers are serialized by a lock per file within the process and, on POSIX, by `fcntl.flock`
  on a lock file next to the store, so the worker processes of a local Functions host do not
  lose each other's writes. On Windows only the in-process lock applies (documented limit).

It is refused when `TOKENROUTE_ENV=prod`: production keeps secrets in Key Vault.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

from shared.config import Environment
from shared.secrets.backend import check_value, check_version
from shared.secrets.errors import LocalStoreRefused, SecretBackendError, SecretNotFound
from shared.secrets.names import SecretRef, scope_of

if sys.platform != "win32":
    import fcntl

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PATH = PROJECT_ROOT / ".tokenroute" / "secrets.json"  # .tokenroute/ is gitignored

_FORMAT = "tokenroute-local-secrets/1"
_KEY_CHECK_AAD = b"tokenroute-local-secrets/key-check"
_NONCE_BYTES = 12

# One lock per store file, shared by every instance in the process that opens the same path.
_PATH_LOCKS: dict[Path, threading.Lock] = {}
_PATH_LOCKS_GUARD = threading.Lock()

_T = TypeVar("_T")


def decode_local_key(key: SecretStr) -> bytes:
    """The 32 key bytes of `LOCAL_SECRETS_KEY` (URL-safe base64, as the settings validate it)."""
    try:
        raw = base64.urlsafe_b64decode(key.get_secret_value().strip().encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raw = b""
    if len(raw) != 32:
        raise ValueError("LOCAL_SECRETS_KEY must be 32 random bytes, URL-safe base64 encoded")
    return raw


def _lock_for(path: Path) -> threading.Lock:
    with _PATH_LOCKS_GUARD:
        return _PATH_LOCKS.setdefault(path, threading.Lock())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    return base64.b64decode(text.encode("ascii"), validate=True)


def _aad(name: str, version: str) -> bytes:
    return f"{name}/{version}".encode()


class LocalEncryptedStore:
    """A `SecretBackend` in one encrypted JSON file, for development and tests only."""

    def __init__(self, path: Path, key: bytes, *, environment: Environment | None = None) -> None:
        """Open (or prepare to create) the store at `path` with a 32-byte AES key.

        Raises `LocalStoreRefused` when `environment` or the process's `TOKENROUTE_ENV` is prod;
        the process check is a second guard for code that builds the store without settings.
        """
        process_env = os.environ.get("TOKENROUTE_ENV", "").strip().lower()
        if environment is Environment.PROD or process_env == Environment.PROD.value:
            raise LocalStoreRefused(
                "the local encrypted secret store is refused when TOKENROUTE_ENV=prod; "
                "set SECRETS_BACKEND=keyvault and KEYVAULT_URL"
            )
        if not isinstance(key, bytes) or len(key) != 32:
            raise ValueError("the local secret store key must be 32 bytes (AES-256)")
        self._path = Path(path).absolute()
        self._lock_path = self._path.with_name(self._path.name + ".lock")
        self._aead = AESGCM(key)
        self._thread_lock = _lock_for(self._path)

    def __repr__(self) -> str:
        return f"LocalEncryptedStore(path={str(self._path)!r})"

    @property
    def path(self) -> Path:
        """Where the store file lives."""
        return self._path

    # -- SecretBackend -------------------------------------------------------------------------

    def put(self, ref: SecretRef, value: str) -> str:
        """Encrypt `value` as the newest version of the secret; return the new version id."""
        plaintext = check_value(value).encode("utf-8")
        name = ref.name
        version = uuid.uuid4().hex
        nonce = os.urandom(_NONCE_BYTES)
        ciphertext = self._aead.encrypt(nonce, plaintext, _aad(name, version))
        entry = {
            "id": version,
            "created": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "nonce": _b64(nonce),
            "ciphertext": _b64(ciphertext),
        }

        def add(secrets: dict[str, Any]) -> None:
            record = secrets.setdefault(name, {"versions": []})
            record["tags"] = ref.tags
            record["versions"].append(entry)

        self._mutate(add)
        return version

    def get(self, ref: SecretRef, *, version: str | None = None) -> str:
        """Decrypt the newest version (or the given one); raise `SecretNotFound` when absent."""
        name = ref.name
        check_version(version)
        record = self._load().get(name)
        versions = record.get("versions", []) if isinstance(record, dict) else []
        if version is None:
            entry = versions[-1] if versions else None
        else:
            entry = next((item for item in versions if isinstance(item, dict) and item.get("id") == version), None)
        if not isinstance(entry, dict):
            raise SecretNotFound(ref, version)
        try:
            nonce = _unb64(entry.get("nonce"))
            ciphertext = _unb64(entry.get("ciphertext"))
            plaintext = self._aead.decrypt(nonce, ciphertext, _aad(name, str(entry.get("id"))))
        except (InvalidTag, ValueError, binascii.Error):
            # InvalidTag says nothing more: wrong key, altered bytes or an entry moved from another name.
            raise SecretBackendError(
                f"cannot decrypt secret {name} in {self._path}: the entry was altered, moved from another "
                "secret, or written with another LOCAL_SECRETS_KEY"
            ) from None
        return plaintext.decode("utf-8")

    def delete(self, ref: SecretRef) -> None:
        """Remove the secret and every version of it; nothing happens when it does not exist."""
        name = ref.name
        self._mutate(lambda secrets: secrets.pop(name, None))

    def list_refs(self, tenant_id: str, project_id: str | None = None) -> list[SecretRef]:
        """Every secret of the tenant (or of one of its projects), sorted by name."""
        scope_of(tenant_id, project_id)
        return self._refs_in_scope(self._load(), tenant_id, project_id)

    def delete_scope(self, tenant_id: str, project_id: str | None = None) -> int:
        """Delete every secret of the tenant (or of one project) in one write; return the count."""
        scope_of(tenant_id, project_id)

        def remove(secrets: dict[str, Any]) -> int:
            refs = self._refs_in_scope(secrets, tenant_id, project_id)
            for ref in refs:
                del secrets[ref.name]
            return len(refs)

        return self._mutate(remove)

    def close(self) -> None:
        """Nothing to release: the file is opened per operation."""

    # -- file handling -------------------------------------------------------------------------

    @staticmethod
    def _refs_in_scope(secrets: dict[str, Any], tenant_id: str, project_id: str | None) -> list[SecretRef]:
        refs = [SecretRef.parse(name) for name in secrets]
        return sorted(
            (ref for ref in refs if ref is not None and ref.in_scope(tenant_id, project_id)), key=lambda r: r.name
        )

    def _load(self) -> dict[str, Any]:
        """The `secrets` mapping of the file (empty when there is no file yet)."""
        document = self._read_document()
        return {} if document is None else document["secrets"]

    def _read_document(self) -> dict[str, Any] | None:
        """The whole file, checked (format, key, shape); None when it does not exist yet."""
        try:
            raw = self._path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            document = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise SecretBackendError(f"the local secret store {self._path} is not valid JSON") from None
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            raise SecretBackendError(f"{self._path} is not a TokenRoute local secret store ({_FORMAT})")
        self._check_key(document.get("key_check"))
        if not isinstance(document.get("secrets"), dict):
            raise SecretBackendError(f"the local secret store {self._path} has no 'secrets' object")
        return document

    def _check_key(self, key_check: object) -> None:
        try:
            blob = _unb64(key_check)
            self._aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], _KEY_CHECK_AAD)
        except (InvalidTag, ValueError, binascii.Error):
            raise SecretBackendError(
                f"LOCAL_SECRETS_KEY does not open the local secret store {self._path}: it was created with "
                "another key (restore that key, or move the file away to start a new store)"
            ) from None

    def _new_document(self) -> dict[str, Any]:
        nonce = os.urandom(_NONCE_BYTES)
        key_check = _b64(nonce + self._aead.encrypt(nonce, b"", _KEY_CHECK_AAD))
        return {"format": _FORMAT, "key_check": key_check, "secrets": {}}

    def _mutate(self, change: Callable[[dict[str, Any]], _T]) -> _T:
        """Read, change and atomically rewrite the file while holding the thread and file locks."""
        with self._thread_lock, self._file_lock():
            document = self._read_document() or self._new_document()
            result = change(document["secrets"])
            self._write(document)
            return result

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if sys.platform == "win32":
            yield
            return
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    def _write(self, document: dict[str, Any]) -> None:
        data = json.dumps(document, indent=1, sort_keys=True).encode("utf-8")
        # mkstemp creates the file with mode 0600, so the key material never sits world-readable.
        fd, tmp_name = tempfile.mkstemp(dir=self._path.parent, prefix=f".{self._path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, self._path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        self._fsync_directory()

    def _fsync_directory(self) -> None:
        # Makes the rename itself durable; not available on Windows.
        if sys.platform == "win32":
            return
        fd = os.open(self._path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
