"""Pre-run cost estimates: an upper bound, so a budget check errs on the side of caution."""

from __future__ import annotations

from decimal import Decimal

from shared.pricing.models import TOKENS_PER_MTOK, ModelPrice


def estimate_cost(
    price: ModelPrice | None, input_tokens: int, max_output_tokens: int, n_calls: int = 1
) -> Decimal | None:
    """At most what `n_calls` calls of `input_tokens` in and up to `max_output_tokens` out will cost.

    Input is billed at the full input rate (no cache discount assumed) and every output token at the
    dearer of the output and reasoning rates. None when the model has no price: unknown, not free.
    """
    if min(input_tokens, max_output_tokens, n_calls) < 0:
        raise ValueError("token counts and the number of calls must not be negative")
    if price is None:
        return None
    output_rate = max(price.output_per_mtok, price.reasoning_rate)
    per_call = Decimal(input_tokens) * price.input_per_mtok + Decimal(max_output_tokens) * output_rate
    return per_call * n_calls / TOKENS_PER_MTOK
