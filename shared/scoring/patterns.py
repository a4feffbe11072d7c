"""Tenant-supplied regular expressions, run with a time limit (ReDoS protection).

The stdlib `re` cannot be interrupted, so a pattern such as `(a+)+$` on a long line of `a`s would hold
a worker for minutes. The `regex` module takes a `timeout` and raises `TimeoutError` instead. Every
tenant pattern (a `regex` scorer's, and `pattern` / `patternProperties` in a JSON schema) goes through
here; our own fixed patterns use `re`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from functools import lru_cache

import regex

# Per match call. Long enough for any sane pattern on a large output, short enough that a case's
# scorers cannot stall a shard.
MATCH_TIMEOUT_S = 0.05
# Whole-validation budget when one scorer runs many matches (a JSON schema pattern over a long array).
TOTAL_TIMEOUT_S = 0.5
MAX_PATTERN_CHARS = 1000

_FLAG_BITS = {"i": regex.IGNORECASE, "m": regex.MULTILINE, "s": regex.DOTALL}

_deadline: ContextVar[float | None] = ContextVar("tokenroute_pattern_deadline", default=None)


class PatternTimeout(Exception):
    """A tenant pattern ran past its time limit: the score is a failure, never a hang."""


class PatternError(ValueError):
    """A tenant pattern does not compile."""


@lru_cache(maxsize=512)
def compile_pattern(pattern: str, flags: str = "") -> regex.Pattern[str]:
    """Compile a tenant pattern (`flags` is a subset of "ims"); PatternError with the cause when invalid."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(f"pattern is longer than {MAX_PATTERN_CHARS} characters")
    bits = 0
    for flag in flags:
        if flag not in _FLAG_BITS:
            raise PatternError(f"unknown flag {flag!r} (allowed: i, m, s)")
        bits |= _FLAG_BITS[flag]
    try:
        # VERSION0 keeps the stdlib `re` dialect, which is what suite authors expect.
        return regex.compile(pattern, bits | regex.VERSION0)
    except (regex.error, OverflowError, RecursionError) as exc:
        raise PatternError(f"invalid pattern: {exc}") from exc


@contextlib.contextmanager
def total_budget(seconds: float = TOTAL_TIMEOUT_S) -> Iterator[None]:
    """Bound the total time of every `search` / `fullmatch` made inside the block."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def _timeout() -> float:
    deadline = _deadline.get()
    if deadline is None:
        return MATCH_TIMEOUT_S
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise PatternTimeout("pattern timed out")
    return min(MATCH_TIMEOUT_S, remaining)


def search(compiled: regex.Pattern[str], text: str) -> bool:
    """Whether `compiled` matches anywhere in `text`; PatternTimeout past the time limit."""
    try:
        return compiled.search(text, timeout=_timeout()) is not None
    except TimeoutError as exc:
        raise PatternTimeout("pattern timed out") from exc


def fullmatch(compiled: regex.Pattern[str], text: str) -> bool:
    """Whether `compiled` matches the whole of `text`; PatternTimeout past the time limit."""
    try:
        return compiled.fullmatch(text, timeout=_timeout()) is not None
    except TimeoutError as exc:
        raise PatternTimeout("pattern timed out") from exc
