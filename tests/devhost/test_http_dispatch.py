"""The HTTP dispatcher in-process (ASGI, no server): request building, responses, limits, concurrency."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import azure.functions as func
import httpx
import pytest

from shared.devhost.functions import HTTP_TRIGGER, Invoker, discover
from shared.devhost.http_server import HttpDispatcher, HttpRoute, to_http_response

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
_rendezvous: dict[str, asyncio.Event] = {}
_barrier = threading.Barrier(2, timeout=5)


@app.route(route="echo/{name?}", methods=["GET", "POST"])
def echo(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    payload = {
        "type": type(req).__module__ + "." + type(req).__name__,
        "method": req.method,
        "url": req.url,
        "params": dict(req.params),
        "route_params": dict(req.route_params),
        "headers": {k: v for k, v in req.headers.items() if k.startswith("x-")},
        "size": len(req.get_body()),
        "function": context.function_name,
        "invocation_id": context.invocation_id,
        "thread_invocation_id": getattr(context.thread_local_storage, "invocation_id", None),
        "trace_parent": context.trace_context.trace_parent,
    }
    return func.HttpResponse(json.dumps(payload), mimetype="application/json")


@app.route(route="nothing")
def nothing(req: func.HttpRequest) -> None:
    return None


@app.route(route="number")
def number(req: func.HttpRequest) -> int:
    return 42


@app.route(route="text")
def text(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("héllo", status_code=202, headers={"X-Custom": "1", "Content-Length": "999"})


@app.route(route="bad-header")
def bad_header(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("x", headers={"X-Name": "日本"})


@app.route(route="wait/{key}")
async def wait(req: func.HttpRequest) -> str:
    await asyncio.wait_for(_rendezvous[req.route_params["key"]].wait(), timeout=5)
    return "released"


@app.route(route="release/{key}")
async def release(req: func.HttpRequest) -> str:
    _rendezvous[req.route_params["key"]].set()
    return "ok"


@app.route(route="barrier")
def barrier(req: func.HttpRequest) -> str:
    _barrier.wait()  # both requests must be in threads at once
    return "through"


@pytest.fixture(scope="module")
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(4)
    yield pool
    pool.shutdown()


@pytest.fixture(scope="module")
def routes() -> list[HttpRoute]:
    specs = discover(app, {})  # get_functions() may run once per app object: share the result
    return [HttpRoute.from_spec(spec) for spec in specs if spec.trigger_type == HTTP_TRIGGER]


@pytest.fixture
async def client(routes: list[HttpRoute], executor: ThreadPoolExecutor) -> AsyncIterator[httpx.AsyncClient]:
    dispatcher = HttpDispatcher(
        routes, "api", Invoker(executor), max_body_bytes=1024, default_authority="127.0.0.1:7071"
    )
    transport = httpx.ASGITransport(app=dispatcher)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:7071") as http:
        yield http


async def test_request_is_built_as_the_worker_builds_it(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/echo/al%20ice?a=1&a=2&b=&c=x%26y",
        content=b"hello",
        headers=[("X-Dup", "1"), ("X-Dup", "2"), ("traceparent", "00-abc-def-01")],
    )
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "azure.functions.http.HttpRequest"
    assert body["method"] == "POST"
    assert body["url"] == "http://127.0.0.1:7071/api/echo/al%20ice?a=1&a=2&b=&c=x%26y"
    assert body["params"] == {"a": "1,2", "b": "", "c": "x&y"}
    assert body["route_params"] == {"name": "al ice"}
    assert body["headers"] == {"x-dup": "1,2"}
    assert body["size"] == 5
    assert body["function"] == "echo"
    assert body["invocation_id"]
    assert body["thread_invocation_id"] == body["invocation_id"]
    assert body["trace_parent"] == "00-abc-def-01"


async def test_optional_parameter_and_trailing_slash(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/echo")).json()["route_params"] == {}
    assert (await client.get("/api/echo/")).json()["route_params"] == {}
    assert (await client.get("/API/Echo/bob")).json()["route_params"] == {"name": "bob"}


async def test_not_found_and_method_filter(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/echo"),
        await client.get("/api/missing"),
        await client.delete("/api/echo"),
        await client.get("/apiecho"),
    ):
        assert (response.status_code, response.content) == (404, b"")


async def test_return_values(client: httpx.AsyncClient) -> None:
    none = await client.get("/api/nothing")
    assert (none.status_code, none.content) == (204, b"")
    wrong = await client.get("/api/number")
    assert (wrong.status_code, wrong.content) == (500, b"")
    unsendable = await client.get("/api/bad-header")
    assert (unsendable.status_code, unsendable.content) == (500, b"")
    text = await client.get("/api/text")
    assert text.status_code == 202
    assert text.content == "héllo".encode()
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.headers["content-length"] == str(len("héllo".encode()))  # the function's 999 is not trusted
    assert text.headers["x-custom"] == "1"


async def test_bodies_over_the_limit_get_413(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/echo", content=b"x" * 1024)).status_code == 200
    assert (await client.post("/api/echo", content=b"x" * 1025)).status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while reading
        for _ in range(3):
            yield b"x" * 500

    assert (await client.post("/api/echo", content=chunks())).status_code == 413


async def test_async_requests_run_concurrently(client: httpx.AsyncClient) -> None:
    _rendezvous["k1"] = asyncio.Event()
    waiting = asyncio.create_task(client.get("/api/wait/k1"))
    await asyncio.sleep(0.05)
    assert (await client.get("/api/release/k1")).text == "ok"
    assert (await waiting).text == "released"


async def test_sync_functions_run_in_parallel_threads(client: httpx.AsyncClient) -> None:
    first, second = await asyncio.gather(client.get("/api/barrier"), client.get("/api/barrier"))
    assert (first.text, second.text) == ("through", "through")


def test_multiple_set_cookie_headers_survive() -> None:
    response = func.HttpResponse("x", headers={"Set-Cookie": "a=1"})
    response.headers.add("Set-Cookie", "b=2")
    status, headers, body = to_http_response(response)
    assert status == 200
    assert [v for k, v in headers if k.lower() == "set-cookie"] == ["a=1", "b=2"]
    assert body == b"x"
