"""`GET /api/docs`: Swagger UI for the OpenAPI document, with every asset served by the API itself.

The JS and CSS come from the npm package `swagger-ui-dist` (pinned in package.json, installed by
`npm ci`). No CDN is contacted at run time: the page loads only same-origin URLs, which its
Content-Security-Policy enforces. Assets are looked up, first found wins, in

1. `shared/api/static/`: the copy made at packaging time for deployment (git-ignored), then
2. `node_modules/swagger-ui-dist/`: a local checkout after `npm ci`.

When neither holds them the page and the assets answer a 503 problem that says how to install them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from shared.api.problems import ApiProblem, not_found

router = APIRouter(include_in_schema=False)

ROOT = Path(__file__).resolve().parents[2]
STATIC_DIR = Path(__file__).resolve().parent / "static"
NODE_MODULES_DIR = ROOT / "node_modules" / "swagger-ui-dist"
ASSET_DIRS: tuple[Path, ...] = (STATIC_DIR, NODE_MODULES_DIR)

# The only files served: an allow-list, so the route can never read anything else from disk.
VENDORED_ASSETS: dict[str, str] = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
}
INIT_SCRIPT = "init.js"
ASSETS_PATH = "/api/docs/assets"
OPENAPI_URL = "/api/openapi.json"

# Same origin only. `img-src data:` because swagger-ui.css draws its icons as data: URIs; nothing
# inline may run (the initializer is a file of ours, below), and nothing may be framed or posted off-site.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# Vendored files change only with the pinned version, but the URL does not carry it: cache briefly.
_ASSET_CACHE = "public, max-age=3600"

PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>TokenRoute API</title>
  <link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
  <script src="{ASSETS_PATH}/{INIT_SCRIPT}"></script>
</body>
</html>
"""

# A file, not an inline script, so that the CSP needs no 'unsafe-inline'. `validatorUrl: null`
# stops Swagger UI from sending the document to validator.swagger.io.
INIT_JS = f"""window.addEventListener("load", function () {{
  window.ui = SwaggerUIBundle({{
    url: "{OPENAPI_URL}",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
    validatorUrl: null,
    tryItOutEnabled: false
  }});
}});
"""


def assets_not_installed() -> ApiProblem:
    """The 503 problem for a deployment or checkout without the vendored files."""
    return ApiProblem(
        503,
        "docs-assets-missing",
        "Documentation assets not installed",
        "The Swagger UI files are not installed: run `npm ci` (local), or copy "
        "node_modules/swagger-ui-dist/{swagger-ui-bundle.js,swagger-ui.css} into shared/api/static/ "
        "before packaging. The OpenAPI document itself is at /api/openapi.json.",
    )


def find_asset(name: str, directories: tuple[Path, ...] | None = None) -> Path | None:
    """The first directory's copy of a vendored asset (of `ASSET_DIRS` by default), or None."""
    for directory in ASSET_DIRS if directories is None else directories:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=len(VENDORED_ASSETS))
def _read_asset(path: Path) -> bytes:
    # Read once per process: the bundle is about 1.5 MB and never changes while the app runs.
    return path.read_bytes()


def assets_installed() -> bool:
    """Whether every vendored asset can be served."""
    return all(find_asset(name) is not None for name in VENDORED_ASSETS)


@router.get("/docs")
async def docs_page() -> HTMLResponse:
    """The Swagger UI page (503 problem when its assets are missing, rather than a blank page)."""
    if not assets_installed():
        raise assets_not_installed()
    return HTMLResponse(PAGE, headers={**_SECURITY_HEADERS, "Cache-Control": "no-cache"})


@router.get("/docs/assets/{name}")
async def docs_asset(name: str) -> Response:
    """One vendored asset, or the page's initializer; anything else is 404."""
    if name == INIT_SCRIPT:
        return Response(
            INIT_JS,
            media_type="text/javascript; charset=utf-8",
            headers={**_SECURITY_HEADERS, "Cache-Control": "no-cache"},
        )
    media_type = VENDORED_ASSETS.get(name)
    if media_type is None:
        raise not_found("documentation asset")
    path = find_asset(name)
    if path is None:
        raise assets_not_installed()
    return Response(
        _read_asset(path), media_type=media_type, headers={**_SECURITY_HEADERS, "Cache-Control": _ASSET_CACHE}
    )
