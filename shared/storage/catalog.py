"""Every table, blob container and queue TokenRoute uses, in one place.

Add a name here (with a line saying what it holds) before using it anywhere; the deployment
infrastructure and its test read these mappings, and `tests/storage/test_catalog.py` checks every
name against the service's naming rules. Queues listed here get a `<name>-poison` twin.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from shared.storage.names import poison_name

HEALTH_TABLE: Final = "health"
HEALTH_CONTAINER: Final = "health"
HEALTH_QUEUE: Final = "health"

TENANTS_TABLE: Final = "tenants"
MEMBERSHIPS_TABLE: Final = "memberships"
USER_TENANTS_TABLE: Final = "usertenants"
PROJECTS_TABLE: Final = "projects"
API_KEYS_TABLE: Final = "apikeys"
API_KEY_INDEX_TABLE: Final = "apikeyindex"
AUDIT_TABLE: Final = "audit"
DELETIONS_TABLE: Final = "deletions"
CREDENTIALS_TABLE: Final = "credentials"
SUITES_TABLE: Final = "suites"
SUITE_VERSIONS_TABLE: Final = "suiteversions"
SUITES_CONTAINER: Final = "suites"
RUNS_TABLE: Final = "runs"
RUN_SHARDS_TABLE: Final = "runshards"
RESULTS_TABLE: Final = "results"
OUTPUTS_CONTAINER: Final = "outputs"
RUN_SHARDS_QUEUE: Final = "run-shards"
CREDENTIAL_VALIDATIONS_QUEUE: Final = "credential-validations"
PRICE_OVERRIDES_TABLE: Final = "priceoverrides"
ROUTE_DECISIONS_TABLE: Final = "routedecisions"
CURRENT_ROUTES_TABLE: Final = "currentroutes"
DECISIONS_CONTAINER: Final = "decisions"
ACTIVATION_TABLE: Final = "activation"
DELETIONS_QUEUE: Final = "deletions"
EXPORTS_TABLE: Final = "exports"
PACKS_CONTAINER: Final = "packs"
EXPORTS_QUEUE: Final = "exports"
SCHEDULES_TABLE: Final = "schedules"
SCHEDULE_FIRINGS_TABLE: Final = "schedulefirings"
RUN_COMPLETIONS_TABLE: Final = "runcompletions"
ROLLUP_PARTS_TABLE: Final = "rollupparts"
ROLLUPS_TABLE: Final = "rollups"
ROLLUP_WATERMARKS_TABLE: Final = "rollupwatermarks"
ROLLUP_WORK_TABLE: Final = "rollupwork"
DRIFT_EVENTS_TABLE: Final = "driftevents"
PROVIDER_CALLS_TABLE: Final = "providercalls"
INTELLIGENCE_TABLE: Final = "intelligence"

TABLES: Final[Mapping[str, str]] = MappingProxyType(
    {
        HEALTH_TABLE: "round trips of the health probe (written and deleted at once)",
        TENANTS_TABLE: "one row per tenant (Clerk organization or personal workspace)",
        MEMBERSHIPS_TABLE: "a tenant's members and their roles",
        USER_TENANTS_TABLE: "the tenants each user belongs to (for /me)",
        PROJECTS_TABLE: "projects per tenant",
        API_KEYS_TABLE: "project API keys: HMAC of the secret, scopes, last use, revocation",
        API_KEY_INDEX_TABLE: "key id -> tenant and project of the key (no secret)",
        DELETIONS_TABLE: "tombstones of deleted resources, pending their cascade",
        CREDENTIALS_TABLE: "provider credential metadata (fingerprint, validation); keys live in the secret backend",
        SUITES_TABLE: "one row per suite: name, description, latest version, version count",
        SUITE_VERSIONS_TABLE: "one row per immutable suite version (named by its SHA-256)",
        RUNS_TABLE: "benchmark runs: suite version, targets, status, estimate",
        RUN_SHARDS_TABLE: "per-shard progress of each run (written only by the shard's worker)",
        RESULTS_TABLE: "one row per run, target, case and trial: output, scores, usage, cost, latency",
        AUDIT_TABLE: "append-only audit trail per tenant and project, newest first",
        PRICE_OVERRIDES_TABLE: "one row per project: the model prices that replace or add to the shipped table",
        ROUTE_DECISIONS_TABLE: "one row per route decision: task, chosen target, content hash, superseded_by",
        CURRENT_ROUTES_TABLE: "one row per project and task: the current route gateways read with one point read",
        ACTIVATION_TABLE: "the first time each tenant reached each activation step (no prompts, no keys)",
        EXPORTS_TABLE: "one row per export (benchmark pack): kind, subject, status, blob name, size and SHA-256",
        SCHEDULES_TABLE: "scheduled benchmarks per project: suite version, targets, NCRONTAB schedule, budget, paused",
        SCHEDULE_FIRINGS_TABLE: "one row per schedule and due time: the claim that starts its run exactly once",
        RUN_COMPLETIONS_TABLE: "one row per run that reached a terminal status, by finish time (the rollup feed)",
        ROLLUP_PARTS_TABLE: "mergeable aggregates of one run, target and hour (rollups are merges of these)",
        ROLLUPS_TABLE: "hourly and daily trend points per project, suite, target: merged aggregates with sketches",
        ROLLUP_WATERMARKS_TABLE: "one row per project: how far into run completions the rollup has read",
        ROLLUP_WORK_TABLE: "one row per hour and project with run completions written then (the rollup's to-do list)",
        DRIFT_EVENTS_TABLE: "drift events per project: a measurement outside its baseline's interval",
        PROVIDER_CALLS_TABLE: "provider status: calls, errors, rate limits, latency per project, model and minute",
        INTELLIGENCE_TABLE: "published cross-tenant aggregates per public model (opted-in projects, >= 5 tenants)",
    }
)

CONTAINERS: Final[Mapping[str, str]] = MappingProxyType(
    {
        HEALTH_CONTAINER: "round trips of the health probe (written and deleted at once)",
        SUITES_CONTAINER: "suite versions as canonical JSON, <tenant>/<project>/<suite>/<sha256>.json (immutable)",
        OUTPUTS_CONTAINER: "model outputs too large for a table row, one blob per result",
        DECISIONS_CONTAINER: "route decisions as canonical JSON, <tenant>/<project>/<task>/<sha256>.json (immutable)",
        PACKS_CONTAINER: "benchmark packs (zip), <tenant>/<project>/<export id>.zip; read through short SAS links",
    }
)

QUEUES: Final[Mapping[str, str]] = MappingProxyType(
    {
        HEALTH_QUEUE: "round trips of the health probe (no trigger reads it)",
        RUN_SHARDS_QUEUE: "one message per run shard: run it (ids only)",
        CREDENTIAL_VALIDATIONS_QUEUE: "one message per requested credential validation (ids only, never the key)",
        DELETIONS_QUEUE: "one message per tombstone: run its cascade deletion (ids only)",
        EXPORTS_QUEUE: "one message per requested export: build its pack (ids only)",
    }
)


def all_queue_names() -> list[str]:
    """Every queue to provision: the ones above and their poison twins."""
    return sorted({*QUEUES, *(poison_name(name) for name in QUEUES)})
