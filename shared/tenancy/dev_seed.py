"""The development tenant (`TOKENROUTE_DEV_TENANT`, local only): a tenant, a project and an API key.

So that `make run` is usable at once, without Clerk. The key is kept in `.tokenroute/dev.json`
(git-ignored) and reused while it still works, so restarting prints the same key.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from shared.config import Environment
from shared.services import Services
from shared.tenancy.records import TenantKind
from shared.tenancy.roles import Role, Scope

DEV_USER = "user_tokenroute_dev"
DEV_PROJECT_NAME = "Development"


@dataclass(frozen=True)
class DevTenant:
    """What the seed made (or found)."""

    tenant_id: str
    project_id: str
    api_key: str


def seed_dev_tenant(services: Services, state_file: Path) -> DevTenant:
    """Make sure the development tenant, project and key exist; refuse outside local/test."""
    if services.settings.environment is Environment.PROD:
        raise RuntimeError("the development tenant is refused when TOKENROUTE_ENV=prod")
    services.ensure_storage()
    known = _read(state_file)
    if known is not None:
        principal = services.api_keys.authenticate(known.api_key)
        if principal is not None and services.projects.find(known.tenant_id, known.project_id) is not None:
            return known
    tenant_id = services.directory.sight(TenantKind.PERSONAL, DEV_USER, DEV_USER, Role.OWNER)
    project = None
    if known is not None and known.tenant_id == tenant_id:
        project = services.projects.find(tenant_id, known.project_id)
    if project is None:
        project = services.projects.create(tenant_id, DEV_PROJECT_NAME, DEV_USER)
    _, issued = services.api_keys.create(tenant_id, project.row_key, "development key", list(Scope), DEV_USER)
    seeded = DevTenant(tenant_id=tenant_id, project_id=project.row_key, api_key=issued.value)
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps(asdict(seeded), indent=2), encoding="utf-8")
    state_file.chmod(0o600)
    return seeded


def _read(state_file: Path) -> DevTenant | None:
    try:
        return DevTenant(**json.loads(state_file.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
