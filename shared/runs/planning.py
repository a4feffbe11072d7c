"""Before a run starts: check what it refers to, estimate its cost, and cut it into shards."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from shared.pricing.estimate import estimate_cost
from shared.pricing.table import PriceTable
from shared.providers.registry import ALL_PROVIDER_NAMES, is_simulated
from shared.providers.sandbox import sandbox_params
from shared.runs.models import RunCreate, TargetSpec
from shared.runs.sharding import target_id
from shared.suites.models import SuiteContent

# Without max_tokens, assume this many output tokens per call for the estimate.
DEFAULT_OUTPUT_TOKENS = 512
CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4


class PlanError(ValueError):
    """The run cannot start as asked; `path` names the field (e.g. `body.targets[1].credential_id`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass(frozen=True)
class TargetEstimate:
    """The estimated cost of one target's calls (None: the model has no price)."""

    target_id: str
    display: str
    calls: int
    input_tokens: int
    max_output_tokens: int
    cost_usd: Decimal | None


@dataclass(frozen=True)
class Estimate:
    """The run's estimated cost: an upper bound for priced targets, unknown for unpriced ones."""

    total_usd: Decimal
    targets: list[TargetEstimate]
    price_version: str

    @property
    def unpriced(self) -> list[str]:
        """Ids of targets whose cost cannot be estimated."""
        return [t.target_id for t in self.targets if t.cost_usd is None]


def check_targets(targets: list[TargetSpec], known_credentials: Mapping[str, str]) -> None:
    """Refuse unknown providers, missing credentials and a credential of another provider (its key
    would be sent to the wrong service), naming the field. `known_credentials`: id -> provider."""
    for index, target in enumerate(targets):
        path = f"body.targets[{index}]"
        if target.provider not in ALL_PROVIDER_NAMES:
            raise PlanError(f"{path}.provider", f"unknown provider {target.provider!r}")
        if is_simulated(target.provider):
            try:
                sandbox_params(target.model, target.sandbox)
            except ValueError as exc:
                raise PlanError(f"{path}.sandbox", str(exc)) from None
            continue
        if target.sandbox is not None:
            raise PlanError(f"{path}.sandbox", "only sandbox targets take simulation parameters")
        if target.credential_id is None:
            raise PlanError(f"{path}.credential_id", "required for a provider target")
        if target.credential_id not in known_credentials:
            raise PlanError(f"{path}.credential_id", "no such credential in this project")
        if known_credentials[target.credential_id] != target.provider:
            raise PlanError(
                f"{path}.credential_id",
                f"this credential is for {known_credentials[target.credential_id]}, not {target.provider}",
            )


def estimate_run(content: SuiteContent, request: RunCreate, prices: PriceTable) -> Estimate:
    """Estimate input tokens from the rendered prompts and output tokens from max_tokens."""
    input_tokens = 0
    for case in content.cases:
        messages = content.render_case(case)
        chars = sum(len(m.content) for m in messages)
        input_tokens += math.ceil(chars / CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE * len(messages)
    calls = len(content.cases) * request.trials
    per_call_input = math.ceil(input_tokens / max(len(content.cases), 1))
    estimates = []
    for index, target in enumerate(request.targets):
        max_output = target.params.max_tokens or _typical_output(target)
        cost = estimate_cost(prices.price_for(target.provider, target.model), per_call_input, max_output, calls)
        estimates.append(
            TargetEstimate(
                target_id=target_id(index),
                display=target.display,
                calls=calls,
                input_tokens=input_tokens * request.trials,
                max_output_tokens=max_output,
                cost_usd=cost,
            )
        )
    total = sum((e.cost_usd for e in estimates if e.cost_usd is not None), Decimal(0))
    return Estimate(total_usd=total, targets=estimates, price_version=prices.version)


def _typical_output(target: TargetSpec) -> int:
    if is_simulated(target.provider):
        # The sandbox draws up to 1.5x its typical output.
        return math.ceil(sandbox_params(target.model, target.sandbox).output_tokens * 1.5)
    return DEFAULT_OUTPUT_TOKENS
