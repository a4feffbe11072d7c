"""The queue side of runs: resolve a shard message into its context, run it, record the end.

`handle` is called for each `run-shards` message (at least once), `give_up` for each message that
reached the poison queue, so that no run is left running forever.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable

import httpx

from shared.clock import Clock
from shared.credentials.store import CredentialStore
from shared.pricing.table import PriceTable
from shared.providers.call_counts import CallTally
from shared.providers.concurrency import LimiterPool
from shared.providers.registry import is_simulated
from shared.providers.status import ProviderStatusStore
from shared.runs.execution import ShardContext, ShardExecutor, TargetCallerFactory
from shared.runs.models import RunRecord, ShardMessage, ShardRecord, ShardStatus, TargetSpec
from shared.runs.results import ResultStore
from shared.runs.slots import RunSlots
from shared.runs.store import RunStore, shard_partition
from shared.runs.targets import CallPolicy, TargetCaller
from shared.suites.models import SuiteContent
from shared.suites.store import SuiteStore

log = logging.getLogger("tokenroute.runs")

_CONTENT_CACHE_SIZE = 16


class ShardCannotRun(Exception):
    """A shard that no retry can help; the message says why (no secrets)."""


class ShardWorker:
    """Runs shard messages; one per process."""

    def __init__(
        self,
        *,
        runs: RunStore,
        results: ResultStore,
        suites: SuiteStore,
        credentials: CredentialStore,
        prices: Callable[[str, str], PriceTable],
        http: Callable[[], httpx.AsyncClient],
        clock: Clock,
        policy: CallPolicy,
        provider_calls: ProviderStatusStore | None = None,
    ) -> None:
        self.runs = runs
        self.results = results
        self.suites = suites
        self.credentials = credentials
        self.prices = prices
        self.http = http
        self.clock = clock
        self.policy = policy
        self.executor = ShardExecutor(runs, results, clock, provider_calls)
        self.slots = RunSlots()
        self.limiters = LimiterPool(
            initial=policy.limiter_initial, maximum=policy.limiter_maximum, grow_after=policy.limiter_grow_after
        )
        self._contents: OrderedDict[tuple[str, ...], asyncio.Future[SuiteContent]] = OrderedDict()

    async def handle(self, message: ShardMessage) -> None:
        """Run the shard (or what is left of it) and record the run's end when it was the last."""
        # Independent reads go together: every round trip here delays the shard's first provider call.
        run, shard = await asyncio.gather(
            asyncio.to_thread(self.runs.find, message.tenant_id, message.project_id, message.run_id),
            asyncio.to_thread(
                self.runs.shards.find,
                shard_partition(message.tenant_id, message.project_id, message.run_id),
                message.shard_id,
            ),
        )
        if run is None or shard is None:
            log.info("shard message for a run that no longer exists: dropped")
            return
        if shard.status.terminal:
            # A duplicate delivery of a finished shard: nothing to do but make sure the run ended.
            await asyncio.to_thread(self.runs.finish_if_done, message.tenant_id, message.project_id, message.run_id)
            return
        if run.cancel_requested_at is not None:
            await asyncio.to_thread(self.runs.save_shard, shard.model_copy(update={"status": ShardStatus.CANCELLED}))
        else:
            try:
                await self._execute(message, run, shard)
            except ShardCannotRun as exc:
                # Retrying cannot help (e.g. the credential was deleted): fail the shard now.
                failed = shard.model_copy(update={"status": ShardStatus.FAILED, "failure": str(exc)})
                await asyncio.to_thread(self.runs.save_shard, failed)
        await asyncio.to_thread(self.runs.finish_if_done, message.tenant_id, message.project_id, message.run_id)

    async def give_up(self, message: ShardMessage, reason: str) -> None:
        """The message failed too often: mark the shard failed so the run ends (as partial)."""
        shard = await asyncio.to_thread(
            self.runs.shards.find,
            shard_partition(message.tenant_id, message.project_id, message.run_id),
            message.shard_id,
        )
        if shard is not None and not shard.status.terminal:
            failed = shard.model_copy(update={"status": ShardStatus.FAILED, "failure": reason[:300]})
            await asyncio.to_thread(self.runs.save_shard, failed)
        await asyncio.to_thread(self.runs.finish_if_done, message.tenant_id, message.project_id, message.run_id)

    async def _execute(self, message: ShardMessage, run: RunRecord, shard: ShardRecord) -> None:
        target = run.targets[int(shard.target_id[1:])]
        calls = CallTally(self.clock)  # this execution's attempts, judges' included

        async def build(spec: TargetSpec) -> TargetCaller:
            return await self._caller(message, run, spec, local.slots, calls)

        with self.slots.hold(run.row_key, run.concurrency, shard.row_key) as local:
            # Independent round trips go together: each one in a row would delay the first provider call.
            content, caller, prices, stored, _ = await asyncio.gather(
                self._content(message, run),
                build(target),
                asyncio.to_thread(self.prices, message.tenant_id, message.project_id),
                asyncio.to_thread(
                    self.results.finished, message.tenant_id, message.project_id, message.run_id, message.shard_id
                ),
                asyncio.to_thread(self.runs.mark_running, run),
            )
            context = ShardContext(
                message=message,
                run=run,
                shard=shard,
                content=content,
                target=target,
                caller=caller,
                judge=TargetCallerFactory(build),
                prices=prices,
                local=local,
                stored=stored,
                calls=calls,
            )
            final = await self.executor.execute(context)
        log.info("shard %s of run %s: %s (%d done)", shard.row_key, run.row_key, final.status.value, final.done)

    async def _caller(
        self, message: ShardMessage, run: RunRecord, spec: TargetSpec, run_slots: asyncio.Semaphore, calls: CallTally
    ) -> TargetCaller:
        credential = None
        if not is_simulated(spec.provider):
            if spec.credential_id is None:
                raise ShardCannotRun("a provider target needs a credential_id")
            record = await asyncio.to_thread(
                self.credentials.find, message.tenant_id, message.project_id, spec.credential_id
            )
            if record is None:
                raise ShardCannotRun("the target's credential no longer exists")
            if record.provider != spec.provider:
                # A key is only ever sent to the provider it was created for.
                raise ShardCannotRun("the target's credential belongs to another provider")
            credential = await asyncio.to_thread(self.credentials.provider_credential, record)
        return TargetCaller(
            spec,
            credential=credential,
            http=self.http(),
            run_slots=run_slots,
            limiter=self.limiters.get(spec.credential_id or spec.provider, spec.model),
            policy=self.policy,
            seed=run.seed,
            calls=calls.for_model(spec.provider, spec.model),
        )

    async def _content(self, message: ShardMessage, run: RunRecord) -> SuiteContent:
        # Versions are immutable, so they are cached; shards starting together share one read.
        key = (message.tenant_id, message.project_id, run.suite_id, run.version)
        pending = self._contents.get(key)
        if pending is None:
            pending = asyncio.ensure_future(asyncio.to_thread(self.suites.get_version_content, *key))
            self._contents[key] = pending
            while len(self._contents) > _CONTENT_CACHE_SIZE:
                self._contents.popitem(last=False)
        else:
            self._contents.move_to_end(key)
        try:
            return await asyncio.shield(pending)
        except Exception:
            self._contents.pop(key, None)  # a failed read is not cached
            raise
