"""Activation events: when each tenant first reached each step of the funnel.

One row per tenant and event (`activation`, PK tenant, RK event name), written insert-if-absent:
the insert of a second occurrence fails with `Conflict`, so "first" is exact even when two
processes race. Rows hold names, times and (for frontend events) a few bounded properties; no
prompts, outputs, keys or project ids.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from shared.clock import Clock
from shared.storage import Conflict, ModelTable, StorageAccount, StorageError, TableModel
from shared.storage.catalog import ACTIVATION_TABLE

log = logging.getLogger("tokenroute.lifecycle")

PropertyValue = str | int | float | bool


class ActivationEvent(StrEnum):
    """The server-side funnel, in the order a tenant usually reaches it."""

    PROJECT_CREATED = "project_created"
    API_KEY_CREATED = "api_key_created"
    CREDENTIAL_ADDED = "credential_added"
    CREDENTIAL_VALIDATED = "credential_validated"
    RUN_STARTED = "run_started"
    RUN_COMPLETED = "run_completed"
    EXPORT_CREATED = "export_created"
    EXPORT_DOWNLOADED = "export_downloaded"
    ROUTE_DECISION_MADE = "route_decision_made"


# Frontend events the API accepts (`POST /api/v1/events`); anything else is refused.
FRONTEND_EVENTS: Final = (
    "onboarding_started",
    "onboarding_completed",
    "suite_template_chosen",
    "run_viewed",
    "compare_viewed",
    "leaderboard_viewed",
    "docs_opened",
)
# Frontend rows are stored under this prefix so they never collide with server events.
FRONTEND_PREFIX: Final = "ui."
# How long a process trusts that a (tenant, event) is recorded. No longer than a tenant deletion's
# grace period (`shared.lifecycle.cascade.SETTLE`): a tenant deleted and signed into again starts
# with an empty funnel, and its first events must be recorded again.
KNOWN_FOR: Final = timedelta(seconds=60)


class ActivationRecord(TableModel):
    """PK = tenant id, RK = event name (`ui.<name>` for frontend events)."""

    at: datetime
    source: str  # "server" or "frontend"
    properties: dict[str, PropertyValue] | None = None


class ActivationLog:
    """Records first occurrences and reads a tenant's funnel."""

    def __init__(self, account: StorageAccount, clock: Clock) -> None:
        self.table = ModelTable(account, ACTIVATION_TABLE, ActivationRecord)
        self.clock = clock
        # (tenant, event) pairs this process knows are recorded, and since when: later occurrences
        # within KNOWN_FOR cost no write.
        self._known: dict[tuple[str, str], datetime] = {}

    def ensure(self) -> None:
        """Create the table (idempotent)."""
        self.table.ensure()

    def record_first(
        self,
        tenant_id: str,
        event: str,
        *,
        source: str = "server",
        properties: dict[str, PropertyValue] | None = None,
    ) -> bool:
        """Insert the event's row unless the tenant already has one; True when this was the first."""
        record = ActivationRecord(
            partition_key=tenant_id, row_key=event, at=self.clock.now(), source=source, properties=properties or None
        )
        try:
            self.table.insert(record)
        except Conflict:
            return False
        return True

    def note(self, tenant_id: str, event: ActivationEvent) -> None:
        """Record a server event where a domain operation succeeded; never fails that operation.

        The funnel is product telemetry: a storage hiccup here must not turn a created run into a 500.
        """
        now = self.clock.now()
        seen = self._known.get((tenant_id, event.value))
        if seen is not None and now - seen < KNOWN_FOR:
            return
        try:
            self.record_first(tenant_id, event.value)
            self._known[(tenant_id, event.value)] = now
        except StorageError:
            log.warning("activation event %s not recorded", event.value, exc_info=True)

    def funnel(self, tenant_id: str) -> list[ActivationRecord]:
        """Every first occurrence of the tenant (server and frontend), in row-key order."""
        rows: list[ActivationRecord] = []
        cursor: str | None = None
        while True:
            page = self.table.list_partition(tenant_id, page_size=100, cursor=cursor)
            rows.extend(page.items)
            if page.next_cursor is None:
                return rows
            cursor = page.next_cursor
