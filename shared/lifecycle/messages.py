"""Queue messages of the lifecycle jobs: ids only, never names or content."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DeletionKind = Literal["project", "run", "suite", "tenant"]

# The id prefix of each kind's resource; a tenant's deletion is named by its own id (`del_...`), so a
# tenant created again after a deletion (same Clerk id, same tenant id) can be deleted again.
RESOURCE_PREFIX: dict[str, str] = {"project": "prj_", "run": "run_", "suite": "ste_", "tenant": "del_"}


class DeletionMessage(BaseModel):
    """One `deletions` message: run the cascade of the tombstone (tenant, resource)."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(pattern=r"^ten_[a-z2-7]{20}$")
    resource_id: str = Field(pattern=r"^(prj|run|ste|del)_[a-z2-7]{20}$")
    kind: DeletionKind = "project"
    # The project a run or suite belongs to; a project's message names the project as the resource.
    project_id: str | None = Field(default=None, pattern=r"^prj_[a-z2-7]{20}$")

    @model_validator(mode="after")
    def _consistent(self) -> DeletionMessage:
        prefix = RESOURCE_PREFIX[self.kind]
        if not self.resource_id.startswith(prefix):
            raise ValueError(f"a {self.kind} id starts with {prefix}")
        if (self.kind in ("run", "suite")) != (self.project_id is not None):
            raise ValueError("project_id is given for runs and suites only")
        return self

    @property
    def project(self) -> str:
        """The project whose keys hold the resource's data (a tenant's deletion has none: its id)."""
        return self.project_id or self.resource_id
