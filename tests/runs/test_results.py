"""Result rows: small outputs inline, large ones in a blob the row names."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.devhost.azurite import Azurite
from shared.ids import new_id
from shared.runs.models import ItemStatus, ResultRecord
from shared.runs.results import MAX_INLINE_OUTPUT_CHARS, ResultStore, item_key, result_partition
from shared.storage import StorageAccount


def row(case_id: str) -> ResultRecord:
    partition = result_partition(new_id("ten"), new_id("prj"), new_id("run"), "t00-000000")
    return ResultRecord(
        partition_key=partition,
        row_key=item_key(case_id, 0),
        target_id="t00",
        case_id=case_id,
        trial=0,
        status=ItemStatus.OK,
        completed_at=datetime.now(UTC),
    )


def test_large_outputs_go_to_a_blob_and_read_back(azurite: Azurite) -> None:
    store = ResultStore(StorageAccount.from_connection_string(azurite.connection_string))
    store.ensure()
    big = "é🚀 " * (MAX_INLINE_OUTPUT_CHARS // 2)
    # A case id with a colon: allowed in case ids and table keys, not in blob names.
    stored = store.store_output(row("cat:q-01.a"), big)
    assert stored.output is None
    assert stored.output_blob is not None
    assert stored.output_chars == len(big)
    store.write([stored])
    assert store.read_output(stored) == big


def test_small_outputs_stay_in_the_row(azurite: Azurite) -> None:
    store = ResultStore(StorageAccount.from_connection_string(azurite.connection_string))
    stored = store.store_output(row("q1"), "B")
    assert stored.output == "B"
    assert stored.output_blob is None
    assert store.read_output(stored) == "B"
