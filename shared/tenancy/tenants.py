"""Tenants and memberships, created on first sight of a Clerk organization or user."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import threading
import time

from shared.clock import Clock
from shared.storage import Conflict, ModelTable, StorageAccount
from shared.storage.catalog import MEMBERSHIPS_TABLE, TENANTS_TABLE, USER_TENANTS_TABLE
from shared.tenancy.records import MembershipRecord, TenantKind, TenantRecord, UserTenantRecord
from shared.tenancy.roles import Role

TENANT_ROW = "tenant"
# How long a seen (tenant, user, role) is trusted before the membership row is checked again.
_SEEN_TTL_S = 60.0


def tenant_id_for(kind: TenantKind, clerk_id: str) -> str:
    """The tenant id of a Clerk organization or user: derived, so first sight is idempotent."""
    digest = hashlib.sha256(f"{kind.value}:{clerk_id}".encode()).digest()
    return "ten_" + base64.b32encode(digest).decode().lower()[:20]


class TenantDeleted(Exception):
    """The tenant is being deleted: nobody enters it until its deletion completes."""


class TenantDirectory:
    """Reads and records tenants and who belongs to them."""

    def __init__(self, account: StorageAccount, clock: Clock) -> None:
        self.tenants = ModelTable(account, TENANTS_TABLE, TenantRecord)
        self.memberships = ModelTable(account, MEMBERSHIPS_TABLE, MembershipRecord)
        self.user_tenants = ModelTable(account, USER_TENANTS_TABLE, UserTenantRecord)
        self.clock = clock
        self._seen: dict[tuple[str, str], tuple[Role, float]] = {}
        self._lock = threading.Lock()

    def ensure(self) -> None:
        """Create the tables (idempotent)."""
        for table in (self.tenants, self.memberships, self.user_tenants):
            table.ensure()

    def find(self, tenant_id: str) -> TenantRecord | None:
        """The tenant, or None when it does not exist or was deleted."""
        record = self.tenants.find(tenant_id, TENANT_ROW)
        return None if record is None or record.deleted_at is not None else record

    def sight(self, kind: TenantKind, clerk_id: str, user_id: str, role: Role) -> str:
        """Make sure the tenant and the user's membership exist; return the tenant id.

        Called on every authenticated session request, so it writes only when something is new
        or changed, and remembers recent memberships in memory. The tenant row is read every time
        (one point read): a tenant being deleted is closed to every process at once
        (`TenantDeleted`), and one deleted and created again gets its membership rows anew.
        """
        tenant_id = tenant_id_for(kind, clerk_id)
        tenant = self.tenants.find(tenant_id, TENANT_ROW)
        if tenant is not None and tenant.deleted_at is not None:
            raise TenantDeleted(tenant_id)
        with self._lock:
            seen = self._seen.get((tenant_id, user_id))
        fresh = seen is not None and seen[0] is role and time.monotonic() - seen[1] < _SEEN_TTL_S
        if tenant is not None and fresh:
            return tenant_id
        now = self.clock.now()
        if tenant is None:
            with contextlib.suppress(Conflict):  # another request saw it first
                self.tenants.insert(
                    TenantRecord(
                        partition_key=tenant_id, row_key=TENANT_ROW, kind=kind, clerk_id=clerk_id, created_at=now
                    )
                )
        membership = self.memberships.find(tenant_id, user_id)
        if membership is None or membership.role is not role:
            created = membership.created_at if membership else now
            self.memberships.upsert(
                MembershipRecord(
                    partition_key=tenant_id, row_key=user_id, role=role, created_at=created, updated_at=now
                )
            )
            self.user_tenants.upsert(
                UserTenantRecord(partition_key=user_id, row_key=tenant_id, kind=kind, role=role, updated_at=now)
            )
        with self._lock:
            self._seen[(tenant_id, user_id)] = (role, time.monotonic())
        return tenant_id

    def tenants_of(self, user_id: str) -> list[UserTenantRecord]:
        """Every tenant the user has been seen in (a user belongs to few tenants)."""
        records: list[UserTenantRecord] = []
        cursor: str | None = None
        while True:
            page = self.user_tenants.list_partition(user_id, cursor=cursor)
            records.extend(page.items)
            if page.next_cursor is None:
                return records
            cursor = page.next_cursor
