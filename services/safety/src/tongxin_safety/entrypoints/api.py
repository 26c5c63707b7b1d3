"""The safety HTTP API (port 8005) on the platform's API base (health, readiness, metrics,
AsyncAPI, access log, problem+json, auth, security headers, notifications).

Every route but ``/health`` and ``/ready`` needs a bearer token: school staff by ``staff_ref``
and school scope; agencies (police, civil affairs, the women's federation, community workers,
market regulation, the guidance committee) by district and, for carers, the ``org`` claim naming
the organisation they serve in. The service's ``POLICY`` decides each call, and every read of a
child's file or an incident is in the access log. Built by ``create_app(settings)``; served
by ``tongxin-safety serve`` or
``uvicorn --factory tongxin_safety.entrypoints.api:create_app_from_env``.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from tongxin_platform.api import Clock, create_service_app
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.telemetry import configure_tracing
from tongxin_safety.bootstrap import SERVICE
from tongxin_safety.config import SafetySettings
from tongxin_safety.entrypoints import file_routes, guard_routes, incident_routes, inspection_routes

ROUTERS: tuple[APIRouter, ...] = (
    file_routes.router,
    guard_routes.router,
    inspection_routes.router,
    incident_routes.router,
)


def create_app(
    settings: SafetySettings, verifier: TokenVerifier | None = None, clock: Clock | None = None
) -> FastAPI:
    return create_service_app(SERVICE, settings, verifier, routers=ROUTERS, clock=clock)


def create_app_from_env() -> FastAPI:
    configure_tracing(SERVICE.name)
    return create_app(SafetySettings())
