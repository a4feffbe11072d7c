"""Benchmark packs: a run, suite, route decision or project exported as a verifiable zip.

Modules: `models` (rows, messages, kinds), `store` (the exports table and container), `zipstream`
(a zip written into an iterator of chunks, hashing each file), `content` (what a pack holds),
`report` (the self-contained report.html), `builder` (the queue job's work), `verify` and
`importer` (reading a pack back, refusing a tampered one).
"""

PACK_SCHEMA_VERSION = "1.0"
