"""`make run`'s launcher: first-run settings and where Azurite listens."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from shared.config import load_settings
from shared.devhost.stack import SAMPLE_SETTINGS, azurite_ports, ensure_local_settings
from tests.conftest import settings_environ


def test_first_run_creates_settings_with_a_fresh_key_and_keeps_them(tmp_path: Path) -> None:
    path = tmp_path / "local.settings.json"
    assert ensure_local_settings(path, SAMPLE_SETTINGS) is True
    values = json.loads(path.read_text())["Values"]
    assert len(base64.urlsafe_b64decode(values["LOCAL_SECRETS_KEY"])) == 32
    assert path.stat().st_mode & 0o077 == 0
    settings = load_settings(values, local_settings=None)
    assert settings.storage.uses_development_storage
    # A second run changes nothing.
    before = path.read_text()
    assert ensure_local_settings(path, SAMPLE_SETTINGS) is False
    assert path.read_text() == before


def test_an_emptied_key_is_filled_in(tmp_path: Path) -> None:
    path = tmp_path / "local.settings.json"
    ensure_local_settings(path, SAMPLE_SETTINGS)
    document = json.loads(path.read_text())
    document["Values"]["LOCAL_SECRETS_KEY"] = ""
    path.write_text(json.dumps(document))
    ensure_local_settings(path, SAMPLE_SETTINGS)
    assert json.loads(path.read_text())["Values"]["LOCAL_SECRETS_KEY"]


def test_azurite_ports_follow_the_connection_string() -> None:
    dev = load_settings(settings_environ("UseDevelopmentStorage=true"), local_settings=None)
    ports = azurite_ports(dev)
    assert ports is not None
    assert (ports.blob, ports.queue, ports.table) == (10000, 10001, 10002)
    custom = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=abc;"
        "BlobEndpoint=http://127.0.0.1:20000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:20001/devstoreaccount1;"
        "TableEndpoint=http://127.0.0.1:20002/devstoreaccount1;"
    )
    ports = azurite_ports(load_settings(settings_environ(custom), local_settings=None))
    assert ports is not None
    assert (ports.blob, ports.queue, ports.table) == (20000, 20001, 20002)
    remote = "DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=abc;EndpointSuffix=core.windows.net"
    assert azurite_ports(load_settings(settings_environ(remote), local_settings=None)) is None
