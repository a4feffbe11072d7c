"""Scoring: what a case's scorers say about one output. Domain code, no I/O of its own.

Start at `combine.validate_specs` (suite creation) and `combine.score_case` (per result). Specs are
in `specs`; deterministic scorers in `scorers` (`score`), the LLM judge in `judge` (the model call is an
injected `JudgeFn`), embedding similarity in `embedding` (an optional extra behind `Embedder`).
No tenant-supplied code runs: tenant regexes and JSON schema patterns are time-limited (`patterns`),
JSON schemas resolve local references only (`jsonschemas`).
"""

from shared.scoring.combine import combine, score_case, validate_specs
from shared.scoring.embedding import Embedder
from shared.scoring.errors import ScorerUnavailable, ScoringFailed, SpecError
from shared.scoring.judge import JudgeFn, JudgeReply, JudgeRequest, score_with_judge
from shared.scoring.results import CaseScore, JudgeUsageTotals, ScoreResult
from shared.scoring.scorers import score
from shared.scoring.specs import ScorerSpec, parse_specs

__all__ = [
    "CaseScore",
    "Embedder",
    "JudgeFn",
    "JudgeReply",
    "JudgeRequest",
    "JudgeUsageTotals",
    "ScoreResult",
    "ScorerSpec",
    "ScorerUnavailable",
    "ScoringFailed",
    "SpecError",
    "combine",
    "parse_specs",
    "score",
    "score_case",
    "score_with_judge",
    "validate_specs",
]
