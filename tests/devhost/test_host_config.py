"""host.json reading and the devhost's own tuning knobs."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from shared.devhost.azurite import PROJECT_ROOT
from shared.devhost.host_config import HostConfig, HostTuning, QueueOptions, parse_timespan


def test_project_host_json() -> None:
    config = HostConfig.load(PROJECT_ROOT / "host.json")
    assert config.route_prefix == "api"
    assert config.queues == QueueOptions(
        batch_size=16,
        new_batch_threshold=8,
        max_polling_interval=timedelta(milliseconds=250),
        visibility_timeout=timedelta(seconds=10),
        max_dequeue_count=5,
        message_encoding="none",
    )


def test_defaults_are_the_functions_host_defaults(tmp_path: Path) -> None:
    assert HostConfig.load(tmp_path / "missing.json") == HostConfig()
    path = tmp_path / "host.json"
    path.write_text(json.dumps({"version": "2.0", "extensions": {"queues": {"batchSize": 10}}}))
    config = HostConfig.load(path)
    assert config.route_prefix == "api"
    assert config.queues.new_batch_threshold == 5  # batchSize / 2
    assert config.queues.max_polling_interval == timedelta(minutes=1)
    assert config.queues.max_dequeue_count == 5
    assert config.queues.message_encoding == "base64"


def test_empty_route_prefix() -> None:
    assert HostConfig.from_json({"extensions": {"http": {"routePrefix": ""}}}).route_prefix == ""
    assert HostConfig.from_json({"extensions": {"http": {"routePrefix": "/v2/"}}}).route_prefix == "v2"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("00:00:02", timedelta(seconds=2)),
        ("00:01", timedelta(minutes=1)),
        ("00:00:00.500", timedelta(milliseconds=500)),
        ("1.02:03:04", timedelta(days=1, hours=2, minutes=3, seconds=4)),
    ],
)
def test_timespans(text: str, expected: timedelta) -> None:
    assert parse_timespan(text, "x") == expected


@pytest.mark.parametrize(
    ("queues", "message"),
    [
        ({"batchSize": 0}, "batchSize must be 1-32"),
        ({"batchSize": 33}, "batchSize must be 1-32"),
        ({"batchSize": "16"}, "batchSize must be a whole number"),
        ({"newBatchThreshold": -1}, "newBatchThreshold must not be negative"),
        ({"maxDequeueCount": 0}, "maxDequeueCount must be at least 1"),
        ({"messageEncoding": "utf8"}, "messageEncoding must be base64 or none"),
        ({"visibilityTimeout": 10}, "visibilityTimeout must be a TimeSpan"),
        ({"maxPollingInterval": "2 seconds"}, "is not a TimeSpan"),
        ({"maxPollingInterval": "00:00:00.010"}, "at least 00:00:00.100"),
    ],
)
def test_bad_queue_settings(queues: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=r"host\.json") as caught:
        HostConfig.from_json({"extensions": {"queues": queues}})
    assert message in str(caught.value)


def test_bad_json_file(tmp_path: Path) -> None:
    path = tmp_path / "host.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        HostConfig.load(path)


def test_tuning_from_environment() -> None:
    assert HostTuning.from_environ({}) == HostTuning(lease_seconds=30, renew_seconds=10, grace_seconds=30)
    tuning = HostTuning.from_environ({"TOKENROUTE_DEVHOST_LEASE_SECONDS": "3", "TOKENROUTE_DEVHOST_GRACE_SECONDS": "1"})
    assert (tuning.lease_seconds, tuning.renew_seconds, tuning.grace_seconds) == (3, 1.0, 1.0)
    with pytest.raises(ValueError, match="TOKENROUTE_DEVHOST_GRACE_SECONDS must be a number"):
        HostTuning.from_environ({"TOKENROUTE_DEVHOST_GRACE_SECONDS": "soon"})
    with pytest.raises(ValueError, match="renew_seconds must be positive and shorter"):
        HostTuning(lease_seconds=5, renew_seconds=5)
    with pytest.raises(ValueError, match="lease_seconds must be at least 1"):
        HostTuning(lease_seconds=0)
