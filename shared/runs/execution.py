"""Running one shard: call the target for each (case, trial), score, cost, store in batches.

Delivery is at least once, so everything here is idempotent:
- items already stored for the shard are skipped (a redelivered or resumed shard never calls the
  provider again for them; retry-errors re-runs only the items stored as errors);
- results are upserts keyed (run, target, case, trial);
- the shard row is written only by the worker that holds the message; the run's end is recorded
  by `RunStore.finish_if_done` under an ETag guard, so it happens once.

A watcher reads the run row every second so that a cancel or a spent budget stops new provider
calls within seconds. Each flush with rows reads it too (one point read per batch): once the run is
deleted (alone or with its project or tenant), the shard stores nothing more, so its cascade leaves
no rows behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shared.clock import Clock
from shared.pricing.table import PriceTable
from shared.providers.call_counts import CallTally
from shared.providers.errors import ProviderError
from shared.providers.models import Completion
from shared.providers.status import ProviderStatusStore
from shared.runs.models import ItemStatus, ResultRecord, RunRecord, ShardMessage, ShardRecord, ShardStatus, TargetSpec
from shared.runs.results import MAX_INLINE_OUTPUT_CHARS, ResultStore, item_key, result_partition
from shared.runs.slots import LocalRun
from shared.runs.store import RunStore
from shared.runs.targets import TargetCaller, chat_request
from shared.scoring.combine import score_case, validate_specs
from shared.scoring.errors import ScorerUnavailable, ScoringFailed
from shared.scoring.judge import JudgeReply, JudgeRequest
from shared.scoring.results import ScoreResult
from shared.scoring.specs import LlmJudgeSpec, ScorerSpec, parse_specs
from shared.storage import StorageError
from shared.suites.models import Case, SuiteContent

log = logging.getLogger("tokenroute.runs")

FLUSH_EVERY_S = 1.0
FLUSH_AT_ROWS = 100
WATCH_EVERY_S = 1.0


@dataclass
class ShardContext:
    """Everything one shard run needs, resolved once."""

    message: ShardMessage
    run: RunRecord
    shard: ShardRecord
    content: SuiteContent
    target: TargetSpec
    caller: TargetCaller
    judge: TargetCallerFactory | None
    prices: PriceTable
    local: LocalRun
    # The shard's rows already stored (a redelivered or resumed shard skips them), by item key.
    stored: dict[str, ResultRecord]
    # Attempts per provider, model and minute (provider status); written at each flush.
    calls: CallTally | None = None


BuildCaller = Callable[[TargetSpec], Awaitable[TargetCaller]]


class TargetCallerFactory:
    """Builds callers for judge targets named inside scorer specs (resolved lazily, cached)."""

    def __init__(self, build: BuildCaller) -> None:
        self._build = build
        self._cache: dict[str, TargetCaller] = {}

    async def get(self, target: dict[str, Any]) -> TargetCaller:
        """The caller for a judge target description."""
        spec = TargetSpec.model_validate(target)
        key = spec.model_dump_json()
        if key not in self._cache:
            self._cache[key] = await self._build(spec)
        return self._cache[key]


class Tally:
    """The shard's stored rows, for its counters; their cost is kept as rows arrive (read per item)."""

    def __init__(self, rows: dict[str, ResultRecord]) -> None:
        self.rows = rows
        self._cost = _cost_of(list(rows.values()))

    def store(self, row: ResultRecord) -> None:
        """Count a stored row (replacing the shard's earlier row of the same item, if any)."""
        replaced = self.rows.get(row.row_key)
        if replaced is not None:
            self._cost -= _cost_of([replaced])
        self.rows[row.row_key] = row
        self._cost += _cost_of([row])

    def apply(self, shard: ShardRecord) -> ShardRecord:
        """The shard row with counters recomputed from every stored row (idempotent)."""
        rows = self.rows.values()
        return shard.model_copy(
            update={
                "done": len(self.rows),
                "errors": sum(1 for r in rows if r.status is ItemStatus.ERROR),
                "passed": sum(1 for r in rows if r.passed),
                "cost_usd": str(sum((Decimal(r.cost_usd) for r in rows if r.cost_usd), Decimal(0))),
                "judge_cost_usd": str(sum((Decimal(r.judge_cost_usd) for r in rows if r.judge_cost_usd), Decimal(0))),
                "retries": sum(r.retries for r in rows),
            }
        )

    def cost(self) -> Decimal:
        """What the stored rows cost, judge calls included."""
        return self._cost


class StopSignal:
    """Why new provider calls should stop: set by the watcher."""

    def __init__(self) -> None:
        self.reason: ShardStatus | None = None
        self.event = asyncio.Event()

    def stop(self, reason: ShardStatus) -> None:
        """Stop for `reason` (the first reason wins)."""
        if self.reason is None:
            self.reason = reason
        self.event.set()


class ShardExecutor:
    """Runs the items of one shard and keeps its row and results up to date."""

    def __init__(
        self, runs: RunStore, results: ResultStore, clock: Clock, provider_calls: ProviderStatusStore | None = None
    ) -> None:
        self.runs = runs
        self.results = results
        self.clock = clock
        self.provider_calls = provider_calls

    async def execute(self, ctx: ShardContext) -> ShardRecord:
        """Run what is left of the shard; returns the shard row as finally stored."""
        msg = ctx.message
        stored = ctx.stored
        tally = Tally(rows=dict(stored))
        todo = [
            (case, trial)
            for case in ctx.content.cases[ctx.shard.case_start : ctx.shard.case_end]
            for trial in range(ctx.run.trials)
            if _needs_run(stored.get(item_key(case.id, trial)), msg.retry_errors)
        ]
        shard = tally.apply(
            ctx.shard.model_copy(update={"status": ShardStatus.RUNNING, "attempts": ctx.shard.attempts + 1})
        )
        # The running row is saved while the first calls go out; the flushes save the same row, so
        # the first of them waits for this write to land (the last write wins).
        saving: asyncio.Future[ShardRecord] | None = asyncio.ensure_future(
            asyncio.to_thread(self.runs.save_shard, shard)
        )
        log.info(
            "shard %s: %d item(s) stored, %d to run%s",
            msg.shard_id,
            len(stored),
            len(todo),
            " (retrying errors)" if msg.retry_errors else "",
        )
        stop = StopSignal()
        pending: list[ResultRecord] = []
        pending_cost = Decimal(0)

        flush_lock = asyncio.Lock()
        finished = asyncio.Event()
        deleted = False

        async def flush(*, last: bool = False) -> bool:
            """Store the pending rows; False once the run is gone. The last flush leaves the shard's
            row to the final save (one write instead of two) and its call counts to run alongside."""
            # One flush at a time, and never cancelled midway: a batch taken from `pending` must
            # reach the table *and* the tally, or the shard's counters would miss it.
            nonlocal shard, pending, pending_cost, deleted, saving
            async with flush_lock:
                if saving is not None:
                    shard, saving = await saving, None
                if deleted:
                    return False
                if pending or last:
                    batch, pending = pending, []
                    if not await asyncio.to_thread(self._run_exists, msg):
                        # The run's cascade may already have passed: store nothing, remove the batch's
                        # large outputs (written as items finished), and stop calling the provider.
                        deleted = True
                        stop.stop(ShardStatus.CANCELLED)
                        await asyncio.to_thread(self._discard_outputs, batch)
                        return False
                    if batch:
                        await asyncio.to_thread(self.results.write, batch)
                    for row in batch:
                        tally.store(row)
                    pending_cost -= _cost_of(batch)
                    if not last and batch:
                        shard = await asyncio.to_thread(self.runs.save_shard, tally.apply(shard))
                if not last:
                    await self._flush_calls(ctx, shard.attempts)
                return True

        async def flusher() -> None:
            while not finished.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(finished.wait(), FLUSH_EVERY_S)
                await flush()

        async def watcher() -> None:
            while True:
                await self._watch(ctx, stop)
                await asyncio.sleep(WATCH_EVERY_S)

        specs_by_case: dict[str, list[ScorerSpec]] = {}
        slots = asyncio.Semaphore(max(1, ctx.run.concurrency))

        budget = Decimal(ctx.run.budget_usd) if ctx.run.budget_usd is not None else None

        async def run_item(case: Case, trial: int) -> None:
            nonlocal pending_cost
            try:
                if budget is not None and ctx.local.spent() >= budget:
                    stop.stop(ShardStatus.BUDGET_STOPPED)
                if stop.event.is_set():
                    return
                specs = specs_by_case.get(case.id)
                if specs is None:
                    # validate_specs adds the default scorer (normalized exact) where a case names none.
                    specs = specs_by_case[case.id] = validate_specs(
                        parse_specs(ctx.content.scorers_for(case)), case.expected is not None
                    )
                row = await self._run_item(ctx, case, trial, specs, stored.get(item_key(case.id, trial)))
                pending.append(row)
                pending_cost += _cost_of([row])
                ctx.local.record(msg.shard_id, tally.cost() + pending_cost)
                if len(pending) >= FLUSH_AT_ROWS:
                    await flush()
            finally:
                slots.release()

        flushing = asyncio.create_task(flusher())
        watching = asyncio.create_task(watcher())
        try:
            async with asyncio.TaskGroup() as group:
                for case, trial in todo:
                    await slots.acquire()
                    if stop.event.is_set():
                        slots.release()
                        break
                    group.create_task(run_item(case, trial))
        finally:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
            finished.set()
            await flushing
            exists = await flush(last=True)
        if not exists:
            log.info("shard %s: its run was deleted; nothing more stored", msg.shard_id)
            return shard
        expected_rows = (ctx.shard.case_end - ctx.shard.case_start) * ctx.run.trials
        final = stop.reason if stop.reason is not None and len(tally.rows) < expected_rows else ShardStatus.DONE
        # The shard's final row and the last call counts are independent writes: made together.
        saved, _ = await asyncio.gather(
            asyncio.to_thread(self.runs.save_shard, tally.apply(shard).model_copy(update={"status": final})),
            self._flush_calls(ctx, shard.attempts),
        )
        return saved

    async def _flush_calls(self, ctx: ShardContext, execution: int) -> None:
        """Write the provider-call minutes that changed (one row each, cumulative, replaced whole)."""
        if ctx.calls is None or self.provider_calls is None:
            return
        msg = ctx.message
        taken = ctx.calls.take_changed(msg.tenant_id, msg.project_id, msg.shard_id, execution)
        if not taken:
            return
        try:
            await asyncio.to_thread(self.provider_calls.write, [row for _, row in taken])
        except StorageError as error:
            # Provider status is best effort: it must never fail a shard. The next flush tries again.
            ctx.calls.mark_changed(taken)
            log.warning("provider call counts of shard %s not written: %s", msg.shard_id, error)

    def _run_exists(self, msg: ShardMessage) -> bool:
        return self.runs.find(msg.tenant_id, msg.project_id, msg.run_id) is not None

    def _discard_outputs(self, rows: Sequence[ResultRecord]) -> None:
        for row in rows:
            if row.output_blob:
                self.results.outputs.delete(row.output_blob)

    async def _watch(self, ctx: ShardContext, stop: StopSignal) -> None:
        """Stop on cancel or a spent budget; the reads are shared by the run's shards in this process."""
        msg = ctx.message
        local = ctx.local

        async def read() -> None:
            run = await asyncio.to_thread(self.runs.find, msg.tenant_id, msg.project_id, msg.run_id)
            local.cancelled = run is None or run.cancel_requested_at is not None
            if run is not None and run.budget_usd is not None and not local.cancelled:
                shards = await asyncio.to_thread(self.runs.shards_of, msg.tenant_id, msg.project_id, msg.run_id)
                local.observe({s.row_key: Decimal(s.cost_usd) + Decimal(s.judge_cost_usd) for s in shards})

        await local.refresh(WATCH_EVERY_S, read)
        if local.cancelled:
            stop.stop(ShardStatus.CANCELLED)
        elif ctx.run.budget_usd is not None and local.spent() >= Decimal(ctx.run.budget_usd):
            stop.stop(ShardStatus.BUDGET_STOPPED)

    async def _run_item(
        self, ctx: ShardContext, case: Case, trial: int, specs: list[ScorerSpec], previous: ResultRecord | None
    ) -> ResultRecord:
        msg = ctx.message
        messages = [(m.role, m.content) for m in ctx.content.render_case(case)]
        request = chat_request(ctx.target, messages)
        base = {
            "partition_key": result_partition(msg.tenant_id, msg.project_id, msg.run_id, msg.shard_id),
            "row_key": item_key(case.id, trial),
            "target_id": ctx.shard.target_id,
            "case_id": case.id,
            "trial": trial,
            "attempts": (previous.attempts + 1) if previous else 1,
        }
        try:
            completion = await ctx.caller.call(request, expected=case.expected, case_id=case.id, trial=trial)
        except ProviderError as error:
            return ResultRecord(
                **base,
                status=ItemStatus.ERROR,
                error_kind=error.kind.value,
                error_message=str(error)[:500],
                retries=error.retries,
                completed_at=self.clock.now(),
            )
        # The answer freed a run slot and woke the next item's call: let that call go out before this
        # answer is scored (the loop runs ready callbacks in order), so the provider is kept busy.
        await asyncio.sleep(0)
        case_input = "\n".join(content for _, content in messages)
        judge_fn = self._judge_fn(ctx) if ctx.judge is not None else None
        cost = ctx.prices.cost_for(ctx.target.provider, _price_model(ctx.target, completion), completion.usage)
        try:
            scored = await score_case(specs, completion.text, case.expected, case_input, judge=judge_fn, embedder=None)
        except (ScoringFailed, ScorerUnavailable) as error:
            # The answer was paid for: keep its usage and cost, and say that scoring failed.
            return ResultRecord(
                **base,
                status=ItemStatus.ERROR,
                error_kind="scoring",
                error_message=str(error)[:500],
                retries=completion.retries,
                input_tokens=completion.usage.input_tokens,
                output_tokens=completion.usage.output_tokens,
                latency_ms=completion.latency_ms,
                ttft_ms=completion.ttft_ms,
                cost_usd=str(cost.total_usd) if cost.total_usd is not None else None,
                priced=cost.priced,
                price_version=cost.price_version or ctx.prices.version,
                completed_at=self.clock.now(),
            )
        judge_cost = _judge_cost(ctx.prices, specs, scored.parts)
        row = ResultRecord(
            **base,
            status=ItemStatus.OK,
            score=scored.score,
            passed=scored.passed,
            scores=[part.model_dump(mode="json", exclude={"judge_usage"}) for part in scored.parts],
            finish_reason=completion.finish_reason.value,
            input_tokens=completion.usage.input_tokens,
            output_tokens=completion.usage.output_tokens,
            cached_input_tokens=completion.usage.cached_input_tokens,
            reasoning_tokens=completion.usage.reasoning_tokens,
            latency_ms=completion.latency_ms,
            ttft_ms=completion.ttft_ms,
            request_id=completion.request_id,
            model_version=completion.model_version,
            retries=completion.retries,
            cost_usd=str(cost.total_usd) if cost.total_usd is not None else None,
            priced=cost.priced,
            price_version=cost.price_version or ctx.prices.version,
            judge_input_tokens=scored.judge_usage.input_tokens,
            judge_output_tokens=scored.judge_usage.output_tokens,
            judge_cost_usd=str(judge_cost) if judge_cost is not None else None,
            completed_at=self.clock.now(),
        )
        if len(completion.text) <= MAX_INLINE_OUTPUT_CHARS:
            return self.results.store_output(row, completion.text)  # no I/O: stays on the loop
        return await asyncio.to_thread(self.results.store_output, row, completion.text)

    def _judge_fn(self, ctx: ShardContext) -> Any:
        factory = ctx.judge
        assert factory is not None

        async def judge(request: JudgeRequest) -> JudgeReply:
            caller = await factory.get(request.target)
            # The judge answers briefly: its own max_tokens, and no streaming (TTFT is not measured).
            params = caller.spec.params.model_copy(update={"max_tokens": request.max_tokens})
            spec = caller.spec.model_copy(update={"stream": False, "params": params})
            chat = chat_request(spec, [("system", request.system), ("user", request.prompt)])
            completion = await caller.call(chat, expected=None, case_id="judge", trial=0)
            return JudgeReply(text=completion.text, usage=completion.usage)

        return judge


def _judge_cost(prices: PriceTable, specs: list[ScorerSpec], parts: Sequence[ScoreResult]) -> Decimal | None:
    """What the judge calls of one case cost, each at its own judge model's price (None: nothing known)."""
    total: Decimal | None = None
    for spec, part in zip(specs, parts, strict=False):
        if not isinstance(spec, LlmJudgeSpec) or part.judge_usage is None:
            continue
        cost = prices.cost_for(str(spec.judge.get("provider")), str(spec.judge.get("model")), part.judge_usage)
        if cost.total_usd is not None:
            total = (total or Decimal(0)) + cost.total_usd
    return total


def _cost_of(rows: Sequence[ResultRecord]) -> Decimal:
    return sum((Decimal(r.cost_usd or 0) + Decimal(r.judge_cost_usd or 0) for r in rows), Decimal(0))


def _needs_run(stored: ResultRecord | None, retry_errors: bool) -> bool:
    if stored is None:
        return True
    return retry_errors and stored.status is ItemStatus.ERROR


def _price_model(target: TargetSpec, completion: Completion) -> str:
    # Azure deployments have arbitrary names: the model the provider reports is what is billed.
    if target.provider == "azure_openai" and completion.model_version:
        return completion.model_version
    return target.model
