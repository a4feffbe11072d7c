"""Data lifecycle: cascade deletion of projects, retention, activation events.

One module per job: `messages` (queue messages), `scopes` (prefix deletion helpers), `cascade`
(the project purge), `retention` (the daily sweep), `citations` (the hook route decisions will
fill), `activation` (first-time events and the frontend allowlist).
"""
