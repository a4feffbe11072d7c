"""One storage account: the three service clients, built once from `StorageSettings` and reused.

Two ways in, mirroring the Functions host's `AzureWebJobsStorage` setting:

- a connection string (an account key; locally Azurite, `UseDevelopmentStorage=true` included);
- identity-based `AzureWebJobsStorage__*` settings (Azure): a token credential and service URIs,
  given explicitly or derived from the account name.

The clients are the SYNC SDK clients (requests transport); async callers wrap calls with
`asyncio.to_thread`. Credentials never appear in `repr`/`str`.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Final, Literal

import requests
import requests.adapters
from azure.core.credentials import AzureNamedKeyCredential, TokenCredential
from azure.core.pipeline.transport import RequestsTransport
from azure.data.tables import TableClient, TableServiceClient
from azure.identity import DefaultAzureCredential
from azure.storage.blob import BlobServiceClient, ContainerClient
from azure.storage.blob import ExponentialRetry as BlobRetry
from azure.storage.queue import ExponentialRetry as QueueRetry
from azure.storage.queue import QueueClient, QueueServiceClient

from shared.config.settings import DEV_STORAGE, StorageSettings
from shared.storage.emulator import DEV_ACCOUNT, DEV_ACCOUNT_KEY

# Azurite's default endpoints, which `UseDevelopmentStorage=true` means.
DEV_BLOB_ENDPOINT: Final = f"http://127.0.0.1:10000/{DEV_ACCOUNT}"
DEV_QUEUE_ENDPOINT: Final = f"http://127.0.0.1:10001/{DEV_ACCOUNT}"
DEV_TABLE_ENDPOINT: Final = f"http://127.0.0.1:10002/{DEV_ACCOUNT}"

# A connect attempt to a black-holed address would otherwise wait azure-core's default 300 s.
CONNECTION_TIMEOUT_S: Final = 10
READ_TIMEOUT_S: Final = 60
POOL_SIZE: Final = 64
# Downloads come in 4 MiB pieces (the SDK default fetches up to 32 MiB at once), so streaming a
# large blob holds one piece in memory at a time.
BLOB_CHUNK_BYTES: Final = 4 * 1024 * 1024

Service = Literal["blob", "queue", "table"]


class ConnectionStringError(ValueError):
    """The connection string cannot be used; the message names the problem, never the value."""


def parse_connection_string(value: str) -> dict[str, str]:
    """Split `Key=Value;...` into a dict with lower-cased keys (values may contain `=`)."""
    parts: dict[str, str] = {}
    for item in value.strip().split(";"):
        if not item.strip():
            continue
        key, sep, val = item.partition("=")
        if not sep:
            raise ConnectionStringError("AzureWebJobsStorage: every part must look like Key=Value")
        parts[key.strip().lower()] = val.strip()
    return parts


class StorageAccount:
    """The blob, queue and table service clients of one account, sharing one credential."""

    def __init__(
        self,
        *,
        blob_url: str,
        queue_url: str,
        table_url: str,
        credential: AzureNamedKeyCredential | TokenCredential,
        account_name: str | None = None,
    ) -> None:
        """Build the three clients (no network call happens here)."""
        self._credential = credential
        # One HTTP session for the three clients: a pool big enough for the worker's concurrent storage
        # calls (requests keeps 10 by default and opens a new connection past that), and no lookup of
        # proxies or ~/.netrc on every request.
        self._session = requests.Session()
        self._session.trust_env = False
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        common: dict[str, Any] = {
            "connection_timeout": CONNECTION_TIMEOUT_S,
            "read_timeout": READ_TIMEOUT_S,
            "transport": RequestsTransport(session=self._session, session_owner=False),
        }
        # The storage SDKs back off from 15 s by default: a request would hang for a minute on an
        # unreachable store. Three quick retries ride out a blip; callers see the outage in seconds.
        self.blob_service: Final = BlobServiceClient(
            account_url=blob_url,
            credential=credential,
            max_single_get_size=BLOB_CHUNK_BYTES,
            max_chunk_get_size=BLOB_CHUNK_BYTES,
            retry_policy=BlobRetry(initial_backoff=1, increment_base=2, retry_total=3, random_jitter_range=1),
            **common,
        )
        self.queue_service: Final = QueueServiceClient(
            account_url=queue_url,
            credential=credential,
            retry_policy=QueueRetry(initial_backoff=1, increment_base=2, retry_total=3, random_jitter_range=1),
            **common,
        )
        self.table_service: Final = TableServiceClient(
            endpoint=table_url, credential=credential, retry_total=3, retry_backoff_factor=0.5, **common
        )
        name = account_name or self.blob_service.account_name
        if not name:
            raise ValueError(
                f"cannot tell the storage account name from {blob_url}; set AzureWebJobsStorage__accountName"
            )
        self.account_name: Final[str] = name
        self._tables: dict[str, TableClient] = {}

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_settings(cls, settings: StorageSettings) -> StorageAccount:
        """The account described by the settings: a connection string wins over identity-based keys."""
        if settings.connection_string is not None and settings.connection_string.get_secret_value().strip():
            return cls.from_connection_string(settings.connection_string.get_secret_value())
        return cls.from_identity(settings)

    @classmethod
    def from_connection_string(cls, value: str) -> StorageAccount:
        """An account-key account from a connection string; `UseDevelopmentStorage=true` means local Azurite."""
        if value.strip().lower() == DEV_STORAGE.lower():
            return cls(
                blob_url=DEV_BLOB_ENDPOINT,
                queue_url=DEV_QUEUE_ENDPOINT,
                table_url=DEV_TABLE_ENDPOINT,
                credential=AzureNamedKeyCredential(DEV_ACCOUNT, DEV_ACCOUNT_KEY),
                account_name=DEV_ACCOUNT,
            )
        parts = parse_connection_string(value)
        if "sharedaccesssignature" in parts:
            # A SAS cannot sign further SAS links nor create tables reliably; refuse it plainly.
            raise ConnectionStringError("AzureWebJobsStorage: SAS connection strings are not supported; use a key")
        name, key = parts.get("accountname"), parts.get("accountkey")
        if not name or not key:
            raise ConnectionStringError("AzureWebJobsStorage: the connection string needs AccountName and AccountKey")
        protocol = parts.get("defaultendpointsprotocol", "https")
        suffix = parts.get("endpointsuffix", "core.windows.net")

        def endpoint(service: Service) -> str:
            return parts.get(f"{service}endpoint") or f"{protocol}://{name}.{service}.{suffix}"

        return cls(
            blob_url=endpoint("blob"),
            queue_url=endpoint("queue"),
            table_url=endpoint("table"),
            credential=AzureNamedKeyCredential(name, key),
            account_name=name,
        )

    @classmethod
    def from_identity(cls, settings: StorageSettings) -> StorageAccount:
        """A token-credential account from the host's identity-based `AzureWebJobsStorage__*` settings."""
        mode = (settings.credential or "").strip().lower()
        if mode not in ("", "managedidentity"):
            raise ValueError("AzureWebJobsStorage__credential: the only supported value is 'managedidentity'")
        name = settings.account_name

        def uri(explicit: object, service: Service) -> str:
            if explicit is not None:
                return str(explicit)
            if not name:
                raise ValueError(f"AzureWebJobsStorage__{service}ServiceUri or __accountName is required")
            return f"https://{name}.{service}.core.windows.net"

        blob_url = uri(settings.blob_service_uri, "blob")
        queue_url = uri(settings.queue_service_uri, "queue")
        table_url = uri(settings.table_service_uri, "table")
        # DefaultAzureCredential finds the managed identity in Azure (a user-assigned one by its
        # client id) and a developer's az login elsewhere.
        credential = (
            DefaultAzureCredential(managed_identity_client_id=settings.client_id)
            if settings.client_id
            else DefaultAzureCredential()
        )
        return cls(
            blob_url=blob_url, queue_url=queue_url, table_url=table_url, credential=credential, account_name=name
        )

    # -- what the repositories use ------------------------------------------------------------

    @property
    def uses_account_key(self) -> bool:
        """True when requests are signed with the account key (connection string, Azurite)."""
        return isinstance(self._credential, AzureNamedKeyCredential)

    @property
    def uses_token_credential(self) -> bool:
        """True when requests carry Entra ID tokens (identity-based settings, Azure)."""
        return not self.uses_account_key

    @property
    def named_key(self) -> AzureNamedKeyCredential | None:
        """The account key credential, for signing SAS links locally; None with a token credential."""
        return self._credential if isinstance(self._credential, AzureNamedKeyCredential) else None

    @property
    def token_credential(self) -> TokenCredential | None:
        """The token credential, for user-delegation SAS in Azure; None with an account key."""
        return None if isinstance(self._credential, AzureNamedKeyCredential) else self._credential

    def table_client(self, name: str) -> TableClient:
        """A client for one table; cached so its pipeline is built once per process."""
        client = self._tables.get(name)
        if client is None:
            client = self._tables.setdefault(name, self.table_service.get_table_client(name))
        return client

    def container_client(self, name: str) -> ContainerClient:
        """A client for one blob container (cheap: it shares the service client's pipeline)."""
        return self.blob_service.get_container_client(name)

    def queue_client(self, name: str) -> QueueClient:
        """A client for one queue, sending message text as is (host.json: `messageEncoding: none`)."""
        return self.queue_service.get_queue_client(name)

    def close(self) -> None:
        """Close the connection pools."""
        for client in self._tables.values():
            client.close()
        self.blob_service.close()
        self.queue_service.close()
        self.table_service.close()
        self._session.close()

    def __enter__(self) -> StorageAccount:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        auth = "account key" if self.uses_account_key else "token credential"
        return f"StorageAccount({self.account_name!r}, {auth}, blob={self.blob_service.url!r})"

    __str__ = __repr__
