"""Costs from usage: worked examples by hand, unknown counts, unpriced models, estimates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from shared.pricing import ModelPrice, cost_of, default_table, estimate_cost
from shared.providers.anthropic_messages import usage_from_anthropic
from shared.providers.gemini import usage_from_gemini
from shared.providers.models import Usage
from shared.providers.openai_chat import usage_from_openai

# Prices written out here rather than read from prices.json, so the arithmetic below stays true when
# the shipped table is updated.
GPT_4O_MINI = ModelPrice(
    provider="openai",
    model="gpt-4o-mini",
    input_per_mtok=Decimal("0.15"),
    cached_input_per_mtok=Decimal("0.075"),
    output_per_mtok=Decimal("0.60"),
    source="https://openai.com/api/pricing/",
    as_of=date(2025, 9, 1),
    table_version="test-table",
)
CLAUDE_HAIKU = ModelPrice(
    provider="anthropic",
    model="claude-3-5-haiku",
    input_per_mtok=Decimal("0.80"),
    output_per_mtok=Decimal("4.00"),
    cached_input_per_mtok=Decimal("0.08"),
    cache_write_per_mtok=Decimal("1.00"),
    source="https://docs.anthropic.com/en/docs/about-claude/pricing",
    as_of=date(2025, 9, 1),
)
GEMINI_FLASH = ModelPrice(
    provider="gemini",
    model="gemini-2.5-flash",
    input_per_mtok=Decimal("0.30"),
    output_per_mtok=Decimal("2.50"),
    cached_input_per_mtok=Decimal("0.03"),
    source="https://ai.google.dev/gemini-api/docs/pricing",
    as_of=date(2025, 9, 1),
)
# Thinking priced apart from the answer, as Gemini 2.5 Flash's preview was ($0.60 answer, $3.50 thinking).
THINKING_APART = ModelPrice(
    provider="gemini",
    model="flash-preview",
    input_per_mtok=Decimal("0.15"),
    output_per_mtok=Decimal("0.60"),
    reasoning_per_mtok=Decimal("3.50"),
    origin="project",
)


def test_openai_with_cached_tokens() -> None:
    usage = usage_from_openai(
        {
            "prompt_tokens": 12_000,
            "completion_tokens": 500,
            "prompt_tokens_details": {"cached_tokens": 8_192},
            "completion_tokens_details": {"reasoning_tokens": 0},
        }
    )
    cost = cost_of(usage, GPT_4O_MINI)
    # uncached input: (12000 - 8192) = 3808 x $0.15/M  = $0.0005712
    # cached input:            8192 x $0.075/M = $0.0006144
    # output:                   500 x $0.60/M  = $0.0003
    # total                                    = $0.0014856
    assert cost.input_usd == Decimal("0.0005712")
    assert cost.cached_usd == Decimal("0.0006144")
    assert cost.output_usd == Decimal("0.0003")
    assert cost.reasoning_usd == 0
    assert cost.cache_write_usd == 0
    assert cost.total_usd == Decimal("0.0014856")
    assert (cost.priced, cost.complete, cost.unknown) == (True, True, ())
    assert cost.price_version == "test-table"
    assert cost.priced_as == "gpt-4o-mini"


def test_anthropic_with_cache_read_and_write() -> None:
    # Anthropic reports uncached input apart; the adapter's input_tokens is 50 + 2000 + 10000 = 12050.
    usage = usage_from_anthropic(
        {
            "input_tokens": 50,
            "cache_creation_input_tokens": 2_000,
            "cache_read_input_tokens": 10_000,
            "output_tokens": 300,
        }
    )
    assert usage.input_tokens == 12_050
    cost = cost_of(usage, CLAUDE_HAIKU, table_version="2026-11-27")
    # uncached input: (12050 - 10000 - 2000) = 50 x $0.80/M = $0.00004
    # cache reads:                        10000 x $0.08/M = $0.0008
    # cache writes:                        2000 x $1.00/M = $0.002
    # output:                               300 x $4.00/M = $0.0012
    # total                                               = $0.00404
    assert cost.input_usd == Decimal("0.00004")
    assert cost.cached_usd == Decimal("0.0008")
    assert cost.cache_write_usd == Decimal("0.002")
    assert cost.output_usd == Decimal("0.0012")
    assert cost.total_usd == Decimal("0.00404")
    # Anthropic reports no reasoning count; thinking is billed as output, so nothing is unknown.
    assert cost.complete
    assert cost.price_version == "2026-11-27"


def test_gemini_with_reasoning() -> None:
    usage = usage_from_gemini({"promptTokenCount": 1_000, "candidatesTokenCount": 200, "thoughtsTokenCount": 1_800})
    assert (usage.output_tokens, usage.reasoning_tokens) == (2_000, 1_800)
    cost = cost_of(usage, GEMINI_FLASH)
    # input:   1000 x $0.30/M = $0.0003   (no cachedContentTokenCount: nothing cached)
    # answer:   200 x $2.50/M = $0.0005
    # thinking: 1800 x $2.50/M = $0.0045  (thinking is billed as output)
    # total                   = $0.0053
    assert cost.input_usd == Decimal("0.0003")
    assert cost.cached_usd == 0
    assert cost.output_usd == Decimal("0.0005")
    assert cost.reasoning_usd == Decimal("0.0045")
    assert cost.total_usd == Decimal("0.0053")
    assert cost.complete


def test_reasoning_priced_apart() -> None:
    usage = Usage(input_tokens=1_000, output_tokens=2_000, reasoning_tokens=1_800)
    cost = cost_of(usage, THINKING_APART)
    # input: 1000 x $0.15/M = $0.00015; answer: 200 x $0.60/M = $0.00012; thinking: 1800 x $3.50/M = $0.0063
    assert cost.total_usd == Decimal("0.00657")
    assert cost.reasoning_usd == Decimal("0.0063")


def test_an_unpriced_model_is_not_free() -> None:
    table = default_table()
    cost = table.cost_for("openai", "gpt-99-ultra", Usage(input_tokens=10, output_tokens=10))
    assert cost.priced is False
    assert cost.complete is False
    assert cost.total_usd is None
    assert cost.input_usd is None
    assert cost.output_usd is None
    assert cost.price_version == table.version
    assert cost_of(Usage(input_tokens=1, output_tokens=1), None).total_usd is None


def test_missing_totals_make_the_cost_unknown() -> None:
    cost = cost_of(Usage(input_tokens=None, output_tokens=500), GPT_4O_MINI)
    assert cost.priced
    assert not cost.complete
    assert cost.total_usd is None
    assert cost.input_usd is None
    assert cost.output_usd == Decimal("0.0003")  # what is known is still shown
    assert cost.unknown == ("input_tokens not reported",)
    nothing = cost_of(Usage(), GPT_4O_MINI)
    assert nothing.total_usd is None
    assert set(nothing.unknown) == {"input_tokens not reported", "output_tokens not reported"}


def test_a_missing_breakdown_never_understates() -> None:
    # No cached count, cached reads cheaper: all input at the input rate, an upper bound. Complete.
    cost = cost_of(Usage(input_tokens=1_000_000, output_tokens=0), GPT_4O_MINI)
    assert (cost.complete, cost.total_usd) == (True, Decimal("0.15"))
    # No reasoning count while reasoning is dearer than output: could understate, so unknown.
    unknown = cost_of(Usage(input_tokens=1_000, output_tokens=2_000), THINKING_APART)
    assert not unknown.complete
    assert unknown.total_usd is None
    assert unknown.unknown == ("reasoning_tokens not reported, and priced above its base rate",)
    # No cache-write count while writes are dearer than input (Anthropic-compatible servers).
    writes = cost_of(Usage(input_tokens=100, output_tokens=10, cached_input_tokens=0), CLAUDE_HAIKU)
    assert not writes.complete


def test_contradictory_counts_are_unknown() -> None:
    cost = cost_of(Usage(input_tokens=100, output_tokens=10, cached_input_tokens=200), GPT_4O_MINI)
    assert not cost.complete
    assert cost.total_usd is None
    assert "input_tokens (100) is less than its reported parts (200)" in cost.unknown
    assert not cost_of(Usage(input_tokens=1, output_tokens=10, reasoning_tokens=11), GPT_4O_MINI).complete


def test_estimate() -> None:
    # 200 calls x (1500 in x $0.15/M + 400 out x $0.60/M) = 200 x ($0.000225 + $0.00024) = $0.093
    assert estimate_cost(GPT_4O_MINI, 1_500, 400, 200) == Decimal("0.093")
    # Reasoning dearer than output: every output token is assumed to be reasoning (an upper bound).
    # 1000 in x $0.15/M + 1000 out x $3.50/M = $0.00365
    assert estimate_cost(THINKING_APART, 1_000, 1_000) == Decimal("0.00365")
    assert estimate_cost(None, 1_000, 1_000, 10) is None
    with pytest.raises(ValueError, match="negative"):
        estimate_cost(GPT_4O_MINI, -1, 10, 1)
