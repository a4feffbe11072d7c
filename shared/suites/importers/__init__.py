"""Importers: suite content from JSON Lines, CSV and promptfoo-style YAML.

Each returns validated `SuiteContent` or raises `SuiteError` whose problems point into the input
(`line 7: ...` for JSONL and CSV, `tests[3].assert[0].type: ...` for YAML). Inputs are bounded
(`shared.suites.limits`) and nothing in them is executed.
"""

from shared.suites.importers.csvfile import import_csv
from shared.suites.importers.jsonl import import_jsonl
from shared.suites.importers.promptfoo import import_promptfoo_yaml

__all__ = ["import_csv", "import_jsonl", "import_promptfoo_yaml"]
