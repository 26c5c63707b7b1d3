"""The city HTTP API and pages (port 8020) on the platform's API base (health, readiness,
metrics, access log, problem+json, auth, security headers). Built by ``create_app(settings)``;
served by ``tongxin-city serve`` or
``uvicorn --factory tongxin_city.entrypoints.api:create_app_from_env``."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from tongxin_city.bootstrap import SERVICE
from tongxin_city.config import CitySettings
from tongxin_city.entrypoints import kpi_routes
from tongxin_platform.api import Clock, create_service_app
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.telemetry import configure_tracing

ROUTERS: tuple[APIRouter, ...] = (kpi_routes.router,)


def create_app(
    settings: CitySettings, verifier: TokenVerifier | None = None, clock: Clock | None = None
) -> FastAPI:
    return create_service_app(SERVICE, settings, verifier, routers=ROUTERS, clock=clock)


def create_app_from_env() -> FastAPI:
    configure_tracing(SERVICE.name)
    return create_app(CitySettings())
