"""Small helpers for calling the API in tests."""

from __future__ import annotations

from typing import Any

import httpx


def bearer(token: str) -> dict[str, str]:
    """Headers that authenticate with a session token or an API key."""
    return {"Authorization": f"Bearer {token}"}


async def create_project(client: httpx.AsyncClient, headers: dict[str, str], name: str = "Project") -> dict[str, Any]:
    """Create a project and return it (asserting 201)."""
    response = await client.post("/api/v1/projects", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def create_key(
    client: httpx.AsyncClient, headers: dict[str, str], project: str, scopes: list[str], name: str = "key"
) -> dict[str, Any]:
    """Create an API key and return the creation answer (with the key, asserting 201)."""
    response = await client.post(
        f"/api/v1/projects/{project}/api-keys", json={"name": name, "scopes": scopes}, headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def sandbox_run_body(
    client: httpx.AsyncClient, headers: dict[str, str], project: str, suite_name: str = "s"
) -> dict[str, Any]:
    """Create a one-case suite in the project and return a `POST /runs` body for it on a sandbox target."""
    base = f"/api/v1/projects/{project}"
    suite = await client.post(f"{base}/suites", json={"name": suite_name}, headers=headers)
    assert suite.status_code == 201, suite.text
    content = {"cases": [{"id": "c1", "template": "2+2?", "expected": "4"}]}
    version = await client.post(f"{base}/suites/{suite.json()['id']}/versions", json=content, headers=headers)
    assert version.status_code == 201, version.text
    return {
        "suite_id": suite.json()["id"],
        "version": version.json()["version"],
        "targets": [{"provider": "sandbox", "model": "sandbox/fast-accurate"}],
    }
