"""HTTP functions with route templates, query parameters, context, cookies and a failure."""

from __future__ import annotations

import json

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="items/{id:int}", methods=["GET"])
def get_item(req: func.HttpRequest) -> func.HttpResponse:
    """Echo what the host passed: route and query parameters, the full URL."""
    payload = {
        "id": int(req.route_params["id"]),
        "q": req.params.get("q"),
        "url": req.url,
        "method": req.method,
        "accept": req.headers.get("Accept"),
    }
    return func.HttpResponse(json.dumps(payload), mimetype="application/json")


@app.route(route="items/{id:int}", methods=["POST"])
async def post_item(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """An async function that takes a context, reads the body and sets two cookies."""
    payload = {"id": req.route_params["id"], "size": len(req.get_body()), "function": context.function_name}
    response = func.HttpResponse(json.dumps(payload), status_code=201, mimetype="application/json")
    response.headers.add("Set-Cookie", "a=1; Path=/")
    response.headers.add("Set-Cookie", "b=2; Path=/")
    return response


@app.route(route="files/{*path}")
def get_file(req: func.HttpRequest) -> str:
    """Catch-all route; a plain string return value is a 200 text body."""
    return "path=" + str(req.route_params.get("path", ""))


@app.route(route="boom")
def boom(req: func.HttpRequest) -> func.HttpResponse:
    """Always fails: the host answers 500 with an empty body."""
    raise RuntimeError("boom")
