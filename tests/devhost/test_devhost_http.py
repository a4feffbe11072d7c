"""The local host serves HTTP functions in a real process: route templates, query strings, FastAPI."""

from __future__ import annotations

import signal
from collections.abc import Callable

import httpx
import pytest

from tests.support.devhost_process import DevHostProcess

pytestmark = pytest.mark.slow


def test_route_and_query_parameters(devhost: Callable[..., DevHostProcess]) -> None:
    host = devhost("tests.devhost.apps.http_app:app")
    base = f"http://127.0.0.1:{host.port}/api"
    with httpx.Client(base_url=base, timeout=10) as client:
        response = client.get("/items/42", params={"q": "hello world"}, headers={"Accept": "text/x-test"})
        assert response.status_code == 200
        assert response.json() == {
            "id": 42,
            "q": "hello world",
            "url": f"{base}/items/42?q=hello+world",
            "method": "GET",
            "accept": "text/x-test",
        }

        # {id:int} does not match letters, and no other route does: 404 with an empty body.
        not_int = client.get("/items/abc")
        assert (not_int.status_code, not_int.content) == (404, b"")
        assert client.get("/nowhere").status_code == 404
        assert client.get(f"http://127.0.0.1:{host.port}/items/42").status_code == 404  # outside the prefix
        assert client.delete("/items/42").status_code == 404  # no function takes DELETE there

        created = client.post("/items/7", content=b"12345")
        assert created.status_code == 201
        assert created.json() == {"id": "7", "size": 5, "function": "post_item"}
        assert created.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]

        caught = client.get("/files/a/b%20c.txt")
        assert (caught.status_code, caught.text) == (200, "path=a/b c.txt")
        assert caught.headers["content-type"] == "text/plain; charset=utf-8"

        failed = client.get("/boom")
        assert (failed.status_code, failed.content) == (500, b"")

    host.signal(signal.SIGTERM)
    assert host.wait(timeout=20) == 0
    assert "RuntimeError: boom" in host.log()  # the failure is logged, not sent to the caller


def test_fastapi_app_through_asgi_function_app(devhost: Callable[..., DevHostProcess]) -> None:
    host = devhost("tests.devhost.apps.asgi_app:app")
    with httpx.Client(base_url=f"http://127.0.0.1:{host.port}", timeout=10) as client:
        found = client.get("/api/things/5", params=[("q", "x y"), ("tag", "a"), ("tag", "b")])
        assert found.status_code == 200
        # Repeated query parameters reach FastAPI intact, because it reads the URL's query string.
        assert found.json() == {"thing_id": 5, "q": "x y", "tag": ["a", "b"]}

        assert client.get("/api/things/abc").status_code == 422
        assert client.get("/api/missing").status_code == 404

        created = client.post("/api/things", json={"name": "lamp", "size": 3})
        assert created.status_code == 201
        assert created.json() == {"name": "lamp", "size": 3}
        assert len(created.headers.get_list("set-cookie")) == 2
        assert client.post("/api/things", json={"name": "lamp"}).status_code == 422

    host.signal(signal.SIGTERM)
    assert host.wait(timeout=20) == 0
    assert [r["event"] for r in host.records()] == ["lifespan-startup", "lifespan-shutdown"]
