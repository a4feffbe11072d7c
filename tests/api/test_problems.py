"""Every failure is an RFC 9457 problem with the request id; nothing internal leaks."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, ConfigDict

from shared.api.app import MAX_BODY_BYTES
from shared.api.problems import PROBLEM_MEDIA_TYPE, ApiProblem


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    n: int


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[Item]


@pytest.fixture
def api(api: FastAPI) -> FastAPI:
    """The real app plus a few routes that fail in known ways."""
    router = APIRouter()

    @router.post("/api/test/orders")
    async def create_order(order: Order) -> dict[str, int]:
        return {"count": len(order.items)}

    @router.get("/api/test/boom")
    async def boom() -> None:
        raise RuntimeError("database password=hunter2 trk_abc_def leaked")

    @router.get("/api/test/teapot")
    async def teapot() -> None:
        raise ApiProblem(409, "conflict", "Conflict", "The run is already finished.")

    api.include_router(router)
    return api


def assert_problem(response: httpx.Response, status: int, type_suffix: str) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert body["type"] == f"urn:tokenroute:problem:{type_suffix}"
    assert body["title"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_unknown_route_is_a_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/nope"), 404, "not-found")


async def test_wrong_method_is_a_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.delete("/api/health"), 405, "method-not-allowed")


async def test_validation_errors_name_every_field_path(client: httpx.AsyncClient) -> None:
    payload = {"items": [{"name": "ok", "n": 1}, {"name": 5, "n": "many"}, {"name": "é✓", "n": 2, "color": "red"}]}
    body = assert_problem(await client.post("/api/test/orders", json=payload), 422, "validation")
    errors = body["errors"]
    assert isinstance(errors, list)
    paths = {(e["path"], e["type"]) for e in errors}
    assert ("body.items[1].name", "string_type") in paths
    assert ("body.items[1].n", "int_parsing") in paths
    assert ("body.items[2].color", "extra_forbidden") in paths


async def test_missing_and_malformed_bodies(client: httpx.AsyncClient) -> None:
    missing = assert_problem(await client.post("/api/test/orders"), 422, "validation")
    assert missing["errors"] == [{"path": "body", "message": "Field required", "type": "missing"}]
    broken = await client.post("/api/test/orders", content=b"{not json", headers={"content-type": "application/json"})
    body = assert_problem(broken, 422, "validation")
    assert body["errors"][0]["type"] == "json_invalid"  # type: ignore[index]


async def test_unicode_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/test/orders", json={"items": [{"name": "日本語 🚀 \u0000", "n": 1}]})
    assert response.status_code == 200
    assert response.json() == {"count": 1}


async def test_domain_problem(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/api/test/teapot"), 409, "conflict")
    assert body["detail"] == "The run is already finished."


async def test_unhandled_error_is_a_500_problem_without_internals(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="tokenroute.http"):
        response = await client.get("/api/test/boom")
    body = assert_problem(response, 500, "internal")
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert any(record.exc_info for record in caplog.records), "the error is logged with its stack"
    assert body["request_id"]


async def test_oversized_body_is_refused(client: httpx.AsyncClient) -> None:
    blob = b"x" * (MAX_BODY_BYTES + 1)
    response = await client.post("/api/test/orders", content=blob, headers={"content-type": "application/json"})
    assert_problem(response, 413, "payload-too-large")


async def test_oversized_streamed_body_without_length_is_refused(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"x" * 65536

    response = await client.post("/api/test/orders", content=chunks(), headers={"content-type": "application/json"})
    assert_problem(response, 413, "payload-too-large")


async def test_request_id_is_echoed_when_safe_and_replaced_when_not(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/api/nope", headers={"x-request-id": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    replaced = await client.get("/api/nope", headers={"x-request-id": "bad id\r\n<script>"})
    assert replaced.headers["x-request-id"] != "bad id\r\n<script>"
    assert len(replaced.headers["x-request-id"]) == 32


async def test_openapi_document_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert "/api/health" in document["paths"]
    assert "Problem" in document["components"]["schemas"]
