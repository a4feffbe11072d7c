"""Where the CLI finds its base URL and API key: flag > environment > config file.

The config file is `$TOKENROUTE_CONFIG` or `~/.config/tokenroute/config.json`, written by
`tokenroute login` with mode 0600 because it holds a secret.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.cli.errors import CliError

DEFAULT_BASE_URL = "http://127.0.0.1:7071"
ENV_CONFIG = "TOKENROUTE_CONFIG"
ENV_BASE_URL = "TOKENROUTE_BASE_URL"
ENV_API_KEY = "TOKENROUTE_API_KEY"


@dataclass(frozen=True)
class Credentials:
    """What every API call needs."""

    base_url: str
    api_key: str


def config_path() -> Path:
    """The config file's path (it may not exist yet)."""
    override = os.environ.get(ENV_CONFIG)
    if override:
        return Path(override).expanduser()
    return Path.home() / ".config" / "tokenroute" / "config.json"


def read_config(path: Path | None = None) -> dict[str, Any]:
    """The stored settings, or an empty dict when there is no config file yet."""
    path = path or config_path()
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read the config file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise CliError(f"the config file {path} is not a JSON object")
    return data


def write_config(base_url: str, api_key: str, path: Path | None = None) -> Path:
    """Store the base URL and key, readable by the owner only; returns the path written."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = json.dumps({"base_url": base_url, "api_key": api_key}, indent=2) + "\n"
    # Created with 0600 so the key is never readable by others, not even between open and chmod;
    # fchmod also tightens a file that already existed with looser permissions.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(body)
    return path


def resolve_base_url(flag: str | None) -> str:
    """The base URL by precedence: flag, environment, config file, then the local host."""
    value = flag or os.environ.get(ENV_BASE_URL) or read_config().get("base_url") or DEFAULT_BASE_URL
    return str(value).rstrip("/")


def resolve(base_url_flag: str | None, api_key_flag: str | None) -> Credentials:
    """Base URL and key by precedence; a missing key is an error that says how to provide one."""
    key = api_key_flag or os.environ.get(ENV_API_KEY) or read_config().get("api_key")
    if not key:
        raise CliError(f"no API key: run `tokenroute login --api-key trk_...`, set {ENV_API_KEY} or pass --api-key")
    return Credentials(base_url=resolve_base_url(base_url_flag), api_key=str(key))


def api_root(base_url: str) -> str:
    """`https://host` or `https://host/api` or `https://host/api/v1` -> `https://host/api/v1`.

    People copy whichever of the three they see (the host, the health URL's prefix, the README's
    `API=`), so all are accepted.
    """
    root = base_url.rstrip("/")
    if root.endswith("/api/v1"):
        return root
    if root.endswith("/api"):
        return root + "/v1"
    return root + "/api/v1"
