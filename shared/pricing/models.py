"""One model's price: list prices per million tokens, where the number came from, and what it covers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

# US dollars per million tokens; Decimal so that money is never a binary float.
PerMTok = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]

TOKENS_PER_MTOK = Decimal(1_000_000)


class ModelPrice(BaseModel):
    """List prices of one model of one provider, in USD per million tokens.

    The rates follow the token convention of `shared.providers.models.Usage`: input covers every prompt
    token and the cached and cache-write rates replace it for those parts; output covers every
    generated token and the reasoning rate replaces it for reasoning tokens. A None rate means "billed
    at the base rate" (input for cached reads and cache writes, output for reasoning), not "free".

    `model` is the provider's model id or family name; dated snapshots of a family
    (`gpt-4o-mini-2024-07-18`) are priced by it, and `aliases` name other ids billed the same.
    `table_version` is set on prices handed out by a PriceTable, so each cost records its table.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str = Field(min_length=1)
    model: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    simulated: bool = False
    input_per_mtok: PerMTok
    output_per_mtok: PerMTok
    cached_input_per_mtok: PerMTok | None = None
    cache_write_per_mtok: PerMTok | None = None
    reasoning_per_mtok: PerMTok | None = None
    source: str | None = None
    as_of: date | None = None
    notes: str | None = None
    # "table": shipped list price; "project": a project's override (its source and date are optional).
    origin: Literal["table", "project"] = "table"
    table_version: str | None = None

    @model_validator(mode="after")
    def _shipped_prices_say_where_they_come_from(self) -> Self:
        if self.origin == "table":
            if self.source is None or self.as_of is None:
                raise ValueError(f"{self.provider}/{self.model}: a list price needs its source and as_of date")
            # Real prices cite the provider's page; simulated ones say they are made up.
            prefix = "urn:tokenroute:" if self.simulated else "https://"
            if not self.source.startswith(prefix):
                raise ValueError(f"{self.provider}/{self.model}: source must start with {prefix!r}")
        return self

    @property
    def cached_rate(self) -> Decimal:
        """USD per million cached input tokens (the input rate when the provider gives no discount)."""
        return self.input_per_mtok if self.cached_input_per_mtok is None else self.cached_input_per_mtok

    @property
    def cache_write_rate(self) -> Decimal:
        """USD per million tokens written to the prompt cache (the input rate when not priced apart)."""
        return self.input_per_mtok if self.cache_write_per_mtok is None else self.cache_write_per_mtok

    @property
    def reasoning_rate(self) -> Decimal:
        """USD per million reasoning tokens (the output rate when not priced apart)."""
        return self.output_per_mtok if self.reasoning_per_mtok is None else self.reasoning_per_mtok

    @property
    def key(self) -> str:
        """`provider/model`, as costs name the price they used."""
        return f"{self.provider}/{self.model}"
