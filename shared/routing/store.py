"""Stored decisions: content-addressed, immutable blobs; a metadata row each; the current route per task.

Writing a decision, in an order that never leaves a reader with a row whose content is missing:
1. the canonical JSON blob `<tenant>/<project>/<task>/<sha256>.json` (never overwritten);
2. the metadata row (PK `<tenant>~<project>`, RK decision id) with the content hash;
3. the current route row (PK `<tenant>~<project>`, RK task), under an ETag guard so two concurrent
   decisions for one task cannot both believe they superseded the same predecessor;
4. the predecessor's row gets `superseded_by` (a field on the metadata row; its blob is untouched).
A crash between 3 and 4 leaves an old row without `superseded_by`; the current route still names the
newest decision, which is what gateways read.

A drift event on a decision's evidence marks the current route row and the decision's row (`mark_drifted`);
the next decision for the task writes a fresh route row, which clears the mark.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass

from shared.clock import Clock
from shared.routing.models import CurrentRouteRecord, Decision, RouteDecisionRecord, RouteTarget
from shared.storage import (
    BlobContainer,
    ConcurrencyError,
    Conflict,
    ModelTable,
    NotFound,
    Page,
    StorageAccount,
    blob_path,
    where,
)
from shared.storage.catalog import CURRENT_ROUTES_TABLE, DECISIONS_CONTAINER, ROUTE_DECISIONS_TABLE
from shared.suites.canonical import canonical_json
from shared.tenancy.records import scope_key


class TamperedDecision(Exception):
    """A stored decision's content no longer matches its hash."""


@dataclass(frozen=True)
class StoredDecision:
    """A decision as read back: its verified content and its metadata row."""

    record: RouteDecisionRecord
    decision: Decision


def encode(decision: Decision) -> tuple[bytes, str]:
    """The canonical bytes of a decision and their SHA-256 (lowercase hex)."""
    data = canonical_json(decision.model_dump(mode="json"))
    return data, hashlib.sha256(data).hexdigest()


def _target(key: str, decision: Decision) -> RouteTarget:
    stats = next(c.stats for c in decision.candidates if c.stats.target == key)
    return RouteTarget(target=key, provider=stats.provider, model=stats.model)


class DecisionStore:
    """Route decisions and current routes."""

    def __init__(self, account: StorageAccount, clock: Clock) -> None:
        self.decisions = ModelTable(account, ROUTE_DECISIONS_TABLE, RouteDecisionRecord)
        self.routes = ModelTable(account, CURRENT_ROUTES_TABLE, CurrentRouteRecord)
        self.blobs = BlobContainer(account, DECISIONS_CONTAINER)
        self.clock = clock

    def ensure(self) -> None:
        """Create the tables and container (idempotent)."""
        self.decisions.ensure()
        self.routes.ensure()
        self.blobs.ensure()

    def save(self, tenant_id: str, decision: Decision) -> RouteDecisionRecord:
        """Store a new decision and make it the task's current route (see the module for the order)."""
        data, sha = encode(decision)
        partition = scope_key(tenant_id, decision.project_id)
        name = blob_path(tenant_id, decision.project_id, decision.task, f"{sha}.json")
        # The same bytes already there (a retried request) are the same decision: content-addressed.
        with contextlib.suppress(Conflict):
            self.blobs.put(name, data, content_type="application/json", overwrite=False)
        route = CurrentRouteRecord(
            partition_key=partition,
            row_key=decision.task,
            decision_id=decision.decision_id,
            status=decision.status,
            chosen=_target(decision.chosen, decision) if decision.chosen else None,
            fallbacks=[_target(key, decision) for key in decision.fallbacks],
            decided_at=decision.decided_at,
            expires_at=decision.expires_at,
            content_sha256=sha,
        )
        for _ in range(5):
            previous = self.routes.find(partition, decision.task)
            record = RouteDecisionRecord(
                partition_key=partition,
                row_key=decision.decision_id,
                task=decision.task,
                status=decision.status,
                chosen=decision.chosen,
                content_sha256=sha,
                blob=name,
                decided_at=decision.decided_at,
                expires_at=decision.expires_at,
                supersedes=previous.decision_id if previous else None,
            )
            self.decisions.upsert(record)
            try:
                if previous is None:
                    self.routes.insert(route)
                else:
                    self.routes.update(route, etag=previous.etag or "*")
            except (Conflict, ConcurrencyError):
                continue  # another decision for the task landed meanwhile: supersede that one instead
            if previous is not None:
                self.decisions.table.upsert(
                    {
                        "PartitionKey": partition,
                        "RowKey": previous.decision_id,
                        "superseded_by": decision.decision_id,
                        "superseded_at": self.clock.now(),
                    },
                    mode="merge",
                )
            return record
        raise ConcurrencyError(f"route {decision.task} kept changing while storing a decision")

    def read(self, tenant_id: str, project_id: str, decision_id: str) -> StoredDecision | None:
        """The decision with its row, its content verified against the row's hash; None when missing.

        TamperedDecision when the blob's bytes do not hash to what the row (and the blob's name) says.
        """
        record = self.decisions.find(scope_key(tenant_id, project_id), decision_id)
        if record is None:
            return None
        data = self.blobs.get(record.blob)
        if hashlib.sha256(data).hexdigest() != record.content_sha256 or not record.blob.endswith(
            f"/{record.content_sha256}.json"
        ):
            raise TamperedDecision(f"decision {decision_id} does not match its content hash")
        return StoredDecision(record=record, decision=Decision.model_validate(json.loads(data)))

    def list(
        self, tenant_id: str, project_id: str, *, task: str | None, limit: int, cursor: str | None
    ) -> Page[RouteDecisionRecord]:
        """A page of the project's decision rows (ordered by id, which is random: not time order)."""
        partition = scope_key(tenant_id, project_id)
        if task is None:
            return self.decisions.list_partition(partition, page_size=limit, cursor=cursor)
        return self.decisions.query(
            where("PartitionKey eq @pk and task eq @task", pk=partition, task=task), page_size=limit, cursor=cursor
        )

    def current(self, tenant_id: str, project_id: str, task: str) -> CurrentRouteRecord | None:
        """The task's current route: one point read."""
        return self.routes.find(scope_key(tenant_id, project_id), task)

    def mark_drifted(self, tenant_id: str, project_id: str, task: str, decision_id: str, event_id: str) -> bool:
        """Mark the task's current route stale by drift event `event_id` while it still carries `decision_id`
        (ETag-guarded merge), then note the event on the decision's row (its blob is untouched).

        The first drift event that hits a route is the one it keeps. False when the route moved on to
        another decision or was already marked; the decision's row is then still brought in line.
        """
        partition = scope_key(tenant_id, project_id)
        for _ in range(5):
            route = self.routes.find(partition, task)
            if route is None or route.decision_id != decision_id:
                return False
            marked = route.drift_event_id is None
            if marked:
                change = {"drift_event_id": event_id, "drifted_at": self.clock.now()}
                try:
                    self.routes.table.update(
                        {"PartitionKey": partition, "RowKey": task, **change}, etag=route.etag or "*", mode="merge"
                    )
                except (ConcurrencyError, NotFound):
                    continue  # a new decision (or another drift) landed meanwhile: look again
            else:
                change = {"drift_event_id": route.drift_event_id, "drifted_at": route.drifted_at or self.clock.now()}
            # Idempotent: repeats what a crash between the two writes may have left undone.
            self.decisions.table.upsert({"PartitionKey": partition, "RowKey": decision_id, **change}, mode="merge")
            return marked
        raise ConcurrencyError(f"route {task} kept changing while marking it drifted")

    def cited_runs(self, tenant_id: str, project_id: str) -> set[str]:
        """Run ids the project's live routes rest on (current and not expired): retention keeps them."""
        now = self.clock.now()
        cited: set[str] = set()
        cursor: str | None = None
        while True:
            page = self.routes.list_partition(scope_key(tenant_id, project_id), cursor=cursor)
            for route in page.items:
                if route.expires_at <= now:
                    continue
                stored = self.read(tenant_id, project_id, route.decision_id)
                if stored is not None:
                    cited.update(run.run_id for run in stored.decision.evidence.runs)
            if page.next_cursor is None:
                return cited
            cursor = page.next_cursor
