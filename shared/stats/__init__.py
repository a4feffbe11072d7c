"""Statistics for benchmark results: pure functions over plain values, stdlib only, deterministic for
a given seed.

`intervals` (Wilson, bootstrap), `percentiles` (exact, and the mergeable `QuantileSketch`),
`compare` (McNemar exact, paired bootstrap, verdict and sentence), `power` (how many more cases),
`summary` (one target's statistics).
"""

from shared.stats.compare import Comparison, compare_binary, compare_cases, compare_scores, mcnemar_exact_p
from shared.stats.intervals import bootstrap_mean_interval, mean, wilson_interval
from shared.stats.percentiles import QuantileSketch, percentile
from shared.stats.power import (
    additional_cases_needed,
    cases_needed,
    cases_needed_for_bound,
    cases_needed_for_mean_bound,
    cases_needed_for_mean_difference,
)
from shared.stats.summary import Interval, ItemOutcome, TargetSummary, summarize_target

__all__ = [
    "Comparison",
    "Interval",
    "ItemOutcome",
    "QuantileSketch",
    "TargetSummary",
    "additional_cases_needed",
    "bootstrap_mean_interval",
    "cases_needed",
    "cases_needed_for_bound",
    "cases_needed_for_mean_bound",
    "cases_needed_for_mean_difference",
    "compare_binary",
    "compare_cases",
    "compare_scores",
    "mcnemar_exact_p",
    "mean",
    "percentile",
    "summarize_target",
    "wilson_interval",
]
