"""Starting a run: check what it refers to, estimate, refuse beyond the budget, store and enqueue."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shared.clock import Clock
from shared.credentials.store import CredentialStore
from shared.ids import newest_first_id
from shared.pricing.table import PriceTable
from shared.runs.models import RunCreate, RunRecord, RunStatus
from shared.runs.planning import Estimate, check_targets, estimate_run
from shared.runs.sharding import plan_shards
from shared.runs.store import RunStore
from shared.suites.models import SuiteContent
from shared.suites.store import SuiteStore


class BudgetExceeded(Exception):
    """The estimate is above the budget; nothing was stored."""

    def __init__(self, estimate: Estimate, budget: Decimal) -> None:
        super().__init__(f"the estimated cost {estimate.total_usd:.4f} USD exceeds the budget {budget} USD")
        self.estimate = estimate
        self.budget = budget


@dataclass(frozen=True)
class Launcher:
    """What starting a run needs."""

    suites: SuiteStore
    credentials: CredentialStore
    runs: RunStore
    clock: Clock

    def check(
        self, tenant_id: str, project_id: str, request: RunCreate, prices: PriceTable
    ) -> tuple[SuiteContent, Estimate]:
        """Validate and estimate without storing anything (also how a schedule is checked). Raises
        `PlanError`, `BudgetExceeded`, or `NotFound` for a suite or version that is not in the project."""
        content = self.suites.get_version_content(tenant_id, project_id, request.suite_id, request.version)
        return content, self.check_content(tenant_id, project_id, content, request, prices)

    def check_content(
        self, tenant_id: str, project_id: str, content: SuiteContent, request: RunCreate, prices: PriceTable
    ) -> Estimate:
        """`check` for a suite version not stored yet (an import checks its replay before creating the
        suite). Raises `PlanError` or `BudgetExceeded`."""
        credentials: dict[str, str] = {}
        for target in request.targets:
            if target.credential_id is not None:
                record = self.credentials.find(tenant_id, project_id, target.credential_id)
                if record is not None:
                    credentials[target.credential_id] = record.provider
        check_targets(request.targets, credentials)
        estimate = estimate_run(content, request, prices)
        if request.budget_usd is not None and estimate.total_usd > request.budget_usd:
            raise BudgetExceeded(estimate, request.budget_usd)
        return estimate

    def start(
        self,
        tenant_id: str,
        project_id: str,
        request: RunCreate,
        created_by: str,
        prices: PriceTable,
        *,
        run_id: str | None = None,
        schedule_id: str | None = None,
    ) -> tuple[RunRecord, Estimate]:
        """Validate, estimate, store the run and its shards, enqueue them; raises as `check` does.

        A schedule passes the `run_id` its firing claimed, so a retried launch cannot make a second run."""
        content, estimate = self.check(tenant_id, project_id, request, prices)
        plans = plan_shards(len(content.cases), len(request.targets))
        now = self.clock.now()
        run = RunRecord(
            partition_key=f"{tenant_id}~{project_id}",
            row_key=run_id or newest_first_id("run", now),
            suite_id=request.suite_id,
            version=request.version,
            targets=request.targets,
            trials=request.trials,
            concurrency=request.concurrency,
            budget_usd=str(request.budget_usd) if request.budget_usd is not None else None,
            seed=request.seed,
            status=RunStatus.QUEUED,
            shard_count=len(plans),
            item_count=len(content.cases) * len(request.targets) * request.trials,
            estimate_usd=str(estimate.total_usd),
            unpriced_targets=estimate.unpriced,
            price_version=estimate.price_version,
            created_at=now,
            created_by=created_by,
            schedule_id=schedule_id,
        )
        self.runs.create(run, plans)
        return run, estimate
