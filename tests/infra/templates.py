"""What our deployment templates say, read as text (see `bicep_text` for why not with the Bicep CLI)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from tests.infra import bicep_text
from tests.infra.bicep_text import Module, Param

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"
API = INFRA / "app" / "api.bicep"
RBAC = INFRA / "app" / "rbac.bicep"
PARAMETERS = INFRA / "main.parameters.json"
ABBREVIATIONS = INFRA / "abbreviations.json"
AZURE_YAML = ROOT / "azure.yaml"


@cache
def source(path: Path) -> str:
    """A template's text with its comments blanked out, so a comment never satisfies a check."""
    return bicep_text.strip_comments(path.read_text(encoding="utf-8"))


def bicep_files() -> list[Path]:
    """Every Bicep file under infra/."""
    return sorted(INFRA.rglob("*.bicep"))


def all_bicep() -> str:
    """All templates' comment-free text, one after the other."""
    return "\n".join(source(path) for path in bicep_files())


def app_settings() -> dict[str, str]:
    """The Function App's app settings (`var appSettings` in app/api.bicep): key to raw Bicep value."""
    return bicep_text.object_entries(bicep_text.variable(source(API), "appSettings"))


def storage_names() -> dict[str, list[str]]:
    """The tables, queues and containers main.bicep creates for TokenRoute (`var tokenrouteStorage`)."""
    entries = bicep_text.object_entries(bicep_text.variable(source(MAIN), "tokenrouteStorage"))
    return {kind: bicep_text.string_list(value) for kind, value in entries.items()}


def main_params() -> dict[str, Param]:
    """main.bicep's parameters."""
    return bicep_text.params(source(MAIN))


def main_modules() -> dict[str, Module]:
    """main.bicep's modules by symbolic name."""
    return bicep_text.modules(source(MAIN))


def parameters_file() -> dict[str, Any]:
    """main.parameters.json's `parameters` object."""
    document = json.loads(PARAMETERS.read_text(encoding="utf-8"))
    parameters = document["parameters"]
    assert isinstance(parameters, dict)
    return parameters
