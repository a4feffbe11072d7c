"""Prices: `GET /api/v1/pricing` (the shipped table) and `/api/v1/projects/{project}/pricing` (its overrides)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator

from shared.api.auth import ProjectAccess, actor_of, get_caller, project_access
from shared.api.dependencies import ServicesDep
from shared.api.problems import CONFLICT_RESPONSE, ApiProblem, FieldError
from shared.pricing.models import ModelPrice
from shared.pricing.overrides import MAX_OVERRIDES, PriceOverridesRefused, ProjectPrices
from shared.pricing.table import default_table
from shared.providers.registry import ALL_PROVIDER_NAMES, is_simulated
from shared.tenancy.roles import Role, Scope

router = APIRouter(tags=["pricing"])

AdminAccess = Annotated[ProjectAccess, Depends(project_access(Role.ADMIN, Scope.ADMIN))]
ViewerAccess = Annotated[ProjectAccess, Depends(project_access(Role.VIEWER, Scope.RUNS_READ))]

# Money as a plain decimal string ("0.15", never "1.5E-1"), exact as stored.
Usd = Annotated[Decimal, PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json")]
Rate = Annotated[Decimal, Field(ge=0, le=100_000, max_digits=18, decimal_places=9, allow_inf_nan=False)]
ModelName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\s\x00-\x1f\x7f]+$")]
Text = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00-\x1f\x7f]+$")]


class Price(BaseModel):
    """One model's prices in USD per million tokens; a null rate is billed at its base rate, not free."""

    provider: str
    model: str
    aliases: list[str]
    simulated: bool = Field(description="A sandbox model: simulated, with made-up prices.")
    input_per_mtok: Usd
    output_per_mtok: Usd
    cached_input_per_mtok: Usd | None
    cache_write_per_mtok: Usd | None
    reasoning_per_mtok: Usd | None
    source: str | None
    as_of: date | None
    notes: str | None
    origin: Literal["table", "project"] = Field(description="`table`: the shipped list price; `project`: an override.")

    @classmethod
    def of(cls, price: ModelPrice) -> Price:
        """The public view of a price."""
        return cls(
            provider=price.provider,
            model=price.model,
            aliases=list(price.aliases),
            simulated=price.simulated or is_simulated(price.provider),
            input_per_mtok=price.input_per_mtok,
            output_per_mtok=price.output_per_mtok,
            cached_input_per_mtok=price.cached_input_per_mtok,
            cache_write_per_mtok=price.cache_write_per_mtok,
            reasoning_per_mtok=price.reasoning_per_mtok,
            source=price.source,
            as_of=price.as_of,
            notes=price.notes,
            origin=price.origin,
        )


class PriceTableOut(BaseModel):
    """The price table shipped with this version of TokenRoute."""

    version: str
    published: date
    currency: Literal["USD"]
    models: list[Price]


class PriceOverride(BaseModel):
    """A project's price for one model: replaces the shipped entry of (provider, model) or adds one."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"provider": "openai", "model": "gpt-4o", "input_per_mtok": "2.00", "output_per_mtok": "8.00"}]
        },
    )
    provider: str = Field(max_length=40)
    model: ModelName
    aliases: list[ModelName] = Field(default_factory=list, max_length=16)
    input_per_mtok: Rate
    output_per_mtok: Rate
    cached_input_per_mtok: Rate | None = None
    cache_write_per_mtok: Rate | None = None
    reasoning_per_mtok: Rate | None = None
    source: Text | None = Field(default=None, description="Where the price comes from, e.g. your contract.")
    as_of: date | None = None
    notes: Text | None = None

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        if value not in ALL_PROVIDER_NAMES:
            raise ValueError(f"unknown provider; known: {', '.join(sorted(ALL_PROVIDER_NAMES))}")
        return value

    def to_price(self) -> ModelPrice:
        """The override as a price of origin `project`."""
        return ModelPrice(
            **self.model_dump(exclude={"aliases"}),
            aliases=tuple(self.aliases),
            simulated=is_simulated(self.provider),
            origin="project",
        )


class ProjectPricingUpdate(BaseModel):
    """The project's whole list of overrides (an empty list removes them all)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "models": [
                        {
                            "provider": "openai",
                            "model": "gpt-4o",
                            "input_per_mtok": "2.00",
                            "output_per_mtok": "8.00",
                            "source": "Enterprise contract 2025",
                        }
                    ]
                }
            ]
        },
    )
    models: list[PriceOverride] = Field(max_length=MAX_OVERRIDES)


class ProjectPricing(BaseModel):
    """A project's overrides and the version of the table its costs use."""

    base_version: str = Field(description="The shipped table's version.")
    version: str = Field(
        description="The version costs of this project record: `<base>+project:<hash>` with overrides."
    )
    overrides: list[Price]
    updated_at: datetime | None
    updated_by: str | None


def _project_pricing(prices: ProjectPrices) -> ProjectPricing:
    base = default_table()
    return ProjectPricing(
        base_version=base.version,
        version=base.with_overrides(prices.overrides).version,
        overrides=[Price.of(p) for p in prices.overrides],
        updated_at=prices.updated_at,
        updated_by=prices.updated_by,
    )


def _refused(path: str, message: str, code: str) -> ApiProblem:
    error = FieldError(path=path, message=message, type=code)
    return ApiProblem(422, "validation", "Invalid request", f"1 field(s) failed validation: {path}", errors=[error])


@router.get("/pricing", response_model=PriceTableOut, summary="The shipped price table (any caller)",
            dependencies=[Depends(get_caller)])  # fmt: skip
async def get_pricing() -> PriceTableOut:
    """Version, publication date and every model's list price with its source and date; sandbox models are
    marked simulated."""
    table = default_table()
    return PriceTableOut(
        version=table.version,
        published=table.published,
        currency=table.currency,
        models=[Price.of(p) for p in table.models],
    )


@router.get("/projects/{project}/pricing", response_model=ProjectPricing, summary="A project's prices (viewer)")
async def get_project_pricing(access: ViewerAccess, services: ServicesDep) -> ProjectPricing:
    """The project's overrides of the shipped table."""
    prices = await asyncio.to_thread(services.price_overrides.get, access.tenant_id, access.project_id)
    return _project_pricing(prices)


@router.put(
    "/projects/{project}/pricing",
    response_model=ProjectPricing,
    summary="Set a project's prices (admin)",
    responses=CONFLICT_RESPONSE,
)
async def put_project_pricing(
    body: ProjectPricingUpdate, access: AdminAccess, services: ServicesDep, request: Request
) -> ProjectPricing:
    """Replace the project's overrides; runs started afterwards cost with them (audited)."""
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(body.models):
        key = (item.provider, item.model.strip().lower())
        if key in seen:
            raise _refused(f"body.models[{index}].model", "this model is listed twice", "duplicate")
        seen.add(key)
    try:
        prices = await asyncio.to_thread(
            services.price_overrides.replace,
            access.tenant_id,
            access.project_id,
            [item.to_price() for item in body.models],
            access.caller.id,
        )
    except PriceOverridesRefused as exc:
        raise _refused("body.models", str(exc), "invalid_overrides") from None
    answer = _project_pricing(prices)
    await asyncio.to_thread(
        services.audit.record,
        access.tenant_id,
        access.project_id,
        actor_of(request, access.caller),
        "settings.pricing_changed",
        "project",
        access.project_id,
        {"count": len(prices.overrides), "models": [p.key for p in prices.overrides][:50], "version": answer.version},
    )
    return answer
