"""The shipped price table, model aliasing and project overrides."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from shared.pricing import ModelPrice, PriceTable, default_table, overrides_hash
from shared.providers.models import ChatMessage, ChatRequest
from shared.providers.registry import ALL_PROVIDER_NAMES
from shared.providers.sandbox import BUILTIN_MODELS, complete_sandbox


async def _no_sleep(seconds: float) -> None:
    del seconds


def test_the_shipped_table_validates_and_cites_its_sources() -> None:
    table = default_table()
    assert table.currency == "USD"
    assert table.version == table.published.isoformat()
    assert len(table.models) > 40
    providers = {price.provider for price in table.models}
    expected = {"openai", "azure_openai", "anthropic", "gemini", "mistral", "groq", "together", "deepseek", "sandbox"}
    assert providers == expected
    assert providers <= ALL_PROVIDER_NAMES
    for price in table.models:
        assert price.origin == "table"
        assert price.as_of is not None
        assert price.as_of <= table.published
        assert price.source is not None
        if price.simulated:
            assert price.provider == "sandbox"
            assert price.source.startswith("urn:tokenroute:")
        else:
            assert price.source.startswith("https://")
        assert price.output_per_mtok > 0
        assert price.cached_rate <= price.input_per_mtok


def test_every_builtin_sandbox_model_has_a_simulated_price() -> None:
    table = default_table()
    for model in BUILTIN_MODELS:
        price = table.price_for("sandbox", model)
        assert price is not None
        assert price.simulated


def test_prices_are_read_as_exact_decimals() -> None:
    price = default_table().price_for("openai", "gpt-4o-mini")
    assert price is not None
    assert price.cached_input_per_mtok == Decimal("0.075")
    assert price.table_version == default_table().version


@pytest.mark.parametrize(
    ("provider", "model", "priced_as"),
    [
        ("openai", "gpt-4o-mini", "gpt-4o-mini"),
        ("openai", "gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("openai", "gpt-4o-2024-08-06", "gpt-4o"),
        ("openai", "GPT-4o-Mini-2024-07-18", "gpt-4o-mini"),
        ("openai", "o3-mini-2025-01-31", "o3-mini"),
        ("openai", "gpt-5-chat-latest", "gpt-5"),  # explicit alias
        ("azure_openai", "gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("anthropic", "claude-3-5-haiku-20241022", "claude-3-5-haiku"),
        ("anthropic", "claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("anthropic", "claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("anthropic", "claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("gemini", "models/gemini-2.5-flash", "gemini-2.5-flash"),
        ("gemini", "gemini-2.0-flash-001", "gemini-2.0-flash"),
        ("gemini", "gemini-2.0-flash-lite-001", "gemini-2.0-flash-lite"),
        ("mistral", "mistral-small-latest", "mistral-small-2506"),
        ("together", "meta-llama/llama-3.3-70b-instruct-turbo", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    ],
)
def test_aliases_and_snapshots(provider: str, model: str, priced_as: str) -> None:
    price = default_table().price_for(provider, model)
    assert price is not None
    assert price.model == priced_as


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("openai", "gpt-4o-mini-tts"),  # not a snapshot of gpt-4o-mini
        ("openai", "o1-mini"),  # not o1
        ("openai", "gpt-5-pro"),
        ("anthropic", "claude-sonnet-4-6"),  # a new version is not its predecessor
        ("mistral", "mistral-small-2402"),  # an older, dearer Mistral Small
        ("gemini", "gemini-2.5-flash-preview-05-20"),  # previews were priced differently
        ("openai", "claude-3-5-haiku"),  # the provider matters
        ("sandbox", "sandbox/unknown"),
    ],
)
def test_unlisted_models_are_unpriced(provider: str, model: str) -> None:
    assert default_table().price_for(provider, model) is None


def _override(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "input_per_mtok": "0.10",
        "output_per_mtok": "0.50",
    }
    row.update(changes)
    return row


def test_overrides_replace_and_add() -> None:
    base = default_table()
    mine = ModelPrice(
        provider="openai_compatible",
        model="my-llama",
        input_per_mtok=Decimal(0),
        output_per_mtok=Decimal(0),
        origin="project",
    )
    table = base.with_overrides([_override(), mine])
    expected_hash = overrides_hash([ModelPrice.model_validate({**_override(), "origin": "project"}), mine])
    assert table.version == f"{base.version}+project:{expected_hash}"
    assert len(expected_hash) == 12
    replaced = table.price_for("openai", "gpt-4o-mini-2024-07-18")
    assert replaced is not None
    assert (replaced.input_per_mtok, replaced.origin, replaced.table_version) == (
        Decimal("0.10"),
        "project",
        table.version,
    )
    assert replaced.cached_input_per_mtok is None  # an override states its whole price
    added = table.price_for("openai_compatible", "my-llama")
    assert added is not None
    assert added.output_per_mtok == 0  # an explicit price of 0 is a price; "no price" is None
    # The shipped table is untouched, and everything else keeps its list price.
    original = base.price_for("openai", "gpt-4o-mini")
    assert original is not None
    assert original.input_per_mtok == Decimal("0.15")
    untouched, listed = table.price_for("openai", "gpt-4o"), base.price_for("openai", "gpt-4o")
    assert untouched is not None
    assert listed is not None
    assert untouched.model_copy(update={"table_version": None}) == listed.model_copy(update={"table_version": None})
    assert len(table.models) == len(base.models) + 1


def test_the_override_hash_depends_on_content_only() -> None:
    base = default_table()
    one = base.with_overrides([_override(), _override(model="gpt-4o", input_per_mtok="2")])
    same = base.with_overrides([_override(model="gpt-4o", input_per_mtok="2.000"), _override(input_per_mtok="0.1")])
    other = base.with_overrides([_override(), _override(model="gpt-4o", input_per_mtok="2.01")])
    assert one.version == same.version
    assert one.version != other.version
    assert base.with_overrides([]) is base


def test_overrides_keep_aliases_and_can_price_an_alias_apart() -> None:
    base = default_table()
    kept = base.with_overrides([_override(provider="mistral", model="mistral-small-2506")])
    latest = kept.price_for("mistral", "mistral-small-latest")
    assert latest is not None
    assert latest.origin == "project"
    apart = base.with_overrides([_override(provider="mistral", model="mistral-small-latest", input_per_mtok="9")])
    alias_price = apart.price_for("mistral", "mistral-small-latest")
    pinned = apart.price_for("mistral", "mistral-small-2503")
    assert alias_price is not None
    assert pinned is not None
    assert (alias_price.input_per_mtok, pinned.input_per_mtok) == (Decimal(9), Decimal("0.10"))


def test_bad_overrides_and_tables_are_refused() -> None:
    base = default_table()
    with pytest.raises(ValueError, match="overridden twice"):
        base.with_overrides([_override(), _override(model="GPT-4o-mini")])
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        base.with_overrides([_override(input_per_mtok="-1")])
    with pytest.raises(ValidationError, match="extra"):
        base.with_overrides([_override(price=1)])
    with pytest.raises(ValidationError, match="names another price"):
        base.with_overrides([_override(model="my-mini", aliases=["gpt-4o"])])
    row = json.loads(json.dumps(_override(source="https://openai.com/api/pricing/", as_of="2025-09-01")))
    doc = {"version": "2026-11-27", "published": "2026-11-27", "currency": "USD", "models": [row, row]}
    with pytest.raises(ValidationError, match="listed twice"):
        PriceTable.from_json(json.dumps(doc))
    doc["models"] = [_override()]
    with pytest.raises(ValidationError, match="needs its source and as_of"):
        PriceTable.from_json(json.dumps(doc))
    doc["models"] = [{**row, "source": "http://openai.com"}]
    with pytest.raises(ValidationError, match="source must start with 'https://'"):
        PriceTable.from_json(json.dumps(doc))


async def test_a_sandbox_call_is_costed_with_its_simulated_price() -> None:
    request = ChatRequest(model="sandbox/slow-careful", messages=(ChatMessage(role="user", content="x" * 4000),))
    completion = await complete_sandbox(
        request, expected="B", seed=1, case_id="c1", trial=0, params=None, sleep=_no_sleep
    )
    cost = default_table().cost_for("sandbox", request.model, completion.usage)
    assert cost.priced
    assert cost.complete
    assert cost.total_usd is not None
    assert cost.total_usd > 0
    assert cost.reasoning_usd is not None
    assert cost.reasoning_usd > 0
    assert cost.priced_as == "sandbox/slow-careful"
