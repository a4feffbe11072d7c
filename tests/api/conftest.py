"""Fixtures for API tests: the real FastAPI app over the session's Azurite, called in process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from shared.api.app import create_api
from shared.config import Settings


@pytest.fixture
def api(settings: Settings) -> FastAPI:
    """The application exactly as the Function App builds it."""
    return create_api(settings)


@pytest.fixture
async def client(api: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that calls the ASGI app directly."""
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
