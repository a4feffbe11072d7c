"""The process-wide objects built once from settings and handed to the code that needs them.

Clients are created lazily, so importing the Function App makes no network call; tests build
`Services` with their own settings, clock or secret backend.
"""

from __future__ import annotations

import base64
import secrets
from functools import cached_property

import httpx

from shared.auth.callers import Authenticator
from shared.auth.clerk_tokens import SessionTokenVerifier
from shared.clock import Clock, SystemClock
from shared.config import Settings
from shared.credentials.store import CredentialStore
from shared.exports.store import ExportStore
from shared.lifecycle.activation import ActivationLog
from shared.lifecycle.cascade import Purger
from shared.lifecycle.retention import RetentionSweeper
from shared.pricing.overrides import PriceOverrideStore, project_price_table
from shared.pricing.table import PriceTable
from shared.providers.client import new_http_client
from shared.providers.status import ProviderStatusStore
from shared.routing.store import DecisionStore
from shared.runs.launch import Launcher
from shared.runs.results import ResultStore
from shared.runs.store import RunStore
from shared.runs.targets import CallPolicy
from shared.runs.worker import ShardWorker
from shared.schedules.firing import ScheduleFirer
from shared.schedules.store import ScheduleStore
from shared.secrets import SecretBackend, SecretNotFound, SecretRef, secret_backend_from_settings
from shared.storage import QueueSender
from shared.storage.account import StorageAccount
from shared.storage.catalog import DELETIONS_QUEUE
from shared.suites.store import SuiteStore
from shared.tenancy.api_key_store import ApiKeyStore
from shared.tenancy.audit import AuditLog
from shared.tenancy.projects import ProjectStore
from shared.tenancy.tenants import TenantDirectory
from shared.trends.drift import DriftDetector
from shared.trends.intelligence import IntelligencePublisher
from shared.trends.rollup import Rollup


class Services:
    """Everything an HTTP route or a job needs from the outside world."""

    def __init__(
        self,
        settings: Settings,
        *,
        storage: StorageAccount | None = None,
        clock: Clock | None = None,
        secret_backend: SecretBackend | None = None,
        call_policy: CallPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.storage = storage or StorageAccount.from_settings(settings.storage)
        self.clock: Clock = clock or SystemClock()
        self.call_policy = call_policy or CallPolicy()
        self._secret_backend = secret_backend
        self._http: httpx.AsyncClient | None = None

    @cached_property
    def secrets(self) -> SecretBackend:
        """Key Vault in Azure, the encrypted local store in development."""
        return self._secret_backend or secret_backend_from_settings(self.settings)

    @cached_property
    def pepper(self) -> bytes:
        """The API-key hashing pepper, created in the secret backend on first use."""
        ref = SecretRef.pepper()
        try:
            value = self.secrets.get(ref)
        except SecretNotFound:
            self.secrets.put(ref, base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
            # Read back the latest version: if two processes raced, both settle on the same one.
            value = self.secrets.get(ref)
        return base64.urlsafe_b64decode(value.encode())

    @cached_property
    def directory(self) -> TenantDirectory:
        """Tenants and memberships."""
        return TenantDirectory(self.storage, self.clock)

    @cached_property
    def projects(self) -> ProjectStore:
        """Projects."""
        return ProjectStore(self.storage, self.clock)

    @cached_property
    def api_keys(self) -> ApiKeyStore:
        """Project API keys."""
        return ApiKeyStore(self.storage, self.clock, self.pepper)

    @cached_property
    def audit(self) -> AuditLog:
        """The audit trail."""
        return AuditLog(self.storage, self.clock)

    @cached_property
    def session_verifier(self) -> SessionTokenVerifier | None:
        """Clerk session verification, or None when Clerk is not configured (API keys only)."""
        if not self.settings.clerk_issuer:
            return None
        return SessionTokenVerifier.from_settings(self.settings)

    @cached_property
    def authenticator(self) -> Authenticator:
        """Resolves callers from what requests present."""
        return Authenticator(
            verifier=self.session_verifier,
            directory=self.directory,
            api_keys=self.api_keys,
            authorized_parties=self.settings.clerk_authorized_parties,
        )

    @cached_property
    def credentials(self) -> CredentialStore:
        """Provider credentials (metadata in Tables, keys in the secret backend)."""
        return CredentialStore(self.storage, self.secrets, self.clock)

    @cached_property
    def suites(self) -> SuiteStore:
        """Suites and their immutable versions."""
        return SuiteStore(self.storage, self.clock)

    @cached_property
    def runs(self) -> RunStore:
        """Runs, shards and shard messages."""
        return RunStore(self.storage, self.clock)

    @cached_property
    def results(self) -> ResultStore:
        """Run results and large outputs."""
        return ResultStore(self.storage)

    @cached_property
    def price_overrides(self) -> PriceOverrideStore:
        """Per-project price overrides (see `shared.pricing.overrides.project_price_table`)."""
        return PriceOverrideStore(self.storage, self.clock)

    @cached_property
    def route_decisions(self) -> DecisionStore:
        """Route decisions (immutable, content-addressed) and the current route per task."""
        return DecisionStore(self.storage, self.clock)

    @cached_property
    def exports(self) -> ExportStore:
        """Exports (benchmark packs): rows, zip blobs and the build queue."""
        return ExportStore(self.storage, self.clock)

    @cached_property
    def schedules(self) -> ScheduleStore:
        """Scheduled benchmarks and their firings."""
        return ScheduleStore(self.storage, self.clock)

    @cached_property
    def schedule_firer(self) -> ScheduleFirer:
        """Starts due schedules' runs, each once (the every-minute timer)."""
        return ScheduleFirer(
            schedules=self.schedules,
            launcher=Launcher(self.suites, self.credentials, self.runs, self.clock),
            prices=self.prices,
            project_exists=lambda tenant_id, project_id: self.projects.find(tenant_id, project_id) is not None,
            clock=self.clock,
        )

    @cached_property
    def provider_status(self) -> ProviderStatusStore:
        """Provider calls per project, model and minute (written by the shard worker), and their status."""
        return ProviderStatusStore(self.storage, self.clock)

    @cached_property
    def activation(self) -> ActivationLog:
        """First-time activation events per tenant."""
        return ActivationLog(self.storage, self.clock)

    @cached_property
    def deletion_queue(self) -> QueueSender:
        """Cascade deletion messages (ids only), consumed by `shared.jobs.lifecycle`."""
        return QueueSender(self.storage, DELETIONS_QUEUE)

    @cached_property
    def purger(self) -> Purger:
        """Cascade deletion of tenants, projects, runs and suites (receipts in the audit trail or `deletions`)."""
        return Purger(self.storage, self.secrets, self.audit, self.clock, self.deletion_queue)

    @cached_property
    def retention(self) -> RetentionSweeper:
        """The daily retention sweep."""
        return RetentionSweeper(self.storage, self.audit, self.clock, cited=self.route_decisions.cited_runs)

    @cached_property
    def drift(self) -> DriftDetector:
        """Drift detection (the rollup's hook) and the drift events it stores."""
        return DriftDetector(self.storage, self.clock, runs=self.runs, decisions=self.route_decisions)

    @cached_property
    def intelligence(self) -> IntelligencePublisher:
        """The opt-in cross-tenant aggregates: the daily publication and its reader."""
        return IntelligencePublisher(self.storage, self.clock)

    @cached_property
    def rollup(self) -> Rollup:
        """The incremental trends rollup (the five-minute timer); drift detection hooks in after it."""
        return Rollup(self.storage, self.clock, after_rollup=self.drift.after_rollup)

    def prices(self, tenant_id: str, project_id: str) -> PriceTable:
        """The prices a project's costs use: the shipped table with the project's overrides."""
        return project_price_table(self.price_overrides, tenant_id, project_id)

    def http(self) -> httpx.AsyncClient:
        """The one HTTP client for provider calls, SSRF-guarded; made on first use (in the running loop)."""
        if self._http is None:
            self._http = new_http_client(allow_private=self.settings.allow_private_endpoints)
        return self._http

    @cached_property
    def shard_worker(self) -> ShardWorker:
        """Runs shard messages."""
        return ShardWorker(
            runs=self.runs,
            results=self.results,
            suites=self.suites,
            credentials=self.credentials,
            prices=self.prices,
            http=self.http,
            clock=self.clock,
            policy=self.call_policy,
            provider_calls=self.provider_status,
        )

    def ensure_storage(self) -> None:
        """Create every table, container and queue this process uses (idempotent; run at start-up)."""
        for store in (
            self.directory,
            self.projects,
            self.api_keys,
            self.audit,
            self.credentials,
            self.suites,
            self.runs,
            self.results,
            self.price_overrides,
            self.route_decisions,
            self.exports,
            self.schedules,
            self.activation,
            self.provider_status,
            self.deletion_queue,
            self.rollup,
            self.drift,
            self.intelligence,
        ):
            store.ensure()
