"""Scheduled benchmarks: a suite version re-run on an NCRONTAB schedule (UTC), each due run started once.

`ncrontab` parses schedules (shared with the local host), `cron` holds the rules a tenant's schedule
must meet, `models` the edges, `store` the `schedules` and `schedulefirings` tables, and `firing`
what the every-minute timer does.
"""
