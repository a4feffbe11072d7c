"""Runs are listed newest first (their ids sort that way), across pages."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.conftest import MovableClock, TokenFactory
from tests.support.api import bearer, create_project, sandbox_run_body


async def test_runs_are_listed_newest_first(
    client: httpx.AsyncClient, session_token: TokenFactory, unique_user: str, clock: MovableClock
) -> None:
    owner = bearer(session_token(unique_user))
    project = await create_project(client, owner)
    base = f"/api/v1/projects/{project['id']}"
    body = await sandbox_run_body(client, owner, project["id"], "s")
    started = []
    for _ in range(5):
        clock.advance(timedelta(milliseconds=5))
        response = await client.post(f"{base}/runs", json=body, headers=owner)
        assert response.status_code == 202
        started.append(response.json()["id"])

    listed: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(f"{base}/runs", params=params, headers=owner)).json()
        listed += [run["id"] for run in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert listed == list(reversed(started))
