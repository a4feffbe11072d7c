"""Who may start runs: members and keys with runs:write; not viewers, not read-only keys."""

from __future__ import annotations

import uuid

import httpx

from tests.conftest import TokenFactory
from tests.support.api import bearer, create_key, create_project, sandbox_run_body


async def test_viewers_and_read_only_keys_cannot_start_runs(
    client: httpx.AsyncClient, session_token: TokenFactory
) -> None:
    org = "org_" + uuid.uuid4().hex[:12]
    owner = bearer(session_token(f"user_owner_{org}", org=org, role="org:admin"))
    member = bearer(session_token(f"user_member_{org}", org=org, role="org:member"))
    viewer = bearer(session_token(f"user_viewer_{org}", org=org, role="org:viewer"))
    project = await create_project(client, owner)
    base = f"/api/v1/projects/{project['id']}"
    run = await sandbox_run_body(client, member, project["id"], "s")
    reader = await create_key(client, owner, project["id"], ["runs:read"])
    writer = await create_key(client, owner, project["id"], ["runs:write"])

    assert (await client.post(f"{base}/runs", json=run, headers=viewer)).status_code == 403
    assert (await client.post(f"{base}/runs", json=run, headers=bearer(reader["key"]))).status_code == 403
    assert (await client.post(f"{base}/suites", json={"name": "x"}, headers=viewer)).status_code == 403
    assert (await client.post(f"{base}/runs", json=run, headers=member)).status_code == 202
    assert (await client.post(f"{base}/runs", json=run, headers=bearer(writer["key"]))).status_code == 202
    # Both can read what was started.
    listed = await client.get(f"{base}/runs", headers=viewer)
    assert len(listed.json()["items"]) == 2
    assert (await client.get(f"{base}/runs", headers=bearer(reader["key"]))).status_code == 200
