"""The city HTTP API and pages (port 8020) on the platform's API base (health, readiness,
metrics, access log, problem+json, auth, security headers). Built by ``create_app(settings)``;
served by ``tongxin-city serve`` or
``uvicorn --factory tongxin_city.entrypoints.api:create_app_from_env``."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from tongxin_city.bootstrap import SERVICE
from tongxin_city.config import CitySettings
from tongxin_city.entrypoints import filing_routes, kpi_routes, web_site
from tongxin_platform.api import Clock, create_service_app
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.telemetry import configure_tracing
from tongxin_web.app import add_session, page_routers

ROUTERS: tuple[APIRouter, ...] = (
    kpi_routes.router,
    filing_routes.router,
    *page_routers(web_site.SITE),
)


def create_app(
    settings: CitySettings, verifier: TokenVerifier | None = None, clock: Clock | None = None
) -> FastAPI:
    app = create_service_app(SERVICE, settings, verifier, routers=ROUTERS, clock=clock)
    return add_session(app)  # the pages' session cookie


def create_app_from_env() -> FastAPI:
    configure_tracing(SERVICE.name)
    return create_app(CitySettings())
