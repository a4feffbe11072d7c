"""A FastAPI app mounted with AsgiFunctionApp, as function_app.py does, plus a queue function beside it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import azure.functions as func
from fastapi import FastAPI, Query, Response
from pydantic import BaseModel

from tests.devhost.apps._record import record


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    record("lifespan-startup")
    yield
    record("lifespan-shutdown")


api = FastAPI(lifespan=lifespan)


class Thing(BaseModel):
    name: str
    size: int


@api.get("/api/things/{thing_id}")
async def get_thing(
    thing_id: int, q: str | None = None, tag: Annotated[list[str] | None, Query()] = None
) -> dict[str, object]:
    return {"thing_id": thing_id, "q": q, "tag": tag}


@api.post("/api/things", status_code=201)
async def create_thing(thing: Thing, response: Response) -> Thing:
    response.set_cookie("first", "1")
    response.set_cookie("second", "2")
    return thing


app = func.AsgiFunctionApp(app=api, http_auth_level=func.AuthLevel.ANONYMOUS)
