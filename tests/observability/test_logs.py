"""JSON log lines carry the request context and never a secret."""

from __future__ import annotations

import json
import logging

from shared.observability.context import bind_tenant, log_context
from shared.observability.logs import JsonFormatter, redact

# Built at run time so that no key-shaped literal sits in the repository.
FAKE_PROVIDER_KEY = "sk-" + "abcdefghijklmnopqrstuvwxyz"


def format_record(message: str, *args: object, exc: bool = False) -> dict[str, object]:
    record = logging.LogRecord("tokenroute.test", logging.INFO, __file__, 1, message, args, None)
    if exc:
        try:
            raise ValueError(f"api_key={FAKE_PROVIDER_KEY}")
        except ValueError:
            import sys

            record.exc_info = sys.exc_info()
    parsed: dict[str, object] = json.loads(JsonFormatter().format(record))
    return parsed


def test_line_has_time_level_and_context() -> None:
    with log_context(request_id="req-1", function="http"):
        bind_tenant("ten_1", "prj_1")
        entry = format_record("hello %s", "world")
    assert entry["message"] == "hello world"
    assert entry["level"] == "INFO"
    assert entry["request_id"] == "req-1"
    assert entry["function"] == "http"
    assert entry["tenant"] == "ten_1"
    assert entry["project"] == "prj_1"
    assert str(entry["time"]).endswith("+00:00")


def test_context_is_reset_after_the_block() -> None:
    with log_context(request_id="req-2"):
        pass
    assert "request_id" not in format_record("x")


def test_secrets_are_redacted_in_messages_and_exceptions() -> None:
    entry = format_record(
        "calling with %s and %s", "Bearer eyJhbGciOiJSUzI1NiJ9.abc.def", "trk_k1a2b3_SECRETSECRETSECRET", exc=True
    )
    text = json.dumps(entry)
    assert "eyJhbGciOiJSUzI1NiJ9" not in text
    assert "SECRETSECRETSECRET" not in text
    assert FAKE_PROVIDER_KEY not in text
    assert "[redacted]" in text


def test_redact_keeps_labels() -> None:
    assert redact("AccountKey=abc123==;BlobEndpoint=x") == "AccountKey=[redacted];BlobEndpoint=x"
    assert redact("nothing secret here") == "nothing secret here"
