"""Limits on suite content. Each is checked where the data enters, with the path of the offender.

Text limits count characters (code points), as the fields are read by people and models; the
total is counted in bytes of canonical JSON, since that is what is stored and hashed.
"""

from __future__ import annotations

from typing import Final

MAX_CASES: Final = 10_000
MAX_MESSAGES_PER_CASE: Final = 64
# Message content, templates, the suite's system prompt and string variable values.
MAX_TEXT_CHARS: Final = 32 * 1024
MAX_EXPECTED_CHARS: Final = 32 * 1024
# A template may repeat a variable; this bounds what one rendered message can grow to.
MAX_RENDERED_CHARS: Final = 128 * 1024
MAX_CASE_ID_CHARS: Final = 128
MAX_VARS_PER_CASE: Final = 64
MAX_VAR_NAME_CHARS: Final = 64
MAX_TAGS: Final = 32
MAX_TAG_CHARS: Final = 64
MAX_SCORERS: Final = 16
# One scorer spec as compact JSON (a JSON schema scorer carries its schema).
MAX_SCORER_BYTES: Final = 64 * 1024
MAX_SCORER_DEPTH: Final = 32
MAX_DESCRIPTION_CHARS: Final = 4 * 1024
MAX_NAME_CHARS: Final = 200
MAX_LABEL_CHARS: Final = 200
# The whole version as canonical JSON.
MAX_CONTENT_BYTES: Final = 16 * 1024 * 1024

# Import inputs. YAML is parsed by pure-Python PyYAML, which is much slower per byte.
MAX_IMPORT_BYTES: Final = 32 * 1024 * 1024
MAX_YAML_BYTES: Final = 4 * 1024 * 1024
# YAML aliases share one object many times; walking them could blow up exponentially.
MAX_YAML_NODES: Final = 1_000_000
