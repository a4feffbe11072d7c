"""Structured logs: one JSON object per line, with the request context and without secrets.

Prompts, outputs and request bodies are never passed to the logger by the code; the redaction
filter is a second line of defence for secrets that slip into a message or an exception text.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.observability.context import function_var, project_var, request_id_var, tenant_var

# Shapes of secrets that must never reach a log line.
_SECRET_PATTERNS = [
    re.compile(r"trk_[A-Za-z0-9]+_[A-Za-z0-9_-]+"),  # project API keys
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*"),  # JWTs anywhere, e.g. from the __session cookie
    re.compile(r"(?i)(AccountKey=|SharedAccessSignature=|sig=|api[-_]?key[=:]\s*)[^;&\s\"']+"),
    re.compile(r"sk-[A-Za-z0-9_-]{16,}"),  # OpenAI-style provider keys
    re.compile(r"sk-ant-[A-Za-z0-9_-]{16,}"),
    re.compile(r"AIza[0-9A-Za-z_-]{30,}"),  # Google API keys
]

# Fields passed with `extra=` that are safe to emit as they are.
_EXTRA_FIELDS = ("status", "method", "path", "elapsed_ms", "queue", "message_id", "dequeue_count", "store", "event")


def redact(text: str) -> str:
    """Replace anything that looks like a secret with a marker, keeping any label before it."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", text)
    return text


class JsonFormatter(logging.Formatter):
    """Formats a record as a JSON line: time, level, logger, message and the request context."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, var in (
            ("request_id", request_id_var),
            ("function", function_var),
            ("tenant", tenant_var),
            ("project", project_var),
        ):
            value = var.get()
            if value is not None:
                entry[key] = value
        for key in _EXTRA_FIELDS:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Send every log record to stderr as JSON lines (idempotent: safe to call twice)."""
    root = logging.getLogger()
    root.setLevel(level)
    for handler in root.handlers:
        if isinstance(handler.formatter, JsonFormatter):
            return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    # The Azure SDK logs every HTTP request at INFO, with URLs; keep it to warnings.
    logging.getLogger("azure").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def log_to_file(path: Path, console_level: str = "WARNING") -> None:
    """Send the JSON lines to `path` and only `console_level` and above to the terminal.

    `make run` uses it so that the terminal shows the banner and the demo, not every request.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler.formatter, JsonFormatter) and isinstance(handler, logging.StreamHandler):
            handler.setLevel(console_level)
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler.setFormatter(JsonFormatter())
    root.addHandler(file_handler)
