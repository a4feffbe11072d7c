"""Copy `local.settings.json` Values into the environment, as the Functions host does locally.

A variable that is already set wins, so any setting can be overridden for one command
(`TOKENROUTE_ENV=test python -m shared.devhost`). This must run before the app module is
imported, because the app reads its settings at import time.
"""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from pathlib import Path


def load_local_values(path: Path, environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Set each `Values` entry of `path` that `environ` (default os.environ) lacks; return those set.

    A missing file sets nothing. A file that is not JSON, is encrypted, or has a non-string value
    raises ValueError naming the problem.
    """
    target: MutableMapping[str, str] = os.environ if environ is None else environ
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(document, dict):
        raise ValueError(f"{path} must hold a JSON object")
    if document.get("IsEncrypted") is True:
        raise ValueError(f"{path} is encrypted; the local host reads only plain-text settings")
    values = document.get("Values", {})
    if not isinstance(values, dict):
        raise ValueError(f"{path}: Values must be an object")
    applied: dict[str, str] = {}
    for key, value in values.items():
        if not isinstance(value, str):
            raise ValueError(f"{path}: Values.{key} must be a string, not {type(value).__name__}")
        if key not in target:
            target[key] = value
            applied[key] = value
    return applied
