"""The agencies HTTP API and pages (port 8010) on the platform's API base (health, readiness,
metrics, access log, problem+json, auth, security headers).

The JSON views need a bearer token; the pages a session (``web``): a sign-in page issues one
for a role and scope (in development, demo users and ``/demo/<role>``). Built by
``create_app(settings)``; served by ``tongxin-agencies serve`` or
``uvicorn --factory tongxin_agencies.entrypoints.api:create_app_from_env``.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from tongxin_agencies.bootstrap import SERVICE
from tongxin_agencies.config import AgenciesSettings
from tongxin_agencies.entrypoints import web_site
from tongxin_platform.api import Clock, create_service_app
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.telemetry import configure_tracing
from tongxin_web.app import add_session, page_routers

ROUTERS: tuple[APIRouter, ...] = page_routers(web_site.SITE)


def create_app(
    settings: AgenciesSettings, verifier: TokenVerifier | None = None, clock: Clock | None = None
) -> FastAPI:
    app = create_service_app(SERVICE, settings, verifier, routers=ROUTERS, clock=clock)
    return add_session(app)


def create_app_from_env() -> FastAPI:
    configure_tracing(SERVICE.name)
    return create_app(AgenciesSettings())
