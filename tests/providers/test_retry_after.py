"""Parsing the waits providers ask for: headers first, then body hints."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.providers.parsing import loads_object
from shared.providers.retry_after import (
    parse_go_duration,
    parse_retry_after,
    retry_after_from_error,
    retry_after_from_headers,
    seconds_until,
)
from tests.providers.recordings import load

NOW = datetime(2025, 6, 2, 15, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02), ("12ms", 0.012), ("0s", 0.0), ("1h2m3.5s", 3723.5), ("2", 2.0)],
)
def test_go_durations(value: str, seconds: float) -> None:
    assert parse_go_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["", "soon", "-1s", "1 s", "5d"])
def test_bad_durations_are_none(value: str) -> None:
    assert parse_go_duration(value) is None


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("16", now=NOW) == 16
    assert parse_retry_after("Mon, 02 Jun 2025 15:14:45 GMT", now=NOW) == 15
    assert parse_retry_after("Mon, 02 Jun 2025 15:00:00 GMT", now=NOW) == 0  # in the past
    assert parse_retry_after("whenever", now=NOW) is None


def test_rfc3339_reset() -> None:
    assert seconds_until("2025-06-02T15:15:48Z", now=NOW) == 78


def test_header_precedence_ms_then_retry_after_then_resets() -> None:
    headers = {"retry-after-ms": "1500", "Retry-After": "3", "x-ratelimit-reset-requests": "6m0s"}
    assert retry_after_from_headers(headers, now=NOW) == 1.5
    del headers["retry-after-ms"]
    assert retry_after_from_headers(headers, now=NOW) == 3
    del headers["Retry-After"]
    assert retry_after_from_headers(headers, now=NOW) == 360


def test_openai_reset_of_the_exhausted_limit_wins() -> None:
    headers = {
        "x-ratelimit-remaining-requests": "4999",
        "x-ratelimit-reset-requests": "6m0s",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "20ms",
    }
    assert retry_after_from_headers(headers, now=NOW) == pytest.approx(0.02)
    # Nothing known exhausted: the latest reset is the safe wait.
    headers["x-ratelimit-remaining-tokens"] = "10"
    assert retry_after_from_headers(headers, now=NOW) == 360


def test_anthropic_reset_headers_from_the_recorded_429() -> None:
    recording = load("anthropic/error_429_rate_limit_error")
    headers = {name: value for name, value in recording.headers if name.lower() != "retry-after"}
    # input-tokens is the exhausted limit (remaining 0); it resets at 15:15:48.
    assert retry_after_from_headers(headers, now=NOW) == 78
    assert retry_after_from_headers(dict(recording.headers), now=NOW) == 16  # retry-after wins


def test_no_hint_is_none() -> None:
    assert retry_after_from_headers({"content-type": "application/json"}, now=NOW) is None


@pytest.mark.parametrize(
    ("name", "seconds"),
    [
        ("gemini/error_429_resource_exhausted", 26.0),
        ("gemini/error_429_retry_info_vercel_fixture", 34.4),
        ("openai/error_429_rate_limit_exceeded_tpm", 18.642),
        ("openai/error_429_rate_limit_exceeded_legacy", 0.006),
        ("openai/error_429_insufficient_quota", None),
    ],
)
def test_body_hints(name: str, seconds: float | None) -> None:
    payload = loads_object(load(name).body)
    assert payload is not None
    hint = retry_after_from_error(payload["error"])
    assert hint == (pytest.approx(seconds) if seconds is not None else None)
