"""An in-memory Azure Key Vault, plugged into the real SDK as an azure-core transport.

Key Vault cannot run on this machine (there is no emulator for it and no network), so this is
the one fake the test suite allows, and only for these tests. Everything above the HTTP layer
is the real azure-keyvault-secrets client: its pipeline, challenge authentication, retries,
paging and delete/recover pollers. The fake answers like the service does:

- a request without a bearer token gets `401` with a `WWW-Authenticate: Bearer
  authorization="https://login.microsoftonline.com/<tenant>", resource="https://vault.azure.net"`
  challenge, a request with an unknown token gets `401` too;
- `PUT /secrets/{name}`, `GET /secrets/{name}[/{version}]`, `GET /secrets` (paged with
  `nextLink`), `DELETE /secrets/{name}` (a DeletedSecretBundle), `GET /deletedsecrets[/{name}]`,
  `DELETE /deletedsecrets/{name}` (purge: 204, or 403 under purge protection) and
  `POST /deletedsecrets/{name}/recover`, with the service's JSON shapes and error bodies;
- names are case-insensitive and checked against Key Vault's rules; a deleted name cannot be
  reused until it is purged or recovered (409 `ObjectIsDeletedButRecoverable`); a deletion
  shows up in the deleted collection only after a poll or two, as in the real service.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest, HttpResponse
from azure.core.utils import case_insensitive_dict

TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
VAULT_URL = "https://tokenroute-test.vault.azure.net"
_NAME = re.compile(r"[0-9a-zA-Z-]{1,127}")
_RETENTION_DAYS = 90


class FakeCredential:
    """A `TokenCredential` that hands out one known token and records what was asked."""

    def __init__(self, token: str = "fake-vault-token") -> None:
        self.token = token
        self.calls: list[tuple[tuple[str, ...], str | None]] = []

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """Record the scopes and tenant, return a token valid for an hour."""
        self.calls.append((scopes, tenant_id))
        return AccessToken(self.token, int(time.time()) + 3600)


class FakeResponse(HttpResponse):
    """A complete, already-read `azure.core.rest.HttpResponse`."""

    def __init__(self, request: HttpRequest, status: int, body: bytes = b"", headers: dict[str, str] | None = None):
        self._request = request
        self._status = status
        self._body = body
        self._headers: MutableMapping[str, str] = case_insensitive_dict(headers or {})
        if body:
            self._headers.setdefault("Content-Type", "application/json; charset=utf-8")
        self._headers["Content-Length"] = str(len(body))
        self._headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
        self._encoding: str | None = None
        self._closed = False

    @property
    def request(self) -> HttpRequest:
        return self._request

    @property
    def status_code(self) -> int:
        return self._status

    @property
    def headers(self) -> MutableMapping[str, str]:
        return self._headers

    @property
    def reason(self) -> str:
        return HTTPStatus(self._status).phrase

    @property
    def content_type(self) -> str | None:
        return self._headers.get("Content-Type")

    @property
    def is_closed(self) -> bool:
        return self._closed

    @property
    def is_stream_consumed(self) -> bool:
        return self._closed

    @property
    def encoding(self) -> str | None:
        return self._encoding

    @encoding.setter
    def encoding(self, value: str | None) -> None:
        self._encoding = value

    @property
    def url(self) -> str:
        return self._request.url

    @property
    def content(self) -> bytes:
        return self._body

    def text(self, encoding: str | None = None) -> str:
        return self._body.decode(encoding or self._encoding or "utf-8")

    def json(self) -> Any:
        return json.loads(self._body)

    def raise_for_status(self) -> None:
        if self._status >= 400:
            raise HttpResponseError(response=self)

    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def close(self) -> None:
        self._closed = True

    def read(self) -> bytes:
        return self._body

    def iter_raw(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._body

    def iter_bytes(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._body


@dataclass
class SeenRequest:
    """What the vault received (the body only for assertions about it; it holds secret values)."""

    method: str
    path: str
    query: dict[str, str]
    authorization: str | None
    body: bytes
    status: int = 0


@dataclass
class _Version:
    version: str
    value: str
    created: int
    tags: dict[str, str] | None
    content_type: str | None


@dataclass
class _Secret:
    name: str
    versions: list[_Version] = field(default_factory=list)
    deleted_date: int | None = None
    polls_until_deleted: int = 0


class _Reply(Exception):  # control flow inside the fake: "reply with this"
    def __init__(self, status: int, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _error(status: int, code: str, message: str, inner: str | None = None) -> _Reply:
    error: dict[str, Any] = {"code": code, "message": message}
    if inner:
        error["innererror"] = {"code": inner}
    return _Reply(status, {"error": error})


class FakeVaultTransport(HttpTransport[HttpRequest, HttpResponse]):
    """Answers the SDK's requests like Key Vault, from memory (see the module docstring)."""

    def __init__(
        self,
        vault_url: str = VAULT_URL,
        *,
        token: str = "fake-vault-token",
        purge_protection: bool = False,
        deny_purge: bool = False,
        page_size: int = 2,
        polls_until_deleted: int = 1,
    ) -> None:
        self.vault_url = vault_url.rstrip("/")
        self.token = token
        self.purge_protection = purge_protection
        self.deny_purge = deny_purge
        self.page_size = page_size
        self.polls_until_deleted = polls_until_deleted
        self.requests: list[SeenRequest] = []
        self.sleeps: list[float] = []
        self.fail_next: list[_Reply] = []
        self._secrets: dict[str, _Secret] = {}
        self._deleted: dict[str, _Secret] = {}
        self._lock = threading.Lock()

    # -- test controls -------------------------------------------------------------------------

    def fail_next_request(self, status: int, code: str, message: str, inner: str | None = None) -> None:
        """Answer the next authenticated request with this error instead of serving it."""
        self.fail_next.append(_error(status, code, message, inner))

    def live_names(self) -> list[str]:
        """Names of live secrets, as created."""
        return sorted(secret.name for secret in self._secrets.values())

    def deleted_names(self) -> list[str]:
        """Names of soft-deleted secrets."""
        return sorted(secret.name for secret in self._deleted.values())

    def put_raw(self, name: str, value: str, tags: dict[str, str] | None = None) -> None:
        """Create a secret directly, as another tool (the portal, the CLI) would."""
        with self._lock:
            self._store_version(name, value, tags, None)

    def soft_delete_raw(self, name: str, *, pending_polls: int = 0) -> None:
        """Soft-delete a secret directly, as an earlier, interrupted delete would leave it.

        `pending_polls`: how many polls (or client waits) until the deletion has completed.
        """
        with self._lock:
            secret = self._secrets.pop(name.lower())
            secret.deleted_date = int(time.time())
            secret.polls_until_deleted = pending_polls
            self._deleted[name.lower()] = secret

    # -- HttpTransport -------------------------------------------------------------------------

    def open(self) -> None:
        """Nothing to open."""

    def close(self) -> None:
        """Nothing to close."""

    def __enter__(self) -> FakeVaultTransport:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def sleep(self, duration: float) -> None:
        """Record the wait instead of waiting (pollers and retries stay instant); pending deletions progress."""
        with self._lock:
            self.sleeps.append(duration)
            for secret in self._deleted.values():
                secret.polls_until_deleted = max(0, secret.polls_until_deleted - 1)

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """Serve one request."""
        parts = urlsplit(request.url)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        body = request.content
        raw = body.encode() if isinstance(body, str) else (body if isinstance(body, bytes) else b"")
        auth = request.headers.get("Authorization")
        with self._lock:
            seen = SeenRequest(request.method, unquote(parts.path), query, auth, raw)
            self.requests.append(seen)
            response = self._serve(request, parts.scheme, parts.hostname, seen)
            seen.status = response.status_code
            return response

    def _serve(self, request: HttpRequest, scheme: str, host: str | None, seen: SeenRequest) -> HttpResponse:
        try:
            if f"{scheme}://{host}" != self.vault_url:
                raise _error(404, "NotFound", "unknown host")
            if seen.authorization != f"Bearer {self.token}":
                raise self._challenge()
            if self.fail_next:
                raise self.fail_next.pop(0)
            if "api-version" not in seen.query:
                raise _error(400, "BadParameter", "The api-version query parameter is required")
            status, payload = self._route(seen.method, seen.path, seen.query, seen.body)
            return self._respond(request, status, payload)
        except _Reply as reply:
            return self._respond(request, reply.status, reply.body, reply.headers)

    # -- the REST API --------------------------------------------------------------------------

    def _challenge(self) -> _Reply:
        challenge = (
            f'Bearer authorization="https://login.microsoftonline.com/{TENANT_ID}", resource="https://vault.azure.net"'
        )
        return _Reply(
            401,
            {"error": {"code": "Unauthorized", "message": "AKV10000: Request is missing a Bearer or PoP token."}},
            {"WWW-Authenticate": challenge},
        )

    def _route(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, Any]:
        segments = [segment for segment in path.split("/") if segment]
        match method, segments:
            case "PUT", ["secrets", name]:
                return 200, self._set(name, json.loads(body or b"{}"))
            case "GET", ["secrets"]:
                return 200, self._page("secrets", list(self._secrets.values()), query)
            case "GET", ["secrets", name]:
                return 200, self._get(name, None)
            case "GET", ["secrets", name, version]:
                return 200, self._get(name, version)
            case "DELETE", ["secrets", name]:
                return 200, self._delete(name)
            case "GET", ["deletedsecrets"]:
                visible = [secret for secret in self._deleted.values() if secret.polls_until_deleted <= 0]
                return 200, self._page("deletedsecrets", visible, query)
            case "GET", ["deletedsecrets", name]:
                return 200, self._deleted_bundle(self._find_deleted(name, poll=True))
            case "DELETE", ["deletedsecrets", name]:
                self._purge(name)
                return 204, None
            case "POST", ["deletedsecrets", name, "recover"]:
                return 200, self._recover(name)
        raise _error(400, "BadParameter", f"Unsupported request {method} {path}")

    def _check_name(self, name: str) -> None:
        if not _NAME.fullmatch(name):
            raise _error(400, "BadParameter", f"The request URI contains an invalid name: {name}")

    def _store_version(self, name: str, value: str, tags: dict[str, str] | None, content_type: str | None) -> _Version:
        secret = self._secrets.setdefault(name.lower(), _Secret(name))
        version = _Version(uuid.uuid4().hex, value, int(time.time()), tags, content_type)
        secret.versions.append(version)
        return version

    def _set(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        self._check_name(name)
        deleted = self._deleted.get(name.lower())
        if deleted is not None:
            if deleted.polls_until_deleted > 0:
                raise _error(409, "Conflict", f"Secret {name} is currently being deleted.", "ObjectIsBeingDeleted")
            raise _error(
                409,
                "Conflict",
                f"Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; "
                "in this state, the secret can only be recovered or purged.",
                "ObjectIsDeletedButRecoverable",
            )
        value = payload.get("value")
        if not isinstance(value, str):
            raise _error(400, "BadParameter", "Property value is required")
        version = self._store_version(name, value, payload.get("tags"), payload.get("contentType"))
        return self._bundle(self._secrets[name.lower()], version, with_value=True)

    def _find(self, name: str) -> _Secret:
        secret = self._secrets.get(name.lower())
        if secret is None:
            raise _error(
                404,
                "SecretNotFound",
                f"A secret with (name/id) {name} was not found in this key vault. If you recently deleted this "
                "secret you may be able to recover it using the correct recovery command.",
            )
        return secret

    def _get(self, name: str, version: str | None) -> dict[str, Any]:
        secret = self._find(name)
        if not version:
            return self._bundle(secret, secret.versions[-1], with_value=True)
        for candidate in secret.versions:
            if candidate.version == version:
                return self._bundle(secret, candidate, with_value=True)
        raise _error(404, "SecretNotFound", f"A secret with (name/id) {name}/{version} was not found in this vault.")

    def _delete(self, name: str) -> dict[str, Any]:
        secret = self._find(name)
        del self._secrets[name.lower()]
        secret.deleted_date = int(time.time())
        secret.polls_until_deleted = self.polls_until_deleted
        self._deleted[name.lower()] = secret
        return self._deleted_bundle(secret)

    def _find_deleted(self, name: str, *, poll: bool = False) -> _Secret:
        secret = self._deleted.get(name.lower())
        if secret is not None and poll and secret.polls_until_deleted > 0:
            # Deletion takes a moment: the deleted secret is not readable yet.
            secret.polls_until_deleted -= 1
            secret = None
        if secret is None:
            raise _error(404, "SecretNotFound", f"Deleted Secret not found: {name}")
        return secret

    def _purge(self, name: str) -> None:
        if self.purge_protection:
            raise _error(
                403,
                "Forbidden",
                'Operation "purge" is not allowed because purge protection is enabled for this vault. '
                "Key Vault service will automatically purge it after the retention period has passed.",
            )
        if self.deny_purge:
            raise _error(
                403,
                "Forbidden",
                "The user, group or application does not have secrets purge permission on key vault.",
                "ForbiddenByRbac",
            )
        secret = self._find_deleted(name)
        if secret.polls_until_deleted > 0:
            raise _error(409, "Conflict", f"Secret {name} is currently being deleted.", "ObjectIsBeingDeleted")
        del self._deleted[name.lower()]

    def _recover(self, name: str) -> dict[str, Any]:
        secret = self._find_deleted(name)
        del self._deleted[name.lower()]
        secret.deleted_date = None
        self._secrets[name.lower()] = secret
        return self._bundle(secret, secret.versions[-1], with_value=False)

    # -- JSON shapes ---------------------------------------------------------------------------

    def _attributes(self, version: _Version) -> dict[str, Any]:
        return {
            "enabled": True,
            "created": version.created,
            "updated": version.created,
            "recoveryLevel": "Recoverable" if self.purge_protection else "Recoverable+Purgeable",
            "recoverableDays": _RETENTION_DAYS,
        }

    def _bundle(self, secret: _Secret, version: _Version, *, with_value: bool) -> dict[str, Any]:
        bundle: dict[str, Any] = {
            "id": f"{self.vault_url}/secrets/{secret.name}/{version.version}",
            "attributes": self._attributes(version),
        }
        if with_value:
            bundle["value"] = version.value
        if version.tags is not None:
            bundle["tags"] = version.tags
        if version.content_type is not None:
            bundle["contentType"] = version.content_type
        return bundle

    def _deleted_bundle(self, secret: _Secret) -> dict[str, Any]:
        bundle = self._bundle(secret, secret.versions[-1], with_value=False)
        deleted_date = secret.deleted_date or int(time.time())
        bundle["recoveryId"] = f"{self.vault_url}/deletedsecrets/{secret.name}"
        bundle["deletedDate"] = deleted_date
        bundle["scheduledPurgeDate"] = deleted_date + _RETENTION_DAYS * 86400
        return bundle

    def _item(self, collection: str, secret: _Secret) -> dict[str, Any]:
        latest = secret.versions[-1]
        item: dict[str, Any] = {"id": f"{self.vault_url}/secrets/{secret.name}", "attributes": self._attributes(latest)}
        if latest.tags is not None:
            item["tags"] = latest.tags
        if latest.content_type is not None:
            item["contentType"] = latest.content_type
        if collection == "deletedsecrets":
            item["recoveryId"] = f"{self.vault_url}/deletedsecrets/{secret.name}"
            item["deletedDate"] = secret.deleted_date
            item["scheduledPurgeDate"] = (secret.deleted_date or 0) + _RETENTION_DAYS * 86400
        return item

    def _page(self, collection: str, secrets: list[_Secret], query: dict[str, str]) -> dict[str, Any]:
        ordered = sorted(secrets, key=lambda secret: secret.name.lower())
        size = min(int(query.get("maxresults", self.page_size)), self.page_size)
        token = query.get("$skiptoken")
        start = int(base64.urlsafe_b64decode(token).decode()) if token else 0
        page: dict[str, Any] = {"value": [self._item(collection, secret) for secret in ordered[start : start + size]]}
        if start + size < len(ordered):
            skip = base64.urlsafe_b64encode(str(start + size).encode()).decode()
            # Real next links name the default port; the SDK's challenge cache treats both forms alike.
            host = urlsplit(self.vault_url).hostname
            page["nextLink"] = (
                f"https://{host}:443/{collection}?api-version={query['api-version']}&$skiptoken={skip}&maxresults={size}"
            )
        else:
            page["nextLink"] = None
        return page

    def _respond(
        self, request: HttpRequest, status: int, payload: Any, headers: dict[str, str] | None = None
    ) -> HttpResponse:
        body = b"" if payload is None else json.dumps(payload).encode()
        return FakeResponse(request, status, body, headers)
