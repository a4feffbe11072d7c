"""The versioned price table shipped as data (`prices.json`), lookups with aliases, and project overrides.

Lookup of (provider, model), case-insensitive, in this order:
1. an entry whose `model` is the id;
2. an entry listing the id in `aliases`;
3. a family entry the id extends by a snapshot suffix only (`-2024-07-18`, `-20241022`, `-2411`, `-001`,
   `-latest`), the longest such family winning. The suffix rule is what keeps `gpt-4o` from pricing
   `gpt-4o-mini-2024-07-18` and `claude-sonnet-4` from pricing `claude-sonnet-4-5-20250929`: what
   follows the family name must be nothing but a date or version stamp.
Anything else is unpriced (None), never priced at 0.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from shared.pricing.cost import Cost, cost_of
from shared.pricing.models import ModelPrice
from shared.providers.models import Usage

PACKAGE = "shared.pricing"
DATA_FILE = "prices.json"

_SNAPSHOT_SUFFIX = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|\d{3}|latest)")


def _key(name: str) -> str:
    return name.strip().lower()


def _model_key(provider: str, model: str) -> str:
    key = _key(model)
    # Gemini names models `models/gemini-2.5-flash` in some places and `gemini-2.5-flash` in others.
    if provider == "gemini" and key.startswith("models/"):
        key = key.removeprefix("models/")
    return key


class PriceTable(BaseModel):
    """A dated, versioned set of model prices. Immutable: overrides make a new table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}(\+[A-Za-z0-9:.+-]+)?$")
    published: date
    currency: Literal["USD"]
    models: tuple[ModelPrice, ...]

    _exact: dict[tuple[str, str], ModelPrice] = PrivateAttr(default_factory=dict)
    _aliases: dict[tuple[str, str], ModelPrice] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _index(self) -> Self:
        for price in self.models:
            if price.table_version is not None:
                raise ValueError(f"{price.key}: table_version is set by the table, not by its entries")
            provider = _key(price.provider)
            key = (provider, _model_key(provider, price.model))
            if key in self._exact:
                raise ValueError(f"{price.key} is listed twice")
            self._exact[key] = price
        for price in self.models:
            provider = _key(price.provider)
            for alias in price.aliases:
                key = (provider, _model_key(provider, alias))
                if key in self._exact or key in self._aliases:
                    raise ValueError(f"alias {alias!r} of {price.key} names another price too")
                self._aliases[key] = price
        return self

    @classmethod
    def from_json(cls, text: str | bytes) -> PriceTable:
        """A table from its JSON text; numbers are read as Decimal, never through float."""
        return cls.model_validate(json.loads(text, parse_float=Decimal))

    def price_for(self, provider: str, model: str) -> ModelPrice | None:
        """The price of `model` at `provider` (see the module docstring for aliases), or None: unpriced."""
        found = self._find(_key(provider), model)
        return None if found is None else found.model_copy(update={"table_version": self.version})

    def _find(self, provider: str, model: str) -> ModelPrice | None:
        key = _model_key(provider, model)
        found = self._exact.get((provider, key)) or self._aliases.get((provider, key))
        if found is not None:
            return found
        family: tuple[int, ModelPrice] | None = None
        for (entry_provider, name), price in self._exact.items():
            if (
                entry_provider == provider
                and key.startswith(name)
                and _SNAPSHOT_SUFFIX.fullmatch(key[len(name) :])
                and (family is None or len(name) > family[0])
            ):
                family = (len(name), price)
        return None if family is None else family[1]

    def cost_for(self, provider: str, model: str, usage: Usage) -> Cost:
        """The cost of `usage` at this table's price for the model; unpriced models still record the version."""
        return cost_of(usage, self.price_for(provider, model), table_version=self.version)

    def with_overrides(self, overrides: Iterable[ModelPrice | Mapping[str, Any]]) -> PriceTable:
        """A new table where each override replaces the entry of its (provider, model) or adds one.

        The version becomes `<version>+project:<hash>`, the hash covering the overrides' content, so
        costs say they used a project's prices and which ones. An override without aliases keeps the
        aliases of the entry it replaces. No overrides: this table, unchanged.
        """
        parsed = [
            ModelPrice.model_validate(
                {**(dict(item) if isinstance(item, Mapping) else item.model_dump()), "origin": "project"}
            )
            for item in overrides
        ]
        if not parsed:
            return self
        models = {self._entry_key(price): price for price in self.models}
        seen: set[tuple[str, str]] = set()
        for override in parsed:
            key = self._entry_key(override)
            if key in seen:
                raise ValueError(f"{override.key} is overridden twice")
            seen.add(key)
            previous = models.get(key)
            if previous is not None and not override.aliases:
                override = override.model_copy(update={"aliases": previous.aliases})
            owner = self._aliases.get(key)
            if owner is not None:
                # The override prices a name that was an alias: the name now has its own entry.
                current = models[self._entry_key(owner)]
                kept = tuple(alias for alias in current.aliases if (key[0], _model_key(key[0], alias)) != key)
                models[self._entry_key(owner)] = current.model_copy(update={"aliases": kept})
            models[key] = override
        return PriceTable(
            version=f"{self.version}+project:{overrides_hash(parsed)}",
            published=self.published,
            currency=self.currency,
            models=tuple(models.values()),
        )

    @staticmethod
    def _entry_key(price: ModelPrice) -> tuple[str, str]:
        provider = _key(price.provider)
        return provider, _model_key(provider, price.model)


def _canonical(value: object) -> object:
    if isinstance(value, Decimal):
        # 0.150 and 0.15 are the same price: the same hash.
        return format(value.normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot hash {type(value).__name__}")


def overrides_hash(overrides: Iterable[ModelPrice]) -> str:
    """12 hex digits identifying a set of overrides by content (order and number spelling do not matter)."""
    rows = sorted(
        (price.model_dump(exclude={"table_version", "origin"}) for price in overrides),
        key=lambda row: (_key(row["provider"]), _key(row["model"])),
    )
    text = json.dumps(rows, default=_canonical, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@functools.cache
def default_table() -> PriceTable:
    """The table shipped with this code (`shared/pricing/prices.json`), loaded and validated once."""
    return PriceTable.from_json(resources.files(PACKAGE).joinpath(DATA_FILE).read_bytes())
