"""Fixtures for API tests: the real FastAPI app over the session's Azurite and Clerk stand-in, called in process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from shared.api.app import create_api
from shared.config import Settings
from shared.services import Services
from tests.conftest import MovableClock


@pytest.fixture
def clock() -> MovableClock:
    """The services' clock, moved by tests that need time to pass."""
    return MovableClock()


@pytest.fixture
def services(settings: Settings, clock: MovableClock) -> Services:
    """The services the app runs on."""
    return Services(settings, clock=clock)


@pytest.fixture
def api(settings: Settings, services: Services) -> FastAPI:
    """The application exactly as the Function App builds it."""
    return create_api(settings, services)


@pytest.fixture
async def client(api: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that calls the ASGI app directly (lifespan run, as the host does on first request)."""
    transport = httpx.ASGITransport(app=api)
    async with (
        api.router.lifespan_context(api),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client
