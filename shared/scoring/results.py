"""What a scorer returns for one output, and what a case's scorers add up to."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.providers.models import Usage

# A reason is for people scanning a results table: short, and never the whole output.
MAX_REASON_CHARS = 240


def short(text: str, limit: int = MAX_REASON_CHARS) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def quote(text: str, limit: int = 40) -> str:
    """A short quoted excerpt of tenant text, for reasons (`'abc…'`)."""
    return repr(short(text, limit))


class ScoreResult(BaseModel):
    """One scorer's verdict on one output.

    `inconclusive` is True when the scorer could not reach a verdict for a reason that is not the
    output's fault (a judge reply that could not be parsed): the score is 0 and the case fails, but the
    flag lets the engine re-score or report it apart. `judge_usage` is the judge call's token usage, kept
    apart from the target's so judge cost is billed and shown separately.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    scorer: str
    score: float = Field(ge=0, le=1)
    passed: bool
    reason: str = Field(max_length=MAX_REASON_CHARS)
    weight: float = Field(default=1.0, gt=0)
    inconclusive: bool = False
    judge_usage: Usage | None = None


class JudgeUsageTotals(BaseModel):
    """Token usage of every judge call made for one case, summed over the calls that reported it.

    `unreported_calls` counts calls whose provider did not report input or output tokens: the totals
    are then lower bounds, never silently complete.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0
    unreported_calls: int = 0

    @classmethod
    def of(cls, usages: list[Usage]) -> JudgeUsageTotals:
        """Totals over the usages of several judge calls."""
        return cls(
            calls=len(usages),
            input_tokens=sum(u.input_tokens or 0 for u in usages),
            output_tokens=sum(u.output_tokens or 0 for u in usages),
            cached_input_tokens=sum(u.cached_input_tokens or 0 for u in usages),
            reasoning_tokens=sum(u.reasoning_tokens or 0 for u in usages),
            unreported_calls=sum(1 for u in usages if u.input_tokens is None or u.output_tokens is None),
        )


class CaseScore(BaseModel):
    """All scorers of a case on one output.

    `score` is the weighted mean of the parts' scores; `passed` is True only when every part passed
    (a case with a failing check is a failing case, whatever its weight: weights shape the score, not
    the pass/fail verdict).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    score: float = Field(ge=0, le=1)
    passed: bool
    parts: tuple[ScoreResult, ...]
    judge_usage: JudgeUsageTotals = Field(default_factory=JudgeUsageTotals)

    @property
    def inconclusive(self) -> bool:
        """Whether any part could not reach a verdict (see `ScoreResult.inconclusive`)."""
        return any(part.inconclusive for part in self.parts)
