"""Data lifecycle: cascade deletion of projects, retention, activation events.

One module per job: `messages` (queue messages), `scopes` (prefix deletion helpers), `cascade`
(the purge of a tenant, project, run or suite), `tenant_purge` (the tenant-wide steps, closing and
receipt of a whole tenant), `retention` (the daily sweep), `citations` (the hook route decisions
fill), `activation` (first-time events and the frontend allowlist).
"""
