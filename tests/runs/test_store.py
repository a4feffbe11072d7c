"""The run store on its own: a run whose shards cannot be queued ends at once instead of hanging."""

from __future__ import annotations

import pytest

from shared.clock import SystemClock
from shared.devhost.azurite import Azurite
from shared.ids import new_id
from shared.runs.models import RunRecord, RunStatus, TargetSpec
from shared.runs.sharding import plan_shards
from shared.runs.store import RunStore
from shared.storage import StorageAccount, StorageError, StorageUnavailable


def test_a_run_that_cannot_be_queued_is_marked_failed(azurite: Azurite, monkeypatch: pytest.MonkeyPatch) -> None:
    store = RunStore(StorageAccount.from_connection_string(azurite.connection_string), SystemClock())
    store.ensure()

    def queue_down(message: object, delay_seconds: int = 0) -> str:
        # Injected failure: the queue service answering as an outage does after the SDK's retries.
        raise StorageUnavailable("queue unreachable")

    monkeypatch.setattr(store.queue, "send", queue_down)
    tenant, project = new_id("ten"), new_id("prj")
    run = RunRecord(
        partition_key=f"{tenant}~{project}",
        row_key=new_id("run"),
        suite_id=new_id("ste"),
        version="0" * 64,
        targets=[TargetSpec(provider="sandbox", model="sandbox/fast-accurate")],
        trials=1,
        concurrency=1,
        seed=0,
        status=RunStatus.QUEUED,
        shard_count=1,
        item_count=3,
        price_version="test",
        created_at=SystemClock().now(),
        created_by="tests",
    )
    with pytest.raises(StorageError):
        store.create(run, plan_shards(3, 1))
    stored = store.find(tenant, project, run.row_key)
    assert stored is not None
    assert stored.status is RunStatus.FAILED
    assert stored.status_reason == "could not queue the run"
