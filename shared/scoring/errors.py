"""Errors of the scoring layer: a bad scorer list (caught when a suite is created), a scorer that this
deployment cannot run, and a judge or embedder call that failed while scoring."""

from __future__ import annotations

from shared.scoring.results import JudgeUsageTotals


class SpecError(ValueError):
    """The scorers of a case cannot work: `path` points at the offending entry (e.g. `scorers[2]`)."""

    def __init__(self, message: str, *, path: str = "scorers") -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class ScorerUnavailable(RuntimeError):
    """A scorer needs a component that is not configured (an LLM judge callback, an embedder)."""


class ScoringFailed(RuntimeError):
    """A judge or embedder call raised while scoring a case; `__cause__` is the original exception.

    `judge_usage` holds the usage of the judge calls of the same case that did succeed, so their tokens
    can still be recorded (and billed apart) when the engine retries or records the failure.
    """

    def __init__(self, message: str, *, judge_usage: JudgeUsageTotals) -> None:
        super().__init__(message)
        self.judge_usage = judge_usage
