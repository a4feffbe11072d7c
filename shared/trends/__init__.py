"""Trends: results rolled up incrementally into hourly and daily series per project, suite and target.

`aggregate` (the mergeable cell and its metrics), `models` (stored rows and keys, the contract other
modules read), `rollup` (the incremental job and the series reader).
"""
