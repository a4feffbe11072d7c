"""How long a provider asks us to wait, from its headers or, failing those, its error body.

Headers, most precise first: `retry-after-ms` (OpenAI, Azure), `Retry-After` (seconds or HTTP date),
OpenAI-style `x-ratelimit-reset-{requests,tokens}` Go durations ("20ms", "1s", "6m0s") and
Anthropic's `anthropic-ratelimit-*-reset` RFC 3339 timestamps. Bodies: Google's `RetryInfo.retryDelay`
("26s") and the "Please try again in 18.642s" sentence OpenAI puts in 429 messages without headers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from shared.providers.parsing import as_dict, as_list

_GO_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|h|m|s)")
_GO_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|h|m|s))+")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_MESSAGE_HINT = re.compile(r"(?:try again|retry) in ((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|h|m|s))+)", re.IGNORECASE)

# The limits each family reports; the reset of an exhausted one is the wait that matters.
_OPENAI_LIMITS = ("requests", "tokens")
_ANTHROPIC_LIMITS = ("requests", "tokens", "input-tokens", "output-tokens")


def parse_number(value: str) -> float | None:
    """A non-negative decimal number, else None."""
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if number >= 0 and number != float("inf") else None


def parse_go_duration(value: str) -> float | None:
    """Seconds in a Go-style duration ("20ms", "1s", "6m0s", "1h2m3.5s"); a bare number is seconds."""
    text = value.strip()
    if _GO_DURATION.fullmatch(text):
        return sum(float(amount) * _UNIT_SECONDS[unit] for amount, unit in _GO_PART.findall(text))
    return parse_number(text)


def parse_retry_after(value: str, *, now: datetime) -> float | None:
    """Seconds from a `Retry-After` value: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    seconds = parse_number(value)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def seconds_until(timestamp: str, *, now: datetime) -> float | None:
    """Seconds from `now` until an RFC 3339 timestamp (past times give 0)."""
    try:
        when = datetime.fromisoformat(timestamp.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _reset_wait(
    headers: Mapping[str, str],
    names: Iterable[tuple[str, str]],
    parse: Callable[[str], float | None],
) -> float | None:
    # names: (reset header, remaining header) pairs. Prefer the limits known to be exhausted; when no
    # remaining count says which limit was hit, wait for the latest reset (the conservative choice).
    exhausted: list[float] = []
    every: list[float] = []
    for reset_name, remaining_name in names:
        raw = headers.get(reset_name)
        if raw is None:
            continue
        seconds = parse(raw)
        if seconds is None:
            continue
        every.append(seconds)
        if (headers.get(remaining_name) or "").strip() == "0":
            exhausted.append(seconds)
    chosen = exhausted or every
    return max(chosen) if chosen else None


def retry_after_from_headers(headers: Mapping[str, str], *, now: datetime) -> float | None:
    """The wait the provider's headers ask for, in seconds; None when they give no hint."""
    lowered = {name.lower(): value for name, value in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms is not None and (millis := parse_number(raw_ms)) is not None:
        return millis / 1000
    raw = lowered.get("retry-after")
    if raw is not None and (seconds := parse_retry_after(raw, now=now)) is not None:
        return seconds
    openai_names = [(f"x-ratelimit-reset-{kind}", f"x-ratelimit-remaining-{kind}") for kind in _OPENAI_LIMITS]
    # Together sends the unsuffixed pair (seconds).
    openai_names.append(("x-ratelimit-reset", "x-ratelimit-remaining"))
    wait = _reset_wait(lowered, openai_names, parse_go_duration)
    if wait is not None:
        return wait
    anthropic_names = [
        (f"anthropic-ratelimit-{kind}-reset", f"anthropic-ratelimit-{kind}-remaining") for kind in _ANTHROPIC_LIMITS
    ]
    return _reset_wait(lowered, anthropic_names, lambda value: seconds_until(value, now=now))


def retry_after_from_error(error: Mapping[str, Any]) -> float | None:
    """The wait an error object asks for in its body (Google RetryInfo, or "try again in 6ms" text)."""
    for detail in as_list(error.get("details")):
        detail_obj = as_dict(detail)
        delay = detail_obj.get("retryDelay")
        if str(detail_obj.get("@type", "")).endswith("google.rpc.RetryInfo") and isinstance(delay, str):
            seconds = parse_go_duration(delay)
            if seconds is not None:
                return seconds
    message = error.get("message")
    if isinstance(message, str) and (match := _MESSAGE_HINT.search(message)):
        return parse_go_duration(match.group(1))
    return None
