"""Activation: `POST /api/v1/events` (frontend events) and `GET /api/v1/activation` (the tenant's funnel).

Frontend events come from an allowlist of names with a small, flat properties object; only the
first occurrence per tenant is kept (the funnel asks "when did this tenant first ..."). Nothing
that could carry a prompt, an output or a key is accepted: property names that suggest one are
refused, values are short scalars, and values shaped like keys are refused.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Annotated, Final, Literal, get_args

from fastapi import APIRouter
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    field_validator,
)

from shared.api.auth import CallerDep, authorize
from shared.api.dependencies import ServicesDep
from shared.lifecycle.activation import FRONTEND_EVENTS, FRONTEND_PREFIX, ActivationEvent, PropertyValue
from shared.tenancy.roles import Role, Scope

router = APIRouter(tags=["activation"])

MAX_PROPERTIES: Final = 10
MAX_VALUE_CHARS: Final = 100
# Property names that could carry what events must never hold.
_FORBIDDEN_NAME = re.compile(r"prompt|output|answer|key|secret|token|password|email|content", re.IGNORECASE)
# Values shaped like our API keys or providers' keys.
_KEY_SHAPED = re.compile(r"^(trk_|sk-|sk_|AIza)", re.IGNORECASE)

FrontendEventName = Literal[
    "onboarding_started",
    "onboarding_completed",
    "suite_template_chosen",
    "run_viewed",
    "compare_viewed",
    "leaderboard_viewed",
    "docs_opened",
]
# One list, spelled twice so the OpenAPI schema shows the names: they must agree.
assert set(get_args(FrontendEventName)) == set(FRONTEND_EVENTS)

PropertyName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
ShortText = Annotated[str, StringConstraints(max_length=MAX_VALUE_CHARS, strict=True)]
Value = ShortText | StrictInt | StrictFloat | StrictBool


class EventIn(BaseModel):
    """One frontend event: an allowlisted name and at most ten flat, short properties."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "suite_template_chosen", "properties": {"template": "exact_match", "step": 2}},
                {"name": "docs_opened"},
            ]
        },
    )
    name: FrontendEventName
    properties: dict[PropertyName, Value] = Field(default_factory=dict, max_length=MAX_PROPERTIES)

    @field_validator("properties")
    @classmethod
    def _nothing_sensitive(cls, properties: dict[str, PropertyValue]) -> dict[str, PropertyValue]:
        for name, value in properties.items():
            if _FORBIDDEN_NAME.search(name):
                raise ValueError(f"property {name!r} is not allowed: events never carry prompts, outputs or keys")
            if isinstance(value, str) and _KEY_SHAPED.match(value):
                raise ValueError(f"property {name!r} looks like a key: events never carry keys")
        return properties


class EventAccepted(BaseModel):
    """The event was taken; `first` says whether it was the tenant's first of that name."""

    name: str
    first: bool


class ActivationStep(BaseModel):
    """One step of the funnel: when the tenant first reached it (null: not yet)."""

    event: str
    source: Literal["server", "frontend"]
    first_at: datetime | None


class Funnel(BaseModel):
    """The tenant's activation funnel: server steps in order, then frontend events seen."""

    tenant_id: str
    steps: list[ActivationStep]


@router.post("/events", status_code=202, response_model=EventAccepted, summary="Record a frontend event (member)")
async def record_event(body: EventIn, caller: CallerDep, services: ServicesDep) -> EventAccepted:
    """Frontend events from the signed-in app (not API keys); only a tenant's first of each name is kept."""
    authorize(caller, Role.VIEWER, Scope.RUNS_READ, keys_allowed=False)
    first = await asyncio.to_thread(
        services.activation.record_first,
        caller.tenant_id,
        FRONTEND_PREFIX + body.name,
        source="frontend",
        properties=dict(body.properties),
    )
    return EventAccepted(name=body.name, first=first)


@router.get("/activation", response_model=Funnel, summary="The tenant's activation funnel (admin)")
async def activation_funnel(caller: CallerDep, services: ServicesDep) -> Funnel:
    """When the caller's tenant first created a project, a key, a credential, a run, and so on."""
    authorize(caller, Role.ADMIN, Scope.ADMIN, keys_allowed=False)
    rows = await asyncio.to_thread(services.activation.funnel, caller.tenant_id)
    seen = {row.row_key: row.at for row in rows}
    steps = [
        ActivationStep(event=event.value, source="server", first_at=seen.get(event.value)) for event in ActivationEvent
    ]
    steps += [
        ActivationStep(event=name.removeprefix(FRONTEND_PREFIX), source="frontend", first_at=at)
        for name, at in sorted(seen.items(), key=lambda item: item[1])
        if name.startswith(FRONTEND_PREFIX)
    ]
    return Funnel(tenant_id=caller.tenant_id, steps=steps)
