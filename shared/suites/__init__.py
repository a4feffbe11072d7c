"""Suites: benchmark cases, their immutable content-addressed versions, and importers.

One module per job: `models` (cases and suite content, validated with paths), `templates`
(`{{ name }}` substitution), `limits`, `canonical` (canonical JSON and version ids), `importers`
(JSONL, CSV, promptfoo YAML), `records` and `store` (Tables and Blob Storage), `scorers` (the
hook that validates scorer specs), `errors`.
"""

from shared.suites.canonical import decode_content, encode_content, version_id
from shared.suites.errors import Problem, SuiteError, SuiteIntegrityError, TemplateError
from shared.suites.importers import import_csv, import_jsonl, import_promptfoo_yaml
from shared.suites.models import Case, Message, SuiteContent, parse_content, render
from shared.suites.records import SuiteRecord, VersionRecord
from shared.suites.store import SuiteStore

__all__ = [
    "Case",
    "Message",
    "Problem",
    "SuiteContent",
    "SuiteError",
    "SuiteIntegrityError",
    "SuiteRecord",
    "SuiteStore",
    "TemplateError",
    "VersionRecord",
    "decode_content",
    "encode_content",
    "import_csv",
    "import_jsonl",
    "import_promptfoo_yaml",
    "parse_content",
    "render",
    "version_id",
]
