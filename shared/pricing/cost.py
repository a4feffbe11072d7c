"""What a call cost: the provider's usage times the model's price, in Decimal USD.

Billing follows the token convention of `shared.providers.models.Usage`:
- input = uncached input + cached reads + cache writes. Uncached input is billed at the input rate,
  cached reads at the cached rate, cache writes at the cache-write rate (both default to the input rate);
- output = visible output + reasoning. Visible output is billed at the output rate, reasoning at the
  reasoning rate (default: the output rate).

Unknowns are never silently zero:
- no price: `priced=False` and every amount None (an unpriced model is not a free one);
- `input_tokens` or `output_tokens` not reported: the cost is `complete=False` with `total_usd` None,
  the amounts that could be computed are kept, and `unknown` says what is missing;
- a breakdown count not reported (cached, cache-write, reasoning) counts as none of those tokens, since
  providers report them whenever they occur; those tokens are then billed at the base rate of their
  total, which can only overstate the cost when their own rate is lower. When their own rate is higher
  (cache writes at 1.25x input, reasoning priced above output) a missing count could understate, so
  the cost is incomplete instead;
- counts that contradict each other (cached + cache writes > input, reasoning > output): incomplete.

Amounts are exact Decimals (no rounding here; round when displaying).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.pricing.models import TOKENS_PER_MTOK, ModelPrice
from shared.providers.models import Usage


class Cost(BaseModel):
    """The cost of one call, by part. `total_usd` is None unless `priced` and `complete`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    priced: bool
    complete: bool
    total_usd: Decimal | None
    input_usd: Decimal | None  # uncached input
    cached_usd: Decimal | None
    cache_write_usd: Decimal | None
    output_usd: Decimal | None  # visible output, reasoning excluded
    reasoning_usd: Decimal | None
    price_version: str | None
    priced_as: str | None  # the table's model whose price was used (the family of a dated snapshot)
    unknown: tuple[str, ...] = ()
    currency: Literal["USD"] = "USD"


def _usd(tokens: int, per_mtok: Decimal) -> Decimal:
    return Decimal(tokens) * per_mtok / TOKENS_PER_MTOK


def _part(count: int | None, name: str, rate: Decimal, base_rate: Decimal, unknown: list[str]) -> int:
    """A breakdown count, None read as 0 when that cannot understate (see the module docstring)."""
    if count is not None:
        return count
    if rate > base_rate:
        unknown.append(f"{name} not reported, and priced above its base rate")
    return 0


def _rest(total: int | None, parts: int, name: str, unknown: list[str]) -> int | None:
    """`total - parts`, or None when the total is unknown or smaller than its parts."""
    if total is None:
        unknown.append(f"{name} not reported")
        return None
    if parts > total:
        unknown.append(f"{name} ({total}) is less than its reported parts ({parts})")
        return None
    return total - parts


def unpriced(table_version: str | None = None) -> Cost:
    """The cost of a call to a model without a price: unknown, never zero."""
    return Cost(
        priced=False,
        complete=False,
        total_usd=None,
        input_usd=None,
        cached_usd=None,
        cache_write_usd=None,
        output_usd=None,
        reasoning_usd=None,
        price_version=table_version,
        priced_as=None,
        unknown=("no price for this model",),
    )


def cost_of(usage: Usage, price: ModelPrice | None, *, table_version: str | None = None) -> Cost:
    """The cost of `usage` at `price` (see the module docstring for how unknown counts are handled).

    `price_version` is the price's table version, else `table_version` (pass the table's version so
    that an unpriced result also records which table it was looked up in).
    """
    version = price.table_version if price is not None and price.table_version is not None else table_version
    if price is None:
        return unpriced(version)
    unknown: list[str] = []
    cached = _part(usage.cached_input_tokens, "cached_input_tokens", price.cached_rate, price.input_per_mtok, unknown)
    writes = _part(
        usage.cache_write_tokens, "cache_write_tokens", price.cache_write_rate, price.input_per_mtok, unknown
    )
    reasoning = _part(usage.reasoning_tokens, "reasoning_tokens", price.reasoning_rate, price.output_per_mtok, unknown)
    uncached = _rest(usage.input_tokens, cached + writes, "input_tokens", unknown)
    visible = _rest(usage.output_tokens, reasoning, "output_tokens", unknown)

    parts = {
        "input_usd": None if uncached is None else _usd(uncached, price.input_per_mtok),
        "cached_usd": _usd(cached, price.cached_rate),
        "cache_write_usd": _usd(writes, price.cache_write_rate),
        "output_usd": None if visible is None else _usd(visible, price.output_per_mtok),
        "reasoning_usd": _usd(reasoning, price.reasoning_rate),
    }
    complete = not unknown
    total = sum((amount for amount in parts.values() if amount is not None), Decimal(0)) if complete else None
    return Cost(
        priced=True,
        complete=complete,
        total_usd=total,
        price_version=version,
        priced_as=price.model,
        unknown=tuple(unknown),
        **parts,
    )
