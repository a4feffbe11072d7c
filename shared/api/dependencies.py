"""Typed dependencies that routes declare in their signatures."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shared.services import Services


def get_services(request: Request) -> Services:
    """The services built at start-up (see `create_api`)."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
