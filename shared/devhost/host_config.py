"""What the local host reads from host.json, and its own tuning knobs (lease, renewal, grace).

Only the settings the local host acts on are read: the HTTP route prefix and the queue options.
Defaults are the Functions host's own, so a host.json that leaves a value out behaves as in Azure.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

# .NET TimeSpan text as host.json writes it: [d.]hh:mm[:ss[.fffffff]].
_TIMESPAN = re.compile(r"^(?:(?P<d>\d+)\.)?(?P<h>\d{1,2}):(?P<m>\d{1,2})(?::(?P<s>\d{1,2})(?:\.(?P<f>\d{1,7}))?)?$")

# The queue service hands out at most 32 messages per request; the Functions host has the same cap.
MAX_BATCH_SIZE = 32


def parse_timespan(text: str, setting: str) -> timedelta:
    """Parse a host.json TimeSpan such as "00:00:02" or "00:00:00.500"; ValueError names the setting."""
    match = _TIMESPAN.match(text.strip())
    if match is None:
        raise ValueError(f"host.json {setting}: {text!r} is not a TimeSpan like 00:00:30")
    fraction = match.group("f") or "0"
    return timedelta(
        days=int(match.group("d") or 0),
        hours=int(match.group("h")),
        minutes=int(match.group("m")),
        seconds=int(match.group("s") or 0),
        microseconds=int(fraction.ljust(7, "0")) / 10,
    )


@dataclass(frozen=True)
class QueueOptions:
    """host.json `extensions.queues`, with the Functions host's defaults."""

    batch_size: int = 16
    new_batch_threshold: int = 8
    max_polling_interval: timedelta = timedelta(minutes=1)
    visibility_timeout: timedelta = timedelta(0)
    max_dequeue_count: int = 5
    message_encoding: str = "base64"

    @classmethod
    def from_json(cls, section: Mapping[str, Any]) -> QueueOptions:
        """Read the `queues` section; keys are case-insensitive, as the host reads them."""
        values = {str(key).lower(): value for key, value in section.items()}
        batch_size = _int(values, "batchSize", 16)
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"host.json queues.batchSize must be 1-{MAX_BATCH_SIZE}, not {batch_size}")
        threshold = _int(values, "newBatchThreshold", batch_size // 2)
        if threshold < 0:
            raise ValueError(f"host.json queues.newBatchThreshold must not be negative, not {threshold}")
        max_dequeue = _int(values, "maxDequeueCount", 5)
        if max_dequeue < 1:
            raise ValueError(f"host.json queues.maxDequeueCount must be at least 1, not {max_dequeue}")
        encoding = str(values.get("messageencoding", "base64")).lower()
        if encoding not in ("base64", "none"):
            raise ValueError(f"host.json queues.messageEncoding must be base64 or none, not {encoding!r}")
        polling = _timespan(values, "maxPollingInterval", timedelta(minutes=1))
        if polling < timedelta(milliseconds=100):
            raise ValueError("host.json queues.maxPollingInterval must be at least 00:00:00.100")
        return cls(
            batch_size=batch_size,
            new_batch_threshold=threshold,
            max_polling_interval=polling,
            visibility_timeout=_timespan(values, "visibilityTimeout", timedelta(0)),
            max_dequeue_count=max_dequeue,
            message_encoding=encoding,
        )


@dataclass(frozen=True)
class HostConfig:
    """The parts of host.json the local host uses."""

    route_prefix: str = "api"
    queues: QueueOptions = field(default_factory=QueueOptions)

    @classmethod
    def load(cls, path: Path) -> HostConfig:
        """Read host.json; a missing file gives the defaults, a malformed one a ValueError."""
        if not path.exists():
            return cls()
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON: {error}") from error
        return cls.from_json(document)

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> HostConfig:
        """Build from the parsed host.json document."""
        extensions = _section(document, "extensions")
        http = _section(extensions, "http")
        prefix = http.get("routePrefix", http.get("routeprefix", "api"))
        if not isinstance(prefix, str):
            raise ValueError("host.json extensions.http.routePrefix must be a string")
        return cls(route_prefix=prefix.strip("/"), queues=QueueOptions.from_json(_section(extensions, "queues")))


@dataclass(frozen=True)
class HostTuning:
    """Local-host knobs that host.json has no place for.

    `lease_seconds` is how long a fetched queue message stays invisible before it must be renewed;
    `renew_seconds` how often a running function's message is renewed; `grace_seconds` how long a
    shutdown waits for running functions before their messages are made visible again. Tests shorten
    them through the environment (TOKENROUTE_DEVHOST_LEASE_SECONDS, _RENEW_SECONDS, _GRACE_SECONDS).
    """

    lease_seconds: int = 30
    renew_seconds: float = 10.0
    grace_seconds: float = 30.0
    max_request_body_bytes: int = 100 * 1024 * 1024  # the Functions host's own request size limit

    def __post_init__(self) -> None:
        if self.lease_seconds < 1:
            raise ValueError("lease_seconds must be at least 1 (the queue service counts whole seconds)")
        if not 0 < self.renew_seconds < self.lease_seconds:
            raise ValueError("renew_seconds must be positive and shorter than lease_seconds")
        if self.grace_seconds < 0:
            raise ValueError("grace_seconds must not be negative")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> HostTuning:
        """Defaults, overridden by TOKENROUTE_DEVHOST_* variables when set."""
        lease = int(_number(environ, "TOKENROUTE_DEVHOST_LEASE_SECONDS", cls.lease_seconds))
        renew = _number(environ, "TOKENROUTE_DEVHOST_RENEW_SECONDS", min(cls.renew_seconds, lease / 3))
        grace = _number(environ, "TOKENROUTE_DEVHOST_GRACE_SECONDS", cls.grace_seconds)
        return cls(lease_seconds=lease, renew_seconds=renew, grace_seconds=grace)


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {text!r}") from None


def _section(document: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    for key, value in document.items():
        if str(key).lower() == name.lower():
            if not isinstance(value, Mapping):
                raise ValueError(f"host.json {name} must be an object")
            return value
    return {}


def _int(values: Mapping[str, Any], key: str, default: int) -> int:
    value = values.get(key.lower(), default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"host.json queues.{key} must be a whole number, not {value!r}")
    return value


def _timespan(values: Mapping[str, Any], key: str, default: timedelta) -> timedelta:
    value = values.get(key.lower())
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValueError(f"host.json queues.{key} must be a TimeSpan string like 00:00:30, not {value!r}")
    return parse_timespan(value, f"queues.{key}")
