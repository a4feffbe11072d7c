"""Model prices and call costs: a versioned price table shipped as data, with project overrides.

Start at `default_table()`, then `table.with_overrides(project_prices)` and
`table.cost_for(provider, model, usage)`. Every cost records the table version it was computed with;
a model without a price is unpriced (`Cost.priced` False, amounts None), never free.
"""

from shared.pricing.cost import Cost, cost_of, unpriced
from shared.pricing.estimate import estimate_cost
from shared.pricing.models import ModelPrice
from shared.pricing.table import PriceTable, default_table, overrides_hash

__all__ = [
    "Cost",
    "ModelPrice",
    "PriceTable",
    "cost_of",
    "default_table",
    "estimate_cost",
    "overrides_hash",
    "unpriced",
]
