"""The OpenAPI document is complete and valid, and `/api/docs` serves Swagger UI from same-origin assets."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import schemathesis

from shared.api import docs
from shared.api.problems import PROBLEM_MEDIA_TYPE

METHODS = ("get", "put", "post", "delete", "patch")
# Every operation documents these problems (declared app-wide in shared/api/problems.py).
APP_PROBLEMS = {"400", "401", "403", "404", "422", "500", "503"}


async def _document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    resolved: dict[str, Any] = document
    for part in ref.removeprefix("#/").split("/"):
        resolved = resolved[part]
    return resolved


def _examples(document: dict[str, Any], media: dict[str, Any]) -> list[Any]:
    """The examples of a request media type: its own, else those of its (referenced) schema."""
    if "example" in media:
        return [media["example"]]
    if "examples" in media:
        return [example["value"] for example in media["examples"].values()]
    return list(_resolve(document, media.get("schema", {})).get("examples", []))


async def test_document_is_valid_openapi_3_1(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    assert document["openapi"].startswith("3.1")
    # schemathesis checks it against the OpenAPI 3.1 meta-schema (raises on the first violation).
    schemathesis.openapi.from_dict(document).validate()
    assert set(document["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    # The meta-schema does not follow references: check that every one points somewhere.
    for ref in set(re.findall(r'"\$ref": "(#/[^"]+)"', json.dumps(document))):
        assert _resolve(document, {"$ref": ref}), ref


async def test_every_operation_is_described(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    operations = _operations(document)
    assert len(operations) >= 30
    for method, path, operation in operations:
        where = f"{method} {path}"
        assert operation.get("summary"), where
        assert operation.get("description"), where
        successes = {code: spec for code, spec in operation["responses"].items() if code.startswith("2")}
        assert successes, where
        for code, spec in successes.items():
            if code == "204":
                assert "content" not in spec, where
            else:
                assert "schema" in spec["content"]["application/json"], where
        assert set(operation["responses"]) >= APP_PROBLEMS, where
        for code, spec in operation["responses"].items():
            if code[0] in "45":
                assert list(spec["content"]) == [PROBLEM_MEDIA_TYPE], f"{where} {code}"
                assert spec["content"][PROBLEM_MEDIA_TYPE]["schema"] == {"$ref": "#/components/schemas/Problem"}
        if "requestBody" in operation:
            assert "413" in operation["responses"], where


async def test_routes_document_their_own_problems(client: httpx.AsyncClient) -> None:
    paths = (await _document(client))["paths"]
    versions = paths["/api/v1/projects/{project}/suites/{suite}/versions"]["post"]["responses"]
    assert {"200", "201", "409", "415"} <= set(versions)
    start = paths["/api/v1/projects/{project}/runs"]["post"]["responses"]["422"]
    assert "budget-exceeded" in start["content"][PROBLEM_MEDIA_TYPE]["examples"]
    assert "409" in paths["/api/v1/projects/{project}/runs/{run}/compare"]["get"]["responses"]
    assert "503" in paths["/api/health"]["get"]["responses"]


async def test_every_request_body_has_valid_examples(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    bodies = [(m, p, op["requestBody"]) for m, p, op in _operations(document) if "requestBody" in op]
    assert bodies
    for method, path, body in bodies:
        for media_type, media in body["content"].items():
            examples = _examples(document, media)
            assert examples, f"{method} {path} {media_type}"
            if media_type != "application/json":
                continue
            # Refs in the operation point into the document: validate with the document as the root.
            schema = {**document, **media["schema"]}
            for example in examples:
                jsonschema.Draft202012Validator(schema).validate(example)


class _Urls(HTMLParser):
    """Every src and href of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in {"src", "href"} and value]


async def test_docs_page_uses_only_same_origin_assets(client: httpx.AsyncClient) -> None:
    page = await client.get("/api/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "http" not in csp
    parser = _Urls()
    parser.feed(page.text)
    assert len(parser.urls) == 3
    for url in parser.urls:
        # Same origin: an absolute path, never a scheme or a protocol-relative `//host`.
        assert url.startswith("/"), url
        assert not url.startswith("//"), url
    assert "<script>" not in page.text  # no inline script: the CSP would block it
    expected_types = {".css": "text/css", ".js": "text/javascript"}
    for url in parser.urls:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].startswith(expected_types[Path(url).suffix]), url
        assert asset.headers["x-content-type-options"] == "nosniff"
        assert asset.content
    init = await client.get(f"{docs.ASSETS_PATH}/{docs.INIT_SCRIPT}")
    assert re.findall(r"https?://", init.text) == []
    assert '"/api/openapi.json"' in init.text


@pytest.mark.parametrize("name", ["index.html", "..%2Fpackage.json", "swagger-ui-bundle.js.map"])
async def test_docs_serves_only_its_allow_list(client: httpx.AsyncClient, name: str) -> None:
    response = await client.get(f"{docs.ASSETS_PATH}/{name}")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE


async def test_packaged_copy_wins_over_node_modules(
    client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "swagger-ui.css").write_text("/* packaged */", encoding="utf-8")
    monkeypatch.setattr(docs, "ASSET_DIRS", (tmp_path, docs.NODE_MODULES_DIR))
    css = await client.get(f"{docs.ASSETS_PATH}/swagger-ui.css")
    assert css.text == "/* packaged */"
    js = await client.get(f"{docs.ASSETS_PATH}/swagger-ui-bundle.js")
    assert js.status_code == 200
    assert len(js.content) > 100_000


async def test_missing_assets_answer_a_clear_problem(
    client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(docs, "ASSET_DIRS", (tmp_path,))
    for url in ("/api/docs", f"{docs.ASSETS_PATH}/swagger-ui.css"):
        response = await client.get(url)
        assert response.status_code == 503
        assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
        assert response.json()["type"] == "urn:tokenroute:problem:docs-assets-missing"
        assert "npm ci" in response.json()["detail"]
